"""PayPal as a processor: the activity download (CSV from the account's Activity page) and the SFTP
settlement report (STL), both as processor lines with processor = 'paypal'.

Activity download (columns by header name; required Date, Time, TimeZone, Type, Currency, Gross, Fee, Net,
Transaction ID; everything else, e.g. Name, emails, Subject, Balance, goes to `extra`):

* amounts are major units with thousands separators ('1,653.75'; a file written with decimal commas,
  '1.653,75', is recognised by its Gross column); PayPal's Fee is negative when it is a cost, so
  fee_minor = -Fee and net = gross - fee_minor (84.00 + -4.25 = 79.75);
* created_at = Date + Time read in TimeZone (PST, PDT, CET, an offset or an IANA name: `imports.timezones`).
  Date is dd/mm/yyyy or mm/dd/yyyy by the account's locale: the file's own dates decide (a first part above
  12 is a day, a second part above 12 is a day), and when every date fits both, the reading whose dates run
  in order wins, month first on a tie (PayPal's US default); yyyy/mm/dd and dd.mm.yyyy are read as written;
* line_id = reference = Transaction ID; merchant_reference = Invoice Number (the merchant's order id).

Settlement report (STL): records are typed by their first field. CH is the column header of the records
that follow; SB rows are transactions; RH/FH/SH headers and SF/SC/RF/RC/FF footers are control records and
are not loaded. Amounts are minor units with a separate Debit-or-Credit field (CR = into the balance, for
the fee: DR = a cost); dates carry their offset ('2026/01/06 00:00:30 -0800'). line_id = Transaction ID;
reference = Transaction ID, or for a withdrawal the Bank Reference ID (it is what the bank credit shows);
merchant_reference = Invoice ID. The event code (T0006, T1107, T0400, ...) is processor_type.

Categories: payments received -> charge; refunds -> refund; reversals and chargebacks -> dispute; fees ->
fee; withdrawals to the bank -> payout (payout_id = its Transaction ID, payout_date = its local date);
currency conversions, holds and releases, payments *sent*, deposits from the bank -> adjustment (they move the
PayPal balance: posted by the processor_adjustment rule). Lines that move no money (status Denied, Canceled,
Failed, Expired, Voided; Balance Impact 'Memo') and unknown types -> other: loaded and reported, not posted.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from typing import Any

from financeops_pipeline.errors import FieldError, FileRejected, RecordError
from financeops_pipeline.imports import csvutil
from financeops_pipeline.imports.records import ParsedFile
from financeops_pipeline.imports.timezones import zone_of

FORMAT = "paypal"
PROCESSOR = "paypal"

# ------------------------------------------------------------------------------------------ categories
NO_MONEY_STATUSES = frozenset({"denied", "canceled", "cancelled", "failed", "expired", "voided", "void"})
_TYPE_WORDS = (   # first match wins; matched against the lower-cased Type (or Description) of the download
    ("currency conversion", "adjustment"), ("conversión", "adjustment"), ("umrechnung", "adjustment"),
    ("withdraw", "payout"), ("transfer to bank", "payout"), ("bank transfer", "payout"), ("retirada", "payout"),
    ("abbuchung", "payout"), ("retrait", "payout"),
    ("chargeback", "dispute"), ("reversal", "dispute"), ("dispute", "dispute"), ("rückbuchung", "dispute"),
    ("refund", "refund"), ("reembolso", "refund"), ("rückzahlung", "refund"), ("erstattung", "refund"),
    ("remboursement", "refund"),
    ("hold", "adjustment"), ("release", "adjustment"), ("deposit", "adjustment"), ("transfer", "adjustment"),
    ("fee", "fee"),
    ("payment", "charge"), ("donation", "charge"), ("subscription", "charge"), ("invoice", "charge"),
    ("pago", "charge"), ("zahlung", "charge"), ("paiement", "charge"), ("spende", "charge"),
)
_EVENT_GROUPS = {   # STL Transaction Event Code, by its group T<nn>xx
    "T00": "charge", "T01": "fee", "T02": "adjustment", "T03": "adjustment", "T04": "payout",
    "T05": "adjustment", "T06": "adjustment", "T07": "adjustment", "T08": "adjustment", "T09": "adjustment",
    "T10": "adjustment", "T11": "refund", "T12": "dispute", "T15": "adjustment", "T16": "adjustment",
    "T17": "adjustment", "T18": "adjustment", "T19": "adjustment", "T20": "adjustment", "T21": "adjustment",
    "T22": "adjustment",
}
_EVENT_CODES = {"T1105": "dispute", "T1106": "dispute", "T1108": "fee", "T1110": "dispute", "T1111": "dispute"}


def _category(kind: str, gross: int) -> str:
    """Category of a money-moving line; a 'charge' or 'refund' against its expected sign is a payment sent or
    returned, i.e. an adjustment of the balance."""
    if kind == "charge" and gross < 0:
        return "adjustment"
    if kind == "refund" and gross > 0:
        return "adjustment"   # a refund received (the merchant bought something and got it back)
    return kind


def activity_category(typ: str, status: str, impact: str, gross: int) -> str:
    if status.strip().lower() in NO_MONEY_STATUSES or impact.strip().lower() == "memo":
        return "other"
    lowered = typ.lower()
    for words, kind in _TYPE_WORDS:
        if words in lowered:
            return _category(kind, gross)
    return "other"


def event_category(code: str, gross: int) -> str:
    code = code.strip().upper()
    kind = _EVENT_CODES.get(code) or _EVENT_GROUPS.get(code[:3], "other")
    return _category(kind, gross)


# -------------------------------------------------------------------------------------------- activity
ACTIVITY_COLUMNS: dict[str, tuple[str, ...]] = {   # English, then the Spanish, German and French downloads
    "Date": ("Fecha", "Datum"), "Time": ("Hora", "Uhrzeit", "Heure"),
    "TimeZone": ("Time Zone", "Zona horaria", "Zeitzone", "Fuseau horaire"),
    "Type": ("Description", "Descripción", "Beschreibung", "Typ"), "Status": ("Estado", "Statut"),
    "Currency": ("Divisa", "Währung", "Devise"), "Gross": ("Bruto", "Brutto", "Brut"),
    "Fee": ("Comisión", "Entgelt", "Gebühr", "Frais"), "Net": ("Neto", "Netto"),
    "Transaction ID": ("Id. de transacción", "Transaktionscode", "Numéro de transaction"),
    "Invoice Number": ("Invoice ID", "Id. de factura", "Rechnungsnummer", "Numéro de facture"),
    "Balance Impact": (),
}
ACTIVITY_REQUIRED = ("Date", "Time", "TimeZone", "Type", "Currency", "Gross", "Fee", "Net", "Transaction ID")
STL_MARKERS = ("Transaction ID", "Transaction Event Code", "Gross Transaction Amount")
_RECORD_TYPES = frozenset({"RH", "FH", "SH", "CH", "SB", "SF", "SC", "RF", "RC", "FF"})


def _is_activity(header: list[str]) -> bool:
    return set(ACTIVITY_REQUIRED) - {"Time", "TimeZone", "Date"} <= set(csvutil.find_columns(header, ACTIVITY_COLUMNS))


def _is_stl(data: bytes) -> bool:
    """The first record is an STL header (RH, FH or SH) and a CH record names the STL columns."""
    head = bytes(data[:65536]).decode("utf-8-sig", errors="replace")
    first = head.lstrip().split("\n", 1)[0]
    return first.split(",", 1)[0].strip().strip('"') in ("RH", "FH", "SH") and "Transaction Event Code" in head


def sniff(data: bytes) -> bool:
    """A PayPal activity download (Transaction ID, Type, Gross, Fee, Net) or a settlement report (STL)."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or not data:
        return False
    if _is_stl(bytes(data)):
        return True
    header = csvutil.sniff_header(data)
    return bool(header) and _is_activity(header or [])


