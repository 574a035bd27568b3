"""Adyen Settlement details report (one batch per file, usually) as processor lines.

Conventions, checked against the public sample `settlement_detail_report_batch_380.csv`:

* Amounts are split in debit/credit columns, empty meaning 0. gross = Gross Credit (GC) - Gross Debit (GC),
  net = Net Credit (NC) - Net Debit (NC), both signed from the merchant's side (Settled > 0, Refunded < 0).
* fee_minor = Commission + Markup + Scheme Fees + Interchange (NC), empties 0. Card rows fill Markup, Scheme
  Fees and Interchange; iDEAL/SOFORT/bank-transfer rows fill only Commission. In the sample every Settled and
  Refunded row satisfies gross - fee == net exactly (a refund's fee makes it more negative:
  -40.00 - 0.20 = -40.20), so the check is enforced when it applies: Gross Currency == Net Currency and the
  Exchange Rate is empty or 1. A failure is a RecordError on 'Net Credit (NC)'.
* Rows without a gross amount (Fee, MerchantPayout, ... have no Gross Currency) and FX rows (Gross Currency
  != Net Currency or Exchange Rate != 1) get gross_minor = net + fee in the net currency; for FX rows the
  gross-currency amount is kept in `extra` as "Gross Currency" and "gross_gc_minor".
* line_id = "<Merchant Account>:<Batch Number>:<Psp Reference or ->:<Type>:<Modification Reference or ->",
  stable across re-downloads of the same report (no line numbers in it). A line with a Psp Reference that
  repeats the key is the same transaction reported twice: it keeps the key, so reconciliation reports it as
  a `duplicate`. Lines without a Psp Reference (fee lines in some exports) may legitimately share a key:
  the later ones get "#2", "#3" appended in file order.
* payout_id = "<Merchant Account>:<Batch Number>"; payout_date = the date, as written in the report's time
  zone, of that batch's MerchantPayout line's Creation Date, or null when the file has no such line.
* created_at = Creation Date read in the row's TimeZone. Abbreviations are fixed offsets: CET = +01:00 and
  CEST = +02:00 (Adyen writes the abbreviation in force, so the DST rule of a zone called 'CET' must not be
  applied again), likewise UTC/GMT/WET/WEST/EET/EEST; any other value is looked up as an IANA zone name.
* Columns not modelled (Company Account, Payment Method, Exchange Rate, Booking Date, ...) go to `extra`
  as a JSON object of their non-empty cells.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from financeops_pipeline.imports import csvutil
from financeops_pipeline.imports.csvutil import RowError
from financeops_pipeline.imports.records import ParsedFile

FORMAT = "adyen"
GROSS_DEBIT, GROSS_CREDIT = "Gross Debit (GC)", "Gross Credit (GC)"
NET_DEBIT, NET_CREDIT = "Net Debit (NC)", "Net Credit (NC)"
FEE_COLUMNS = ("Commission (NC)", "Markup (NC)", "Scheme Fees (NC)", "Interchange (NC)")
REQUIRED = (
    "Psp Reference", "Merchant Reference", "Type", "Gross Currency", GROSS_DEBIT, GROSS_CREDIT,
    "Net Currency", NET_DEBIT, NET_CREDIT, *FEE_COLUMNS, "Batch Number", "Creation Date", "TimeZone",
    "Merchant Account",
)
_MODELLED = frozenset(REQUIRED) | {"Modification Reference"}

CATEGORY = {
    "Settled": "charge",
    "Refunded": "refund",
    "Chargeback": "dispute",
    "SecondChargeback": "dispute",
    "ChargebackReversal": "dispute",
    "Fee": "fee",
    "InvoiceDeduction": "fee",
    "PaymentCost": "fee",
    "MerchantPayout": "payout",
    "DepositCorrection": "adjustment",
    "Balancetransfer": "adjustment",
}
_NON_NEGATIVE = frozenset({"Settled", "ChargebackReversal"})
_NON_POSITIVE = frozenset({"Refunded", "Chargeback", "SecondChargeback"})

_FIXED_ZONES: dict[str, tzinfo] = {
    "UTC": UTC, "GMT": UTC, "Z": UTC,
    "CET": timezone(timedelta(hours=1), "CET"), "CEST": timezone(timedelta(hours=2), "CEST"),
    "WET": timezone(timedelta(0), "WET"), "WEST": timezone(timedelta(hours=1), "WEST"),
    "EET": timezone(timedelta(hours=2), "EET"), "EEST": timezone(timedelta(hours=3), "EEST"),
}
_ZONES: dict[str, tzinfo | None] = {}


def _zone(name: str) -> tzinfo | None:
    """tzinfo for an Adyen TimeZone cell, or None if unknown."""
    if name in _ZONES:
        return _ZONES[name]
    key = name.strip()
    zone: tzinfo | None = _FIXED_ZONES.get(key.upper())
    if zone is None and key:
        try:
            zone = ZoneInfo(key)
        except Exception:  # noqa: BLE001 - ZoneInfoNotFoundError, ValueError for odd keys, OSError
            zone = None
    if len(_ZONES) < 1000:
        _ZONES[name] = zone
    return zone


def _local_datetime(text: str, zone_text: str) -> tuple[datetime, date]:
    """(UTC instant, local calendar date) of a Creation Date in its TimeZone."""
    try:
        local = datetime.fromisoformat(text.strip())
    except ValueError:
        raise RowError("Creation Date", f"unparseable date-time {text!r}") from None
    if local.tzinfo is None:
        zone = _zone(zone_text)
        if zone is None:
            raise RowError("TimeZone", f"unknown time zone {zone_text!r}")
        local = local.replace(tzinfo=zone)
    try:
        return local.astimezone(UTC), local.date()
    except (OverflowError, ValueError):
        raise RowError("Creation Date", f"date-time {text!r} out of range") from None


def _rate_is_one(text: str) -> bool:
    text = text.strip()
    if not text or text == "1":
        return True
    try:
        return Decimal(text) == 1
    except (InvalidOperation, ValueError):
        raise RowError("Exchange Rate", f"unparseable exchange rate {text!r}") from None


def sniff(data: bytes) -> bool:
    """A CSV whose header has 'Psp Reference' and 'Batch Number'."""
    header = csvutil.sniff_header(data)
    return bool(header) and {"Psp Reference", "Batch Number"} <= set(header or ())


def parse(data: bytes, filename: str) -> ParsedFile:
    """Parse an Adyen Settlement details report; bad lines become RecordErrors, the others rows."""
    f = csvutil.open_csv(data, filename, REQUIRED, "Adyen settlement details report")
    header = f.header
    ix = f.index
    i_psp, i_mref, i_type = ix["Psp Reference"], ix["Merchant Reference"], ix["Type"]
    i_gcur, i_gdeb, i_gcred = ix["Gross Currency"], ix[GROSS_DEBIT], ix[GROSS_CREDIT]
    i_ncur, i_ndeb, i_ncred = ix["Net Currency"], ix[NET_DEBIT], ix[NET_CREDIT]
    i_fees = [(ix[c], c) for c in FEE_COLUMNS]
    i_batch, i_created, i_tz, i_account = ix["Batch Number"], ix["Creation Date"], ix["TimeZone"], ix[
        "Merchant Account"]
    i_mod = ix.get("Modification Reference")
    i_rate = ix.get("Exchange Rate")
    extra_ix = [i for i, name in enumerate(header) if name not in _MODELLED]
    amount = csvutil.optional_amount
    currency_of = csvutil.currency_of
    key_count: dict[str, int] = {}
    payout_dates: dict[str, date] = {}

    def convert(r: list[str], line: int) -> dict[str, Any]:
        typ = r[i_type].strip()
        if not typ:
            raise RowError("Type", "empty Type")
        account = r[i_account].strip()
        if not account:
            raise RowError("Merchant Account", "empty Merchant Account")
        batch = r[i_batch].strip()
        if not batch:
            raise RowError("Batch Number", "empty Batch Number")
        psp = r[i_psp].strip()
        mod = r[i_mod].strip() if i_mod is not None else ""
        code, exp = currency_of(r[i_ncur], "Net Currency")
        net = amount(r[i_ncred], exp, code, NET_CREDIT) - amount(r[i_ndeb], exp, code, NET_DEBIT)
        fee = sum(amount(r[i], exp, code, name) for i, name in i_fees)
        extra = {header[i]: r[i] for i in extra_ix if r[i]}
        gross_cur_text = r[i_gcur].strip()
        if gross_cur_text:
            gcode, gexp = currency_of(gross_cur_text, "Gross Currency")
            gross_gc = amount(r[i_gcred], gexp, gcode, GROSS_CREDIT)
            gross_gc -= amount(r[i_gdeb], gexp, gcode, GROSS_DEBIT)
            if (gross_gc < 0 and typ in _NON_NEGATIVE) or (gross_gc > 0 and typ in _NON_POSITIVE):
                field = GROSS_CREDIT if gross_gc > 0 else GROSS_DEBIT
                raise RowError(field, f"gross {gross_gc} (minor units) has the wrong sign for Type {typ!r}")
            if gcode == code and _rate_is_one(r[i_rate] if i_rate is not None else ""):
                gross = gross_gc
                if gross - fee != net:
                    raise RowError(
                        NET_CREDIT,
                        f"gross {gross} - fee {fee} != net {net} (minor units {code})",
                    )
            else:
                gross = net + fee
                extra["Gross Currency"] = gcode
                extra["gross_gc_minor"] = gross_gc
        elif r[i_gdeb].strip() or r[i_gcred].strip():
            raise RowError("Gross Currency", "gross amount without Gross Currency")
        else:
            gross = net + fee
        created_at, local_date = _local_datetime(r[i_created], r[i_tz])
        payout_id = f"{account}:{batch}"
        if typ == "MerchantPayout":
            payout_dates.setdefault(payout_id, local_date)
        key = f"{payout_id}:{psp or '-'}:{typ}:{mod or '-'}"
        seen = key_count.get(key, 0) + 1
        key_count[key] = seen
        mref = r[i_mref].strip()
        return {
            "processor": "adyen",
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
        }

    rows, errors = csvutil.run_rows(f, convert)
    if payout_dates:
        for row in rows:
            row["payout_date"] = payout_dates.get(row["payout_id"])
    return ParsedFile(format=FORMAT, source="processor", rows=rows, errors=errors)
