"""Stripe report exports as processor lines: the itemized payout-reconciliation and balance-change reports,
the balance-transactions export and the settlement-style exports, all mapped by header name.

Columns (canonical name first, then the other exports' spellings; compared without case and punctuation, so
'Created (UTC)' is created_utc's alias 'created (utc)'):

* required: balance_transaction_id (id), created_utc (created, Created (UTC)), currency, gross (amount),
  fee, net, and reporting_category (type);
* optional: source_id (source) -> reference, available_on_utc (available_on, Available On (UTC)) ->
  available_on, automatic_payout_id (transfer) -> payout_id, automatic_payout_effective_at_utc
  (automatic_payout_effective_at, Transfer Date (UTC)) -> payout_date (its date as written),
  exchange_rate -> exchange_rate (exact), customer_facing_amount + customer_facing_currency -> gross_currency
  and gross_gc_minor when the customer paid in another currency than the balance's.

Every other column (description, payment_metadata[...], card details, ...) is kept as a JSON object of its
non-empty cells in `extra`. Amounts are major units ('12.00', '-0.77'), refunds negative; fee is positive when
it is a cost, and every line must satisfy gross - fee == net. A time without an offset is UTC (`created`,
the local-time column of some exports, is read as UTC only when the report has no created_utc).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from financeops_pipeline.errors import FieldError
from financeops_pipeline.imports import columnar, csvutil
from financeops_pipeline.imports.records import PROCESSOR_LINE_SCHEMA, ParsedFile, to_table

FORMAT = "stripe"
COLUMNS: dict[str, tuple[str, ...]] = {
    "balance_transaction_id": ("id",),
    "created_utc": ("created (utc)", "created"),
    "currency": (),
    "gross": ("amount",),
    "fee": (),
    "net": (),
    "reporting_category": ("type",),
    "source_id": ("source",),
    "available_on_utc": ("available on (utc)", "available_on"),
    "automatic_payout_id": ("transfer",),
    "automatic_payout_effective_at_utc": ("automatic_payout_effective_at", "transfer date (utc)"),
    "exchange_rate": (),
    "customer_facing_amount": (),
    "customer_facing_currency": (),
}
REQUIRED = ("balance_transaction_id", "created_utc", "currency", "gross", "fee", "net", "reporting_category")

CATEGORY = {
    "charge": "charge",
    "payment": "charge",
    "refund": "refund",
    "payment_refund": "refund",
    "dispute": "dispute",
    "dispute_reversal": "dispute",
    "payout": "payout",
    "fee": "fee",
    "stripe_fee": "fee",
    "network_cost": "fee",
    "tax": "fee",
    "application_fee": "fee",
    # balance movements that are not sales: posted by the processor_adjustment rule
    "adjustment": "adjustment",
    "other_adjustment": "adjustment",
    "refund_failure": "adjustment",
    "payout_reversal": "adjustment",
    "payout_failure": "adjustment",
    "transfer": "adjustment",
    "transfer_reversal": "adjustment",
    "topup": "adjustment",
    "topup_reversal": "adjustment",
    "reserve_transaction": "adjustment",
    "reserved_funds": "adjustment",
    "connect_reserved_funds": "adjustment",
    "risk_reserved_funds": "adjustment",
    "contribution": "adjustment",
    "climate_order_purchase": "adjustment",
}
# Sign of `gross` each reporting_category must have (money into the Stripe balance > 0).
_NON_NEGATIVE = frozenset({"charge", "payment", "dispute_reversal"})
_NON_POSITIVE = frozenset({"refund", "payment_refund", "dispute"})


def _columns(header: list[str]) -> dict[str, str]:
    return csvutil.find_columns(header, COLUMNS)


def sniff(data: bytes) -> bool:
    """A CSV whose header has balance_transaction_id (or id), gross (or amount), net and reporting_category
    (or type)."""
    header = csvutil.sniff_header(data)
    if not header:
        return False
    cols = _columns(header)
    return {"balance_transaction_id", "gross", "net", "reporting_category"} <= set(cols) and (
        cols["balance_transaction_id"] != "id" or "fee" in cols)


def _parse_columnar(data: bytes, filename: str) -> ParsedFile | None:
    """The whole-column path (None: let the row path read the file). Lines that fail a check go through the row
    converter alone, which names their line and field; the others stay whole columns."""
    header = csvutil.sniff_header(data)
    if not header or len(set(header)) != len(header):
        return None
    cols = _columns(header)
    if not set(REQUIRED) <= set(cols):
        return None
    t = columnar.read_strings(data, header)
    if t is None:
        return None

    def col(name: str) -> pa.ChunkedArray:
        return columnar.column_or_blank(t, cols.get(name))

    ids = columnar.trimmed(col("balance_transaction_id"))
    repeated = columnar.repeats(ids)
    raw_cat = columnar.trimmed(col("reporting_category"))
    codes, exponents, known = columnar.currency_mask(col("currency"))
    created = columnar.timestamp_mask(col("created_utc"), naive_is_utc=True)
    amounts = [columnar.to_minor_mask(col(c), exponents) for c in ("gross", "fee", "net")]
    if created is None or any(a is None for a in amounts):
        return None
    (gross, gross_ok), (fee, fee_ok), (net, net_ok) = amounts  # type: ignore[misc]
    wrong_sign = pc.or_(pc.and_(pc.less(gross, 0), pc.is_in(raw_cat, pa.array(sorted(_NON_NEGATIVE)))),
                        pc.and_(pc.greater(gross, 0), pc.is_in(raw_cat, pa.array(sorted(_NON_POSITIVE)))))
    ok = pc.and_(pc.and_(pc.and_(columnar.present(ids), pc.invert(repeated)),
                         pc.and_(columnar.present(raw_cat), known)),
                 pc.and_(pc.and_(created[1], pc.and_(gross_ok, pc.and_(fee_ok, net_ok))),
                         pc.and_(pc.equal(pc.subtract(gross, fee), net), pc.invert(wrong_sign))))
    n = t.num_rows
    nulls = pa.nulls(n, pa.string())
    available = columnar.dates_as_written(col("available_on_utc"))
    payout_date = columnar.dates_as_written(col("automatic_payout_effective_at_utc"))
    rates = columnar.exchange_rates(col("exchange_rate"))
    fx = _customer_facing_columnar(col("customer_facing_amount"), col("customer_facing_currency"), codes)
    extra = columnar.json_objects(t, [c for c in header if c not in set(cols.values())])
    if available is None or payout_date is None or extra is None or rates is None or fx is None:
        return None
    categories = pa.array([CATEGORY.get(c, "other") for c in pc.unique(raw_cat).to_pylist()])
    category = pc.take(categories, pc.index_in(raw_cat, value_set=pc.unique(raw_cat)))

    def optional(name: str) -> pa.ChunkedArray | pa.Array:
        return columnar.empty_to_null(columnar.trimmed(t[cols[name]])) if name in cols else nulls

    table = pa.table({
        "processor": pa.repeat(FORMAT, n), "line_id": ids, "category": category, "processor_type": raw_cat,
        "reference": optional("source_id"), "merchant_reference": nulls, "created_at": created[0],
        "available_on": available, "currency": codes, "gross_minor": gross, "fee_minor": fee, "net_minor": net,
        "payout_id": optional("automatic_payout_id"), "payout_date": payout_date,
        "extra": extra, "source_position": columnar.line_positions(n),
        "gross_currency": fx[0], "gross_gc_minor": fx[1], "exchange_rate": rates,
    }, schema=PROCESSOR_LINE_SCHEMA)
    good, bad = columnar.good_and_bad(table, ok)
    if not len(bad):
        return ParsedFile(format=FORMAT, source="processor", table=table)
    lines = columnar.bad_lines(data, bad)
    if lines is None:
        return None
    repeat_at = dict(zip(pc.add(bad, 2).to_pylist(), pc.take(repeated, bad).to_pylist(), strict=True))
    slow = csvutil.run_lines(lines, len(header), _row_converter(header, cols, lambda _id, line: repeat_at[line]),
                             filename)
    if slow is None:
        return None
    late, errors = slow
    table = columnar.merge_by_line(good, pc.indices_nonzero(ok), to_table([r for _, r in late],
                                                                          PROCESSOR_LINE_SCHEMA),
                                   [line for line, _ in late])
    return ParsedFile(format=FORMAT, source="processor", table=table, errors=errors)


def _customer_facing_columnar(amount: pa.ChunkedArray, currency: pa.ChunkedArray, balance_currency: pa.ChunkedArray
                              ) -> tuple[pa.ChunkedArray, pa.ChunkedArray] | None:
    """(gross_currency, gross_gc_minor) where the customer paid in another currency than the balance's."""
    text, cur = columnar.trimmed(amount), pc.utf8_upper(columnar.trimmed(currency))
    other = pc.and_(pc.not_equal(cur, ""), pc.not_equal(cur, balance_currency))
    if not pc.any(other).as_py():
        return pa.chunked_array([pa.nulls(len(text), pa.string())]), pa.chunked_array([pa.nulls(len(text), pa.int64())])
    return None   # rare: the row path converts each line in its own currency