def parse(data: bytes, filename: str) -> ParsedFile:
    """Parse a PayPal activity download or STL settlement report."""
    text = csvutil.decode(data, filename)
    if _is_stl(bytes(data)):
        return _parse_stl(text, filename)
    return _parse_activity(text, filename)


_DATE_PARTS = re.compile(r"\s*([0-9]{1,4})[/.\-]([0-9]{1,2})[/.\-]([0-9]{1,4})\s*")


def _date_order(values: list[str]) -> str:
    """'ymd', 'dmy' or 'mdy' for the file's Date column (see the module doc)."""
    parts = [m.groups() for m in map(_DATE_PARTS.fullmatch, values) if m]
    if parts and all(len(p[0]) == 4 for p in parts):
        return "ymd"
    if any("." in v for v in values[:1]):
        return "dmy"   # 31.01.2024: the dotted form is day first everywhere
    if any(int(a) > 12 for a, _b, _c in parts):
        return "dmy"
    if any(int(b) > 12 for _a, b, _c in parts):
        return "mdy"

    def ordered(order: str) -> bool:
        days = []
        for a, b, c in parts:
            try:
                days.append(date(int(c), int(b), int(a)) if order == "dmy" else date(int(c), int(a), int(b)))
            except ValueError:
                return False
        return days == sorted(days) or days == sorted(days, reverse=True)

    return "dmy" if ordered("dmy") and not ordered("mdy") else "mdy"


