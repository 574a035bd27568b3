"""Stripe itemized balance reports (payout reconciliation / balance change from activity) as processor lines.

Columns used (all others are kept as a JSON object in `extra`):

* required: balance_transaction_id, created_utc, currency, gross, fee, net, and reporting_category
  (older exports call it `type`; either is accepted, reporting_category wins if both are present);
* optional: source_id (-> reference), available_on_utc (-> available_on), automatic_payout_id (-> payout_id),
  automatic_payout_effective_at_utc or automatic_payout_effective_at (-> payout_date, its date as written).

Amounts are major units ('12.00', '-0.77'), refunds negative; fee is positive when it is a cost, and every
line must satisfy gross - fee == net. `created_utc` without an offset is UTC.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from financeops_pipeline.errors import FieldError
from financeops_pipeline.imports import columnar, csvutil
from financeops_pipeline.imports.records import PROCESSOR_LINE_SCHEMA, ParsedFile

FORMAT = "stripe"
REQUIRED = ("balance_transaction_id", "created_utc", "currency", "gross", "fee", "net", "reporting_category")

CATEGORY = {
    "charge": "charge",
    "refund": "refund",
    "dispute": "dispute",
    "dispute_reversal": "dispute",
    "payout": "payout",
    "fee": "fee",
    "stripe_fee": "fee",
    "network_cost": "fee",
    "tax": "fee",
}
# Sign of `gross` each reporting_category must have (money into the Stripe balance > 0).
_NON_NEGATIVE = frozenset({"charge", "dispute_reversal"})
_NON_POSITIVE = frozenset({"refund", "dispute"})

_MODELLED = frozenset(REQUIRED) | {
    "type", "source_id", "available_on_utc", "automatic_payout_id",
    "automatic_payout_effective_at_utc", "automatic_payout_effective_at",
}


def _category_column(header: list[str]) -> str | None:
    if "reporting_category" in header:
        return "reporting_category"
    if "type" in header:
        return "type"
    return None


def sniff(data: bytes) -> bool:
    """A CSV whose header has balance_transaction_id, gross, net and reporting_category (or type)."""
    header = csvutil.sniff_header(data)
    if not header:
        return False
    names = set(header)
    return {"balance_transaction_id", "gross", "net"} <= names and _category_column(header) is not None


def _parse_columnar(data: bytes) -> ParsedFile | None:
    """The whole-column path for a clean file (None: let the row path find and name the problems)."""
    header = csvutil.sniff_header(data)
    category_col = _category_column(header or [])
    if (not header or category_col is None or len(set(header)) != len(header)
            or not {c for c in REQUIRED if c != "reporting_category"} <= set(header)):
        return None
    t = columnar.read_strings(data, header)
    if t is None:
        return None
    ids = columnar.trimmed(t["balance_transaction_id"])
    raw_cat = columnar.trimmed(t[category_col])
    codes = columnar.currencies(t["currency"])
    created = columnar.utc_timestamps(t["created_utc"], naive_is_utc=True)
    if codes is None or created is None or not columnar.unique_non_empty(ids) \
            or not pc.all(pc.not_equal(raw_cat, "")).as_py():
        return None
    gross, fee, net = (columnar.to_minor(t[c], codes[1]) for c in ("gross", "fee", "net"))
    if gross is None or fee is None or net is None or not pc.all(pc.equal(pc.subtract(gross, fee), net)).as_py():
        return None
    wrong_sign = pc.or_(pc.and_(pc.less(gross, 0), pc.is_in(raw_cat, pa.array(sorted(_NON_NEGATIVE)))),
                        pc.and_(pc.greater(gross, 0), pc.is_in(raw_cat, pa.array(sorted(_NON_POSITIVE)))))
    if pc.any(wrong_sign).as_py():
        return None
    n = t.num_rows
    nulls = pa.nulls(n, pa.string())
    payout_at = next((c for c in ("automatic_payout_effective_at_utc", "automatic_payout_effective_at")
                      if c in header), None)
    available = columnar.dates_as_written(t["available_on_utc"]) if "available_on_utc" in header else None
    payout_date = columnar.dates_as_written(t[payout_at]) if payout_at else None
    extra = columnar.json_objects(t, [c for c in header if c not in _MODELLED])
    if ("available_on_utc" in header and available is None) or (payout_at and payout_date is None) or extra is None:
        return None
    categories = pa.array([CATEGORY.get(c, "other") for c in pc.unique(raw_cat).to_pylist()])
    category = pc.take(categories, pc.index_in(raw_cat, value_set=pc.unique(raw_cat)))

    def optional(name: str) -> pa.ChunkedArray | pa.Array:
        return columnar.empty_to_null(columnar.trimmed(t[name])) if name in header else nulls

    table = pa.table({
        "processor": pa.array(["stripe"] * n), "line_id": ids, "category": category, "processor_type": raw_cat,
        "reference": optional("source_id"), "merchant_reference": nulls, "created_at": created,
        "available_on": available if available is not None else pa.nulls(n, pa.date32()),
        "currency": codes[0], "gross_minor": gross, "fee_minor": fee, "net_minor": net,
        "payout_id": optional("automatic_payout_id"),
        "payout_date": payout_date if payout_date is not None else pa.nulls(n, pa.date32()),
        "extra": extra, "source_position": columnar.line_positions(n),
    }, schema=PROCESSOR_LINE_SCHEMA)
    return ParsedFile(format=FORMAT, source="processor", table=table)


def parse(data: bytes, filename: str) -> ParsedFile:
    """Parse a Stripe itemized balance report; bad lines become RecordErrors, the others rows."""
    fast = _parse_columnar(data) if isinstance(data, bytes) else None
    return fast if fast is not None else parse_rows(data, filename)


def parse_rows(data: bytes, filename: str) -> ParsedFile:
    """The row-by-row path: every problem becomes a RecordError naming its line and field."""
    f = csvutil.CsvFile(csvutil.decode(data, filename), filename)
    category_col = _category_column(f.header)
    f.require([c for c in REQUIRED if c != "reporting_category"] + [category_col or "reporting_category"],
              "Stripe itemized balance report")
    header = f.header
    ix = f.index
    i_id, i_created, i_cur = ix["balance_transaction_id"], ix["created_utc"], ix["currency"]
    i_gross, i_fee, i_net = ix["gross"], ix["fee"], ix["net"]
    i_cat = ix[category_col or "reporting_category"]
    i_source = ix.get("source_id")
    i_avail = ix.get("available_on_utc")
    i_payout = ix.get("automatic_payout_id")
    i_payout_at = ix.get("automatic_payout_effective_at_utc", ix.get("automatic_payout_effective_at"))
    extra_ix = [i for i, name in enumerate(header) if name not in _MODELLED]
    payout_at_name = header[i_payout_at] if i_payout_at is not None else ""
    category_name = header[i_cat]
    amount_minor = csvutil.amount_reader()
    currency_of = csvutil.currency_of
    utc_datetime = csvutil.naive_utc_datetime
    date_part = csvutil.date_part
    json_extra = csvutil.json_extra_writer(header, extra_ix)
    seen: set[str] = set()

    def convert(r: list[str], line: int) -> dict[str, Any]:
        line_id = r[i_id].strip()
        if not line_id:
            raise FieldError("balance_transaction_id", "empty balance_transaction_id")
        if line_id in seen:
            raise FieldError("balance_transaction_id", f"duplicate balance_transaction_id {line_id!r}")
        seen.add(line_id)  # a later duplicate is refused even if this line turns out bad too
        raw_cat = r[i_cat].strip()
        if not raw_cat:
            raise FieldError(category_name, f"empty {category_name}")
        code, exp = currency_of(r[i_cur], "currency")
        gross = amount_minor(r[i_gross], exp, code, "gross")
        fee = amount_minor(r[i_fee], exp, code, "fee")
        net = amount_minor(r[i_net], exp, code, "net")
        if gross - fee != net:
            raise FieldError("net", f"gross {r[i_gross]} - fee {r[i_fee]} != net {r[i_net]}")
        if (gross < 0 and raw_cat in _NON_NEGATIVE) or (gross > 0 and raw_cat in _NON_POSITIVE):
            raise FieldError("gross", f"gross {r[i_gross]} has the wrong sign for {category_name} {raw_cat!r}")
        reference = r[i_source].strip() if i_source is not None else ""
        payout_id = r[i_payout].strip() if i_payout is not None else ""
        return {
            "processor": "stripe",
            "line_id": line_id,
            "category": CATEGORY.get(raw_cat, "other"),
            "processor_type": raw_cat,
            "reference": reference or None,
            "merchant_reference": None,
            "created_at": utc_datetime(r[i_created], "created_utc"),
            "available_on": date_part(r[i_avail], "available_on_utc") if i_avail is not None else None,
            "currency": code,
            "gross_minor": gross,
            "fee_minor": fee,
            "net_minor": net,
            "payout_id": payout_id or None,
            "payout_date": date_part(r[i_payout_at], payout_at_name) if i_payout_at is not None else None,
            "extra": json_extra(r),
            "source_position": f"line {line}",
        }

    rows, errors = csvutil.run_rows(f, convert)
    return ParsedFile(format=FORMAT, source="processor", rows=rows, errors=errors)