def parse(data: bytes, filename: str) -> ParsedFile:
    """Parse a Stripe report export; bad lines become RecordErrors, the others rows."""
    fast = _parse_columnar(data, filename) if isinstance(data, bytes) else None
    return fast if fast is not None else parse_rows(data, filename)


def parse_rows(data: bytes, filename: str) -> ParsedFile:
    """The row-by-row path: every problem becomes a RecordError naming its line and field."""
    f = csvutil.CsvFile(csvutil.decode(data, filename), filename)
    cols = _columns(f.header)
    csvutil.require_columns(f, cols, REQUIRED, "Stripe report export")
    rows, errors = csvutil.run_rows(f, _row_converter(f.header, cols))
    return ParsedFile(format=FORMAT, source="processor", rows=rows, errors=errors)


def _row_converter(header: list[str], cols: dict[str, str], is_repeat: Callable[[str, int], bool] | None = None
                   ) -> Callable[[list[str], int], dict[str, Any]]:
    """The converter of one line's fields; keeps the seen line ids, or asks `is_repeat(id, line)` whether an
    earlier line had the id (the fast path's bad lines: it saw them all)."""
    index = {name: i for i, name in enumerate(header)}
    ix = {name: index[actual] for name, actual in cols.items()}
    blank = len(header)   # an always-empty cell appended to every record: absent columns read ''
    i_id, i_created, i_cur = ix["balance_transaction_id"], ix["created_utc"], ix["currency"]
    i_gross, i_fee, i_net, i_cat = ix["gross"], ix["fee"], ix["net"], ix["reporting_category"]
    i_source, i_avail, i_payout, i_payout_at, i_rate, i_cf_amount, i_cf_cur = (ix.get(c, blank) for c in (
        "source_id", "available_on_utc", "automatic_payout_id", "automatic_payout_effective_at_utc", "exchange_rate",
        "customer_facing_amount", "customer_facing_currency"))
    modelled = set(cols.values())
    extra_ix = [i for i, name in enumerate(header) if name not in modelled]
    names = {i: header[i] if i < blank else "" for i in (i_created, i_avail, i_payout_at, i_cat)}
    amount_minor = csvutil.amount_reader()
    currency_of = csvutil.currency_of
    utc_datetime = csvutil.naive_utc_datetime
    date_part = csvutil.date_part
    json_extra = csvutil.json_extra_writer(header, extra_ix)
    seen: set[str] = set()

    def convert(fields: list[str], line: int) -> dict[str, Any]:
        r = [*fields, ""]
        line_id = r[i_id].strip()
        if not line_id:
            raise FieldError(header[i_id], f"empty {header[i_id]}")
        if (line_id in seen) if is_repeat is None else is_repeat(line_id, line):
            raise FieldError(header[i_id], f"duplicate {header[i_id]} {line_id!r}")
        seen.add(line_id)  # a later duplicate is refused even if this line turns out bad too
        raw_cat = r[i_cat].strip()
        if not raw_cat:
            raise FieldError(names[i_cat], f"empty {names[i_cat]}")
        code, exp = currency_of(r[i_cur], "currency")
        gross = amount_minor(r[i_gross], exp, code, header[i_gross])
        fee = amount_minor(r[i_fee], exp, code, "fee")
        net = amount_minor(r[i_net], exp, code, "net")
        if gross - fee != net:
            raise FieldError("net", f"gross {r[i_gross]} - fee {r[i_fee]} != net {r[i_net]}")
        if (gross < 0 and raw_cat in _NON_NEGATIVE) or (gross > 0 and raw_cat in _NON_POSITIVE):
            raise FieldError(header[i_gross], f"gross {r[i_gross]} has the wrong sign for {names[i_cat]} {raw_cat!r}")
        gross_currency = gross_gc = None
        cf_cur = r[i_cf_cur].strip()
        if cf_cur and cf_cur.upper() != code:
            gross_currency, cf_exp = currency_of(cf_cur, "customer_facing_currency")
            gross_gc = amount_minor(r[i_cf_amount], cf_exp, gross_currency, "customer_facing_amount")
        reference = r[i_source].strip()
        payout_id = r[i_payout].strip()
        return {
            "processor": FORMAT,
            "line_id": line_id,
            "category": CATEGORY.get(raw_cat, "other"),
            "processor_type": raw_cat,
            "reference": reference or None,
            "merchant_reference": None,
            "created_at": utc_datetime(r[i_created], names[i_created]),
            "available_on": date_part(r[i_avail], names[i_avail]),
            "currency": code,
            "gross_minor": gross,
            "fee_minor": fee,
            "net_minor": net,
            "payout_id": payout_id or None,
            "payout_date": date_part(r[i_payout_at], names[i_payout_at]),
            "extra": json_extra(r),
            "source_position": f"line {line}",
            "gross_currency": gross_currency,
            "gross_gc_minor": gross_gc,
            "exchange_rate": csvutil.exchange_rate(r[i_rate], "exchange_rate"),
        }

    return convert