def _local_date(text: str, order: str, field: str) -> date:
    m = _DATE_PARTS.fullmatch(text)
    if not m:
        raise FieldError(field, f"unparseable date {text!r}")
    a, b, c = (int(x) for x in m.groups())
    try:
        if order == "ymd":
            return date(a, b, c)
        return date(c, b, a) if order == "dmy" else date(c, a, b)
    except ValueError:
        raise FieldError(field, f"unparseable date {text!r} (read as {order})") from None


def _parse_activity(text: str, filename: str) -> ParsedFile:
    f = csvutil.CsvFile(text, filename)
    cols = csvutil.find_columns(f.header, ACTIVITY_COLUMNS)
    csvutil.require_columns(f, cols, ACTIVITY_REQUIRED, "PayPal activity download")
    header = f.header
    ix = {name: f.index[actual] for name, actual in cols.items()}
    blank = len(header)
    i_status, i_impact, i_invoice = (ix.get(c, blank) for c in ("Status", "Balance Impact", "Invoice Number"))
    modelled = {cols[c] for c in ("Date", "Time", "TimeZone", "Type", "Currency", "Gross", "Fee", "Net",
                                  "Transaction ID", "Invoice Number") if c in cols}
    extra = csvutil.json_extra_writer(header, [i for i, name in enumerate(header) if name not in modelled])
    # The file's conventions, decided once from its own cells (read ahead on a copy of the text).
    ahead = list(csv.reader(io.StringIO(text, newline="")))[f.header_line:]
    cells = [r[ix["Gross"]] for r in ahead if len(r) > ix["Gross"]]
    mark = csvutil.decimal_mark(cells)
    thousands = "." if mark == "," else ","
    order = _date_order([r[ix["Date"]] for r in ahead if len(r) > ix["Date"] and r[ix["Date"]].strip()])
    amount = csvutil.amount_reader()
    seen: set[str] = set()

    def money(r: list[str], name: str, exp: int, code: str) -> int:
        cell = r[ix[name]]
        if not cell.strip():
            return 0
        return amount(csvutil.plain_amount(cell, mark, thousands), exp, code, name)

    def convert(fields: list[str], line: int) -> dict[str, Any]:
        r = [*fields, ""]
        tid = r[ix["Transaction ID"]].strip()
        if not tid:
            raise FieldError("Transaction ID", "empty Transaction ID")
        if tid in seen:
            raise FieldError("Transaction ID", f"duplicate Transaction ID {tid!r}")
        seen.add(tid)
        typ = r[ix["Type"]].strip()
        if not typ:
            raise FieldError("Type", "empty Type")
        code, exp = csvutil.currency_of(r[ix["Currency"]], "Currency")
        gross = money(r, "Gross", exp, code)
        fee = -money(r, "Fee", exp, code)
        net = money(r, "Net", exp, code)
        if gross - fee != net:
            raise FieldError("Net", f"Gross {r[ix['Gross']]} + Fee {r[ix['Fee']]} != Net {r[ix['Net']]}")
        day = _local_date(r[ix["Date"]], order, "Date")
        created_at = _instant(day, r[ix["Time"]], r[ix["TimeZone"]])
        category = activity_category(typ, r[i_status], r[i_impact], gross)
        invoice = r[i_invoice].strip()
        return {
            "processor": PROCESSOR, "line_id": tid, "category": category, "processor_type": typ,
            "reference": tid, "merchant_reference": invoice or None, "created_at": created_at,
            "available_on": None, "currency": code, "gross_minor": gross, "fee_minor": fee, "net_minor": net,
            "payout_id": tid if category == "payout" else None, "payout_date": day if category == "payout" else None,
            "extra": extra(r), "source_position": f"line {line}",
            "gross_currency": None, "gross_gc_minor": None, "exchange_rate": None,
        }

    rows, errors = csvutil.run_rows(f, convert)
    return ParsedFile(format=FORMAT, source="processor", rows=rows, errors=errors)


