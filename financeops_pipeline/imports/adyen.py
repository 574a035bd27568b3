"""Adyen Settlement details report (one batch per file, usually) as processor lines.

Columns are found by header name (any order, any of the 22 to 49 column variants; spelling compared without
case and punctuation). Required: Psp Reference, Type, Merchant Account, Batch Number, Creation Date, TimeZone,
Net Currency, Net Debit (NC), Net Credit (NC). Every other column is optional (an absent amount column reads
as 0); the columns not modelled go to `extra` as a JSON object of their non-empty cells.

Conventions, checked against the public samples:

* Amounts are split in debit/credit columns, empty meaning 0. gross = Gross Credit (GC) - Gross Debit (GC),
  net = Net Credit (NC) - Net Debit (NC), both signed from the merchant's side (Settled > 0, Refunded < 0).
* fee_minor = Commission + Markup + Scheme Fees + Interchange (NC), empties 0. Card rows fill Markup, Scheme
  Fees and Interchange; iDEAL/SOFORT/bank-transfer rows fill only Commission. In the sample every Settled and
  Refunded row satisfies gross - fee == net exactly (a refund's fee makes it more negative:
  -40.00 - 0.20 = -40.20), so the check is enforced when it applies: Gross Currency == Net Currency and the
  Exchange Rate is empty or 1. A failure is a RecordError on 'Net Credit (NC)'.
* Rows without a gross amount (Fee, MerchantPayout, ... have no gross cells, some still name a Gross
  Currency) get gross_minor = net + fee in the net currency. FX rows (a gross amount in another Gross
  Currency, or a rate that is not 1) get the same, and the gross as reported goes to `gross_currency` and
  `gross_gc_minor`. `exchange_rate` is the Exchange Rate cell exactly (decimal, never a float), null if empty.
* Every Type is loaded: CATEGORY maps the types Adyen documents; an unknown type is category 'other' with
  its own name in processor_type (loaded and reported, posted by no rule).
* line_id = "<Merchant Account>:<Batch Number>:<Psp Reference or ->:<Type>:<Modification Reference or ->",
  stable across re-downloads of the same report (no line numbers in it). A line with a Psp Reference that
  repeats the key is the same transaction reported twice: it keeps the key, so reconciliation reports it as
  a `duplicate`. Lines without a Psp Reference (fee lines in some exports) may legitimately share a key:
  the later ones get "#2", "#3" appended in file order.
* payout_id = "<Merchant Account>:<Batch Number>"; payout_date = the date, as written in the report's time
  zone, of that batch's MerchantPayout line's Creation Date, or null when the file has no such line.
* created_at = Creation Date read in the row's TimeZone (`imports.timezones`: abbreviations such as CET, PST,
  PDT are the fixed offset they name, '+01:00' / 'GMT-08:00' offsets as written, else an IANA zone name).

A clean file is read whole-column (`_parse_columnar`, pyarrow, same rules and the same constants as the row
path); anything it does not accept sends the file down the row path (`parse_rows`), which names every bad
line and field. Both give identical tables (tests/imports/test_columnar.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from financeops_pipeline.errors import FieldError
from financeops_pipeline.imports import columnar, csvutil
from financeops_pipeline.imports.records import EXCHANGE_RATE_TYPE, PROCESSOR_LINE_SCHEMA, ParsedFile
from financeops_pipeline.imports.timezones import zone_of

FORMAT = "adyen"
GROSS_DEBIT, GROSS_CREDIT = "Gross Debit (GC)", "Gross Credit (GC)"
NET_DEBIT, NET_CREDIT = "Net Debit (NC)", "Net Credit (NC)"
FEE_COLUMNS = ("Commission (NC)", "Markup (NC)", "Scheme Fees (NC)", "Interchange (NC)")
RATE = "Exchange Rate"
REQUIRED = (
    "Psp Reference", "Type", "Merchant Account", "Batch Number", "Creation Date", "TimeZone", "Net Currency",
    NET_DEBIT, NET_CREDIT,
)
OPTIONAL = ("Merchant Reference", "Modification Reference", "Gross Currency", GROSS_DEBIT, GROSS_CREDIT, RATE,
            *FEE_COLUMNS)
COLUMNS = {name: () for name in (*REQUIRED, *OPTIONAL)}

CATEGORY = {
    **dict.fromkeys(("Settled", "SettledBulk", "SettledInstallment", "SettledInInstallments", "SettledExternally",
                     "SettledExternallyWithInfo"), "charge"),
    **dict.fromkeys(("Refunded", "RefundedBulk", "RefundedInstallment", "RefundedInInstallments",
                     "RefundedExternally", "RefundedExternallyWithInfo"), "refund"),
    **dict.fromkeys(("Chargeback", "ChargebackExternally", "ChargebackExternallyWithInfo", "SecondChargeback",
                     "ChargebackReversed", "ChargebackReversal", "ChargebackReversedExternallyWithInfo",
                     "ChargebackReversedCorrection", "ChargebackCorrection", "SecondChargebackCorrection"),
                    "dispute"),
    **dict.fromkeys(("Fee", "MiscCosts", "PaymentCost", "InvoiceDeduction", "AdvancementCommission",
                     "AdvancementCommissionExternallyWithInfo"), "fee"),
    "MerchantPayout": "payout",
    # balance movements that are not sales: posted by the processor_adjustment rule
    **dict.fromkeys(("DepositCorrection", "Balancetransfer", "ReserveAdjustment", "ManualCorrected",
                     "MerchantPayin", "MerchantPayinReversed", "MerchantPayoutReversed", "PaidOut",
                     "PaidOutReversed", "RefundedReversed", "CashOutInstruction", "AcquirerPayout"), "adjustment"),
}
_NON_NEGATIVE = frozenset({"Settled", "SettledBulk", "SettledInstallment", "ChargebackReversal",
                           "ChargebackReversed", "RefundedReversed"})
_NON_POSITIVE = frozenset({"Refunded", "RefundedBulk", "RefundedInstallment", "Chargeback", "SecondChargeback"})
PAYOUT_TYPE = "MerchantPayout"
NO_VALUE = "-"   # stands in for an empty Psp Reference / Modification Reference in line_id
# Plain-decimal spellings of exactly 1 ('1', '1.0', '+01.00'); any other plain decimal is a real FX rate.
_RATE_ONE = r"\+?0*1(\.0*)?"
_RATE_ONE_RE = re.compile(_RATE_ONE)


def _zone(name: str) -> tzinfo | None:
    """tzinfo for an Adyen TimeZone cell, or None if unknown."""
    return zone_of(name)


def _local_datetime(text: str, zone_text: str) -> tuple[datetime, date]:
    """(UTC instant, local calendar date) of a Creation Date in its TimeZone."""
    try:
        local = datetime.fromisoformat(text.strip())
    except ValueError:
        raise FieldError("Creation Date", f"unparseable date-time {text!r}") from None
    if local.tzinfo is None:
        zone = _zone(zone_text)
        if zone is None:
            raise FieldError("TimeZone", f"unknown time zone {zone_text!r}")
        local = local.replace(tzinfo=zone)
    try:
        return local.astimezone(UTC), local.date()
    except (OverflowError, ValueError):
        raise FieldError("Creation Date", f"date-time {text!r} out of range") from None


def _rate_is_one(text: str, rate: Decimal | None) -> bool:
    return rate is None or rate == 1 or bool(_RATE_ONE_RE.fullmatch(text.strip()))


def sniff(data: bytes) -> bool:
    """A CSV whose header has 'Psp Reference' and 'Batch Number'."""
    header = csvutil.sniff_header(data)
    return bool(header) and len(csvutil.find_columns(header or (), {"Psp Reference": (), "Batch Number": ()})) == 2


def _wrong_sign(gross_gc: Any, typ: Any) -> Any:
    """Gross in the gross currency against the sign its Type must have; works on ints and on Arrow columns."""
    if isinstance(gross_gc, int):
        return (gross_gc < 0 and typ in _NON_NEGATIVE) or (gross_gc > 0 and typ in _NON_POSITIVE)
    return pc.or_(pc.and_(pc.less(gross_gc, 0), pc.is_in(typ, pa.array(sorted(_NON_NEGATIVE)))),
                  pc.and_(pc.greater(gross_gc, 0), pc.is_in(typ, pa.array(sorted(_NON_POSITIVE)))))


def _line_ids(key: pa.ChunkedArray, psp: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """`key`, with '#2', '#3', ... on later lines without a Psp Reference that repeat a key (file order)."""
    no_psp = pc.equal(psp, "")
    if not pc.any(no_psp).as_py():
        return key
    # Only lines whose key some psp-less line has can need a suffix; those are few (fees, payouts).
    involved = pc.is_in(key, value_set=pc.unique(pc.filter(key, no_psp)))
    positions = pc.indices_nonzero(involved)
    keys = pc.take(key, positions).to_pylist()
    if len(set(keys)) == len(keys):
        return key
    seen: dict[str, int] = {}
    ids = []
    for k, empty in zip(keys, pc.take(no_psp, positions).to_pylist(), strict=True):
        seen[k] = seen.get(k, 0) + 1
        ids.append(f"{k}#{seen[k]}" if empty and seen[k] > 1 else k)
    return pc.replace_with_mask(key.combine_chunks(), involved.combine_chunks(), pa.array(ids, pa.string()))


def _payout_dates(payout_id: pa.ChunkedArray, typ: pa.ChunkedArray, day: pa.ChunkedArray) -> pa.Array:
    """Each line's batch payout date: the local date of its batch's first MerchantPayout line, else null."""
    is_payout = pc.equal(typ, PAYOUT_TYPE)
    if not pc.any(is_payout).as_py():
        return pa.nulls(len(payout_id), pa.date32())
    first: dict[str, date] = {}
    for pid, d in zip(pc.filter(payout_id, is_payout).to_pylist(), pc.filter(day, is_payout).to_pylist(),
                      strict=True):
        first.setdefault(pid, d)
    index = pc.index_in(payout_id, value_set=pa.array(list(first), pa.string()))
    return pc.take(pa.array(list(first.values()), pa.date32()), index)


def _parse_columnar(data: bytes, filename: str) -> ParsedFile | None:
    """The whole-column path (None: let the row path read the file). Lines that fail a check go through the row
    converter alone, which names their line and field; the others stay whole columns (their line ids and payout
    dates are computed over the good lines, as the row path computes them over the lines it accepts)."""
    header = csvutil.sniff_header(data)
    if not header or len(set(header)) != len(header):
        return None
    cols = csvutil.find_columns(header, COLUMNS)
    if not set(REQUIRED) <= set(cols):
        return None
    t = columnar.read_strings(data, header)
    if t is None:
        return None
    n = t.num_rows
    trim = columnar.trimmed
    present = columnar.present

    def col(name: str) -> pa.ChunkedArray:
        return columnar.column_or_blank(t, cols.get(name))

    typ, account, batch, psp = (trim(col(c)) for c in ("Type", "Merchant Account", "Batch Number", "Psp Reference"))
    mod = trim(col("Modification Reference"))
    if pc.any(pc.equal(psp, NO_VALUE)).as_py():
        return None
    code, exp, net_known = columnar.currency_mask(col("Net Currency"))
    gross_debit, gross_credit = trim(col(GROSS_DEBIT)), trim(col(GROSS_CREDIT))
    # A gross amount is there when a gross cell is filled; a Gross Currency beside two blank cells says nothing.
    has_gross = pc.or_(present(gross_debit), present(gross_credit))
    gross_cur = trim(col("Gross Currency"))
    # Lines without a gross amount take the net currency so that every column has an exponent.
    gcode, gexp, gross_known = columnar.currency_mask(pc.if_else(pc.equal(gross_cur, ""), code, gross_cur))
    amounts = [columnar.to_minor_mask(col(c), exp, empty_is_zero=True) for c in (NET_CREDIT, NET_DEBIT, *FEE_COLUMNS)]
    gross_amounts = [columnar.to_minor_mask(c, gexp, empty_is_zero=True) for c in (gross_credit, gross_debit)]
    rate = trim(col(RATE))
    rates = columnar.exchange_rates(rate)
    if any(a is None for a in amounts + gross_amounts) or rates is None:
        return None
    ok = pc.and_(pc.and_(present(typ), present(account)), pc.and_(present(batch), net_known))
    ok = pc.and_(ok, pc.and_(gross_known, pc.invert(pc.and_(has_gross, pc.equal(gross_cur, "")))))
    for _, exact in amounts + gross_amounts:  # type: ignore[misc]
        ok = pc.and_(ok, exact)
    rate_one = pc.or_(pc.match_substring_regex(rate, f"^({_RATE_ONE})?$"),
                      pc.equal(rates, pa.scalar(Decimal(1), EXCHANGE_RATE_TYPE)))
    same = pc.and_(pc.equal(gcode, code), pc.fill_null(rate_one, True))
    kept = pc.and_(has_gross, same)   # gross as reported; FX lines and lines without gross: net + fee
    fx = pc.and_(has_gross, pc.invert(same))
    try:
        net = pc.subtract_checked(amounts[0][0], amounts[1][0])  # type: ignore[index]
        fee = amounts[2][0]  # type: ignore[index]
        for more, _ in amounts[3:]:  # type: ignore[misc]
            fee = pc.add_checked(fee, more)
        gross_gc = pc.subtract_checked(gross_amounts[0][0], gross_amounts[1][0])  # type: ignore[index]
        ok = pc.and_(ok, pc.invert(pc.and_(has_gross, _wrong_sign(gross_gc, typ))))
        ok = pc.and_(ok, pc.invert(pc.and_(kept, pc.not_equal(pc.subtract_checked(gross_gc, fee), net))))
        gross = pc.if_else(kept, gross_gc, pc.add_checked(net, fee))
    except pa.ArrowInvalid:
        return None
    created = columnar.local_to_utc(col("Creation Date"), col("TimeZone"), _zone)
    extra = columnar.json_objects(t, [c for c in header if c not in set(cols.values())])
    if created is None or extra is None:
        return None
    created_at, local_day = created
    payout_id = pc.binary_join_element_wise(account, batch, ":")
    key = pc.binary_join_element_wise(payout_id, pc.if_else(pc.equal(psp, ""), NO_VALUE, psp), typ,
                                      pc.if_else(pc.equal(mod, ""), NO_VALUE, mod), ":")
    types = pc.unique(typ)
    categories = pa.array([CATEGORY.get(c, "other") for c in types.to_pylist()], pa.string())
    table = pa.table({
        "processor": pa.repeat(FORMAT, n), "line_id": key,
        "category": pc.take(categories, pc.index_in(typ, value_set=types)), "processor_type": typ,
        "reference": columnar.empty_to_null(psp),
        "merchant_reference": columnar.empty_to_null(trim(col("Merchant Reference"))),
        "created_at": created_at, "available_on": pa.nulls(n, pa.date32()), "currency": code,
        "gross_minor": gross, "fee_minor": fee, "net_minor": net, "payout_id": payout_id,
        "payout_date": pa.nulls(n, pa.date32()), "extra": extra,
        "source_position": columnar.line_positions(n),
        "gross_currency": pc.if_else(fx, gcode, pa.scalar(None, pa.string())),
        "gross_gc_minor": pc.if_else(fx, gross_gc, pa.scalar(None, pa.int64())),
        "exchange_rate": rates,
    }, schema=PROCESSOR_LINE_SCHEMA)
    errors: list = []
    good, bad = columnar.good_and_bad(table, ok)
    if len(bad):
        lines = columnar.bad_lines(data, bad)
        slow = None if lines is None else csvutil.run_lines(lines, len(header), _row_converter(header, cols)[0],
                                                            filename)
        if slow is None or slow[0]:
            return None   # the row converter accepted a line the columns refused: the row path reads the file
        errors = slow[1]
        psp, typ, local_day = (pc.filter(c, ok) for c in (psp, typ, local_day))
    line_ids = _line_ids(good["line_id"], psp)
    payout_dates = _payout_dates(good["payout_id"], typ, local_day)
    good = good.set_column(good.schema.get_field_index("line_id"), "line_id", line_ids)
    good = good.set_column(good.schema.get_field_index("payout_date"), "payout_date", payout_dates)
    return ParsedFile(format=FORMAT, source="processor", table=good, errors=errors)


def parse(data: bytes, filename: str) -> ParsedFile:
    """Parse an Adyen Settlement details report (whole columns at once when the file is clean)."""
    fast = _parse_columnar(data, filename) if isinstance(data, bytes) else None
    return fast if fast is not None else parse_rows(data, filename)


def parse_rows(data: bytes, filename: str) -> ParsedFile:
    """The row-by-row path: every problem becomes a RecordError naming its line and field."""
    f = csvutil.CsvFile(csvutil.decode(data, filename), filename)
    cols = csvutil.find_columns(f.header, COLUMNS)
    csvutil.require_columns(f, cols, REQUIRED, "Adyen settlement details report")
    convert, payout_dates = _row_converter(f.header, cols)
    rows, errors = csvutil.run_rows(f, convert)
    if payout_dates:
        for row in rows:
            row["payout_date"] = payout_dates.get(row["payout_id"])
    return ParsedFile(format=FORMAT, source="processor", rows=rows, errors=errors)


def _row_converter(header: list[str], cols: dict[str, str]
                   ) -> tuple[Callable[[list[str], int], dict[str, Any]], dict[str, date]]:
    """The converter of one line's fields, and the payout dates it collects (by payout id) as it goes."""
    index = {name: i for i, name in enumerate(header)}
    ix = {name: index[actual] for name, actual in cols.items()}
    blank = len(header)   # index of an always-empty cell appended to every record: absent columns read ''
    i_psp, i_type, i_account, i_batch = ix["Psp Reference"], ix["Type"], ix["Merchant Account"], ix["Batch Number"]
    i_created, i_tz, i_ncur, i_ndeb, i_ncred = (ix[c] for c in ("Creation Date", "TimeZone", "Net Currency",
                                                                 NET_DEBIT, NET_CREDIT))
    i_mref, i_mod, i_gcur, i_gdeb, i_gcred, i_rate = (ix.get(c, blank) for c in (
        "Merchant Reference", "Modification Reference", "Gross Currency", GROSS_DEBIT, GROSS_CREDIT, RATE))
    i_fees = [(ix[c], c) for c in FEE_COLUMNS if c in ix]
    modelled = set(cols.values())
    extra_ix = [i for i, name in enumerate(header) if name not in modelled]
    amount = csvutil.optional_amount
    currency_of = csvutil.currency_of
    key_count: dict[str, int] = {}
    payout_dates: dict[str, date] = {}

    def convert(fields: list[str], line: int) -> dict[str, Any]:
        r = [*fields, ""]
        typ = r[i_type].strip()
        if not typ:
            raise FieldError("Type", "empty Type")
        account = r[i_account].strip()
        if not account:
            raise FieldError("Merchant Account", "empty Merchant Account")
        batch = r[i_batch].strip()
        if not batch:
            raise FieldError("Batch Number", "empty Batch Number")
        psp = r[i_psp].strip()
        mod = r[i_mod].strip()
        code, exp = currency_of(r[i_ncur], "Net Currency")
        net = amount(r[i_ncred], exp, code, NET_CREDIT) - amount(r[i_ndeb], exp, code, NET_DEBIT)
        fee = sum(amount(r[i], exp, code, name) for i, name in i_fees)
        rate = csvutil.exchange_rate(r[i_rate], RATE)
        extra = {header[i]: r[i] for i in extra_ix if r[i]}
        gross_currency = gross_gc = None
        if r[i_gdeb].strip() or r[i_gcred].strip():
            if not r[i_gcur].strip():
                raise FieldError("Gross Currency", "gross amount without Gross Currency")
            gcode, gexp = currency_of(r[i_gcur], "Gross Currency")
            gross = amount(r[i_gcred], gexp, gcode, GROSS_CREDIT) - amount(r[i_gdeb], gexp, gcode, GROSS_DEBIT)
            if _wrong_sign(gross, typ):
                field = GROSS_CREDIT if gross > 0 else GROSS_DEBIT
                raise FieldError(field, f"gross {gross} (minor units) has the wrong sign for Type {typ!r}")
            if gcode == code and _rate_is_one(r[i_rate], rate):
                if gross - fee != net:
                    raise FieldError(NET_CREDIT, f"gross {gross} - fee {fee} != net {net} (minor units {code})")
            else:
                gross_currency, gross_gc = gcode, gross
                gross = net + fee
        else:
            if r[i_gcur].strip():
                currency_of(r[i_gcur], "Gross Currency")   # named, so it must be a currency
            gross = net + fee
        created_at, local_date = _local_datetime(r[i_created], r[i_tz])
        payout_id = f"{account}:{batch}"
        if typ == PAYOUT_TYPE:
            payout_dates.setdefault(payout_id, local_date)
        key = f"{payout_id}:{psp or NO_VALUE}:{typ}:{mod or NO_VALUE}"
        seen = key_count.get(key, 0) + 1
        key_count[key] = seen
        mref = r[i_mref].strip()
        return {
            "processor": FORMAT,
            "line_id": key if seen == 1 or psp else f"{key}#{seen}",
            "category": CATEGORY.get(typ, "other"),
            "processor_type": typ,
            "reference": psp or None,
            "merchant_reference": mref or None,
            "created_at": created_at,
            "available_on": None,
            "currency": code,
            "gross_minor": gross,
            "fee_minor": fee,
            "net_minor": net,
            "payout_id": payout_id,
            "payout_date": None,
            "extra": json.dumps(extra, ensure_ascii=False) if extra else None,
            "source_position": f"line {line}",
            "gross_currency": gross_currency,
            "gross_gc_minor": gross_gc,
            "exchange_rate": rate,
        }

    return convert, payout_dates