def _instant(day: date, time_text: str, zone_text: str) -> datetime:
    try:
        clock = datetime.strptime(time_text.strip() or "00:00:00", "%H:%M:%S").time()
    except ValueError:
        raise FieldError("Time", f"unparseable time {time_text!r}") from None
    zone = zone_of(zone_text)
    if zone is None:
        raise FieldError("TimeZone", f"unknown time zone {zone_text!r}")
    return datetime.combine(day, clock, zone).astimezone(UTC)


# ------------------------------------------------------------------------------------------------- STL
STL_REQUIRED = ("Transaction ID", "Transaction Event Code", "Transaction Completion Date",
                "Transaction Debit or Credit", "Gross Transaction Amount", "Gross Transaction Currency")
STL_MODELLED = frozenset({*STL_REQUIRED, "Invoice ID", "Fee Debit or Credit", "Fee Amount", "Fee Currency",
                          "Bank Reference ID"})


def _stl_datetime(text: str, field: str) -> tuple[datetime, date]:
    """(UTC instant, local date) of '2026/01/06 00:00:30 -0800'."""
    cleaned = text.strip()
    for fmt in ("%Y/%m/%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S %z", "%Y/%m/%d %H:%M:%S"):
        try:
            value = datetime.strptime(cleaned, fmt)
        except ValueError:
            continue
        local_day = value.date()
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)), local_day
    raise FieldError(field, f"unparseable date-time {text!r}")


def _stl_amount(text: str, field: str) -> int:
    cleaned = text.strip()
    if not cleaned:
        return 0
    if not re.fullmatch(r"[0-9]{1,18}", cleaned):
        raise FieldError(field, f"unparseable amount {text!r} (minor units, digits only)")
    return int(cleaned)


def _sign(text: str, field: str) -> int:
    value = text.strip().upper()
    if value in ("CR", "C"):
        return 1
    if value in ("DR", "D"):
        return -1
    raise FieldError(field, f"expected CR or DR, got {text!r}")


def _parse_stl(text: str, filename: str) -> ParsedFile:
    result = ParsedFile(format=FORMAT, source="processor")
    reader = csv.reader(io.StringIO(text, newline=""))
    lines = text.splitlines()
    header: list[str] | None = None
    seen: set[str] = set()
    last = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise FileRejected(filename, f"unreadable CSV: {exc}", position=f"line {last + 1}") from None
        first, last = last + 1, reader.line_num
        if not record or not any(c.strip() for c in record):
            continue
        kind = record[0].strip().upper()
        if kind == "CH":
            header = [c.strip() for c in record[1:]]
            missing = [c for c in STL_REQUIRED if c not in header]
            if missing:
                raise FileRejected(filename, "not a PayPal settlement report: the CH record lacks "
                                   + ", ".join(map(repr, missing)), position=f"line {first}", field=missing[0])
            continue
        if kind != "SB":
            if kind not in _RECORD_TYPES:
                result.errors.append(RecordError(filename, f"line {first}", "record type",
                                                 f"unknown STL record type {record[0]!r}",
                                                 raw="\n".join(lines[first - 1:last])))
            continue
        raw = "\n".join(lines[first - 1:last])
        if header is None:
            raise FileRejected(filename, "not a PayPal settlement report: an SB record before any CH header",
                               position=f"line {first}")
        try:
            result.rows.append(_stl_row(dict(zip(header, [c.strip() for c in record[1:]], strict=False)), first,
                                        seen))
        except Exception as exc:  # noqa: BLE001 - one bad record must not lose the others
            result.errors.append(csvutil.record_error(filename, f"line {first}", exc, raw))
    if header is None:
        raise FileRejected(filename, "not a PayPal settlement report: no CH (column header) record")
    return result


def _stl_row(r: dict[str, str], line: int, seen: set[str]) -> dict[str, Any]:
    import json

    tid = r.get("Transaction ID", "")
    if not tid:
        raise FieldError("Transaction ID", "empty Transaction ID")
    if tid in seen:
        raise FieldError("Transaction ID", f"duplicate Transaction ID {tid!r}")
    seen.add(tid)
    code, _exp = csvutil.currency_of(r.get("Gross Transaction Currency", ""), "Gross Transaction Currency")
    gross = _sign(r["Transaction Debit or Credit"], "Transaction Debit or Credit") * _stl_amount(
        r["Gross Transaction Amount"], "Gross Transaction Amount")
    fee_amount = _stl_amount(r.get("Fee Amount", ""), "Fee Amount")
    fee = 0
    if fee_amount:
        fee_currency = r.get("Fee Currency", "").strip()
        if fee_currency and csvutil.currency_of(fee_currency, "Fee Currency")[0] != code:
            raise FieldError("Fee Currency", f"fee in {fee_currency}, gross in {code}")
        fee = -_sign(r.get("Fee Debit or Credit", ""), "Fee Debit or Credit") * fee_amount
    event = r["Transaction Event Code"].strip().upper()
    if not re.fullmatch(r"T[0-9]{4}", event):
        raise FieldError("Transaction Event Code", f"unknown event code {event!r} (T followed by 4 digits)")
    created_at, local_day = _stl_datetime(r["Transaction Completion Date"], "Transaction Completion Date")
    category = event_category(event, gross)
    bank_ref = r.get("Bank Reference ID", "")
    invoice = r.get("Invoice ID", "")
    extra = {k: v for k, v in r.items() if v and k not in STL_MODELLED and k}
    return {
        "processor": PROCESSOR, "line_id": tid, "category": category, "processor_type": event,
        "reference": (bank_ref or tid) if category == "payout" else tid, "merchant_reference": invoice or None,
        "created_at": created_at, "available_on": None, "currency": code, "gross_minor": gross, "fee_minor": fee,
        "net_minor": gross - fee, "payout_id": tid if category == "payout" else None,
        "payout_date": local_day if category == "payout" else None,
        "extra": json.dumps(extra, ensure_ascii=False) if extra else None, "source_position": f"line {line}",
        "gross_currency": None, "gross_gc_minor": None, "exchange_rate": None,
    }
