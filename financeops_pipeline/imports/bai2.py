"""BAI2 (Cash Management Balance Reporting, versions 2 and 3 / BTRS) parser.

Own parser, not the PyPI `bai2` 0.15: it glues a '/'-terminated 03 record to its 88 continuation without
a comma (sample2 breaks: type code '190500000'), aborts the whole file on a control-total mismatch, and
rejects any type code missing from its table; it also loses physical line numbers.

Logical records are built from physical lines the way banks write them:

* several records on one physical line (``.../   02,...``, ``.../  49,...``) are split where a record code
  follows a ``/``; a physical line that does not start with a record code is the previous record wrapped onto
  the next line; an ``88`` continuation is joined to its record (a field split at the header's physical record
  length continues without a separator; free text otherwise with a space); ``/`` terminators may be missing;
  CRLF, Latin-1 text (``textenc``), header times with colons;
* an 03 account summary may continue over several 88 records and may carry an empty field before its ``/``;
  type codes without amounts or with blank amounts are summaries we do not store;
* fund types 0, 1, 2, Z, S (three availability amounts), V (value date and time), D (distributions).

Amounts are integers in minor units (BAI2's implied decimals are the currency's ISO exponent). 16 amounts are
unsigned; the type code gives the sign: 100-399 and 900-959 credit (> 0), 400-699 and 960-999 debit (< 0).
A 16 record without an amount (or with a non-monetary code such as 890) is loaded as information only
(``booked = false``, entry_status ``INFO``, amount 0).

Balances: opening ledger 010, closing ledger 015 (current ledger 030 in a same-day report), closing available
045 (else current available 060); a missing one is derived (marked). Group header as-of-date modifier 3
(interim same-day) makes the group an intraday report (``report_kind`` intraday, not booked).

Trailers: the 49 / 98 / 99 control totals and record counts vouch for the file. When the trailers agree with
each other (each 98 is the sum of its 49s, the 99 the sum of its 98s) but an account's transaction details do
not add up to them, a record was lost or changed on the way: the file is refused (a checksum failure).
Trailers that do not even agree with each other are no checksum at all (hand-made or tool-made files), a file
with quarantined records cannot add up, and an account of summaries only has no transaction to lose: then the
file loads and each mismatch is a quarantined record on its trailer (the balances themselves are the
statement-integrity check's).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from financeops_pipeline.errors import FieldError, FileRejected, RecordError, parse_safely
from financeops_pipeline.imports.records import ParsedFile, statement_record
from financeops_pipeline.imports.textenc import decode_bank_text
from financeops_pipeline.money import MoneyError, normalize_currency

FORMAT = "bai2"
_RECORD_CODES = frozenset({"01", "02", "03", "16", "49", "88", "98", "99"})
_RECORD_START = re.compile(r"(\d\d)(?:,|/|$)")
# Another record on the same physical line: a record code right after a '/' and some spaces.
_SAME_LINE = re.compile(r"(?<=/)\s+(?=(?:01|02|03|16|49|88|98|99),)")
_UNSIGNED = re.compile(r"\+?\d+")
_SIGNED = re.compile(r"[+-]?\d+")
_TYPE_CODE = re.compile(r"\d{3}")
_DATE6 = re.compile(r"\d{6}")
_BAD_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_OPENING_CODES = ("010",)
_CLOSING_CODES = ("015", "030")
_AVAILABLE_CODES = ("045", "060")


def sniff(data: bytes) -> bool:
    """True when the first non-blank record of ``data`` starts with '01,'."""
    try:
        head = bytes(data[:256]).lstrip(b"\xef\xbb\xbf").lstrip()
        return head.startswith(b"01,")
    except Exception:  # noqa: BLE001 - sniffing must never raise
        return False


def _strip_terminator(body: str) -> tuple[str, bool]:
    body = body.rstrip()
    if body.endswith("/"):
        return body[:-1].rstrip(), True
    return body, False


class _Record:
    """One logical record: code, field text (continuations joined), physical lines it spans.

    ``pieces`` keeps the field text of each '/'-terminated piece apart, for the 03 summaries."""

    __slots__ = ("code", "text", "line_no", "physical", "raw_lines", "ends_with_slash", "pieces")

    def __init__(self, code: str, body: str, line_no: int, raw: str) -> None:
        self.code = code
        self.line_no = line_no
        self.physical = 1
        self.raw_lines = [raw]
        if body.endswith("/"):
            body, self.ends_with_slash = body[:-1].rstrip(), True
        else:
            self.ends_with_slash = False
        self.text = body
        self.pieces = [body]

    def add(self, body: str, raw: str, record_length: int | None, continuation: bool) -> None:
        """Join an 88 continuation (``continuation``) or a wrapped physical line to this record."""
        split_mid_field = (record_length is not None and not self.ends_with_slash
                           and len(self.raw_lines[-1].rstrip()) >= record_length)
        body, slash = _strip_terminator(body)
        if self.code == "16" and _text_started(self.text):
            separator = "" if split_mid_field else " "         # continued free text of a detail
            body = body if split_mid_field else body.lstrip()
        elif split_mid_field or not continuation:
            separator = ""                                     # the same field goes on
        else:
            separator = ","                                    # an 88 starts with the next field
        if self.ends_with_slash:
            self.pieces.append(body)
        else:
            self.pieces[-1] = f"{self.pieces[-1]}{separator}{body}" if self.pieces[-1] else body
        self.text = f"{self.text}{separator}{body}" if self.text else body
        self.ends_with_slash = slash
        if continuation:
            self.physical += 1
        self.raw_lines.append(raw)

    @property
    def raw(self) -> str:
        return "\n".join(self.raw_lines)

    @property
    def position(self) -> str:
        return f"line {self.line_no}"


def _funds_extra_count(funds_type: str, fields: list[str], start: int) -> int:
    """Number of availability fields following a funds type code."""
    ft = funds_type.strip().upper()
    if ft == "S":
        return 3
    if ft == "V":
        return 2
    if ft == "D":
        if start >= len(fields):
            return 1
        count = fields[start].strip()
        if not count.isdigit():
            raise FieldError("funds_type", f"distributed availability count {count!r} is not a number")
        return 1 + 2 * int(count)
    if ft in ("", "0", "1", "2", "Z"):
        return 0
    raise FieldError("funds_type", f"unknown funds type {funds_type!r}")


def _text_started(text: str) -> bool:
    """Whether a 16 record's field text already reaches its free-text field."""
    fields = text.split(",")
    try:
        structured = 3 + _funds_extra_count(fields[2] if len(fields) > 2 else "", fields, 3) + 2
    except FieldError:
        return False
    return len(fields) > structured


def _parse_date(value: str, field: str) -> date:
    value = value.strip()
    if not _DATE6.fullmatch(value):
        raise FieldError(field, f"date {value!r} is not YYMMDD")
    year = int(value[:2])
    try:
        return date(2000 + year if year < 80 else 1900 + year, int(value[2:4]), int(value[4:6]))
    except ValueError:
        raise FieldError(field, f"date {value!r} does not exist") from None


def _int(value: str, field: str, signed: bool = True) -> int:
    value = value.strip()
    if not (_SIGNED if signed else _UNSIGNED).fullmatch(value):
        raise FieldError(field, f"{value!r} is not an integer amount")
    return int(value)


def _opt_int(value: str, field: str) -> int | None:
    return _int(value, field) if value.strip() else None


def _records(text: str, filename: str) -> tuple[list[_Record], int | None]:
    """Logical records, and the physical record length the 01 header declares (if any)."""
    records: list[_Record] = []
    record_length: int | None = None
    for line_no, physical in enumerate(text.splitlines(), start=1):
        for raw in (_SAME_LINE.split(physical) if "/ " in physical or "/\t" in physical else (physical,)):
            stripped = raw.strip()
            if not stripped:
                continue
            head = stripped[:2]
            if head in _RECORD_CODES and (len(stripped) == 2 or stripped[2] in ",/"):
                start: Any = head
            else:
                start = _RECORD_START.match(stripped)
                start = start.group(1) if start else None
            if start is None:
                if not records:
                    raise FileRejected(filename, f"first record is {stripped[:20]!r}, a BAI2 file starts "
                                                 "with an 01 file header", f"line {line_no}", "record_code")
                records[-1].add(stripped, raw.rstrip("\r\n"), record_length, continuation=False)
                continue
            code = start
            if code not in _RECORD_CODES:
                raise FileRejected(filename, f"unknown BAI2 record code {code!r}", f"line {line_no}",
                                   "record_code")
            if records and records[-1].code == "99":
                raise FileRejected(filename, "records after the 99 file trailer", f"line {line_no}",
                                   "record_code")
            body = stripped[3:]
            if code == "88":
                if not records:
                    raise FileRejected(filename, "88 continuation before any record", f"line {line_no}",
                                       "record_code")
                records[-1].add(body, raw.rstrip("\r\n"), record_length, continuation=True)
            else:
                records.append(_Record(code, body, line_no, raw.rstrip("\r\n")))
                if code == "01" and len(records) == 1:
                    fields = body.split(",")
                    length = fields[5].strip() if len(fields) > 5 else ""
                    record_length = int(length) if length.isdigit() and int(length) >= 20 else None
    return records, record_length


class _Account:
    __slots__ = ("record", "account", "currency", "balances", "control", "physical", "count", "total",
                 "statement_id")

    def __init__(self) -> None:
        self.record: _Record | None = None
        self.account = ""
        self.currency = "USD"
        self.balances: dict[str, int] = {}
        self.control = 0
        self.physical = 0
        self.count = 0
        self.total = 0
        self.statement_id = ""


def _summaries(rec: _Record) -> list[list[str]]:
    """The 03 record's summaries (type code, amount, item count, funds type, availability...), across its 88
    continuations.

    A '/' ends a piece of the record: empty fields left before it (seen in real files: '015,35217175,,,/')
    are dropped instead of shifting every later summary by one; a summary cut by the '/' goes on after it."""
    summaries: list[list[str]] = []
    carry: list[str] = []
    for n, piece in enumerate(rec.pieces):
        part = piece.split(",") if piece else []
        stream = carry + (part[2:] if n == 0 else part)
        i = 0
        while len(stream) - i >= 4:
            size = 4 + _funds_extra_count(stream[i + 3], stream, i + 4)
            if i + size > len(stream):
                break
            summaries.append(stream[i:i + size])
            i += size
        carry = stream[i:]
        if not any(f.strip() for f in carry):
            carry = []
    if carry:
        summaries.append(carry)
    return summaries


def _parse_account(rec: _Record, group_currency: str, filename: str, errors: list[RecordError]) -> _Account:
    acct = _Account()
    acct.record = rec
    fields = rec.text.split(",")
    acct.account = fields[0].strip()
    if not acct.account:
        raise FileRejected(filename, "03 account identifier has no account number", rec.position,
                           "account_number")
    ccy = fields[1].strip() if len(fields) > 1 else ""
    try:
        acct.currency = normalize_currency(ccy) if ccy else group_currency
    except MoneyError as exc:
        raise FileRejected(filename, f"03 account currency: {exc}", rec.position, "currency") from None
    try:
        for summary in _summaries(rec):
            type_code = summary[0].strip()
            amount = summary[1] if len(summary) > 1 else ""
            if type_code:
                if not _TYPE_CODE.fullmatch(type_code):
                    raise FieldError("type_code", f"summary type code {type_code!r} is not 3 digits")
                value = _opt_int(amount, "amount")
                if value is not None:
                    acct.control += value
                    acct.balances.setdefault(type_code, value)
            elif amount.strip():
                raise FieldError("type_code", f"summary amount {amount.strip()!r} without a type code")
    except FieldError as exc:
        # the summaries are balances, not money movements: flag them, keep the account's details
        errors.append(RecordError(filename, rec.position, exc.field, f"03 account {acct.account}: {exc.message}",
                                  rec.raw))
    return acct


def _sign_of(code: int) -> int | None:
    if 100 <= code <= 399 or 900 <= code <= 959:
        return 1
    if 400 <= code <= 699 or 960 <= code <= 999:
        return -1
    return None


def _detail_line(rec: _Record, acct: _Account, as_of: date, kind: str) -> dict[str, Any]:
    fields = rec.text.split(",")
    type_code = fields[0].strip()
    if not _TYPE_CODE.fullmatch(type_code):
        raise FieldError("type_code", f"type code {type_code!r} is not 3 digits")
    code = int(type_code)
    raw_amount = fields[1].strip() if len(fields) > 1 else ""
    sign = _sign_of(code)
    information = not raw_amount or (sign is None and raw_amount.lstrip("+0") == "")
    if raw_amount.startswith("-"):
        direction = {1: f"credit type code {type_code}", -1: f"debit type code {type_code}"}.get(
            sign or 0, f"type code {type_code}")
        raise FieldError("amount", f"negative amount {raw_amount!r} with {direction}: 16 amounts are unsigned")
    amount = 0 if not raw_amount else _int(raw_amount, "amount", signed=False)
    if sign is None and not information:
        raise FieldError("type_code", f"type code {type_code} is not a credit (100-399, 900-959) or debit "
                                      "(400-699, 960-999), so its amount has no direction")
    funds = fields[2] if len(fields) > 2 else ""
    extra = _funds_extra_count(funds, fields, 3)
    value_date = None
    if funds.strip().upper() == "V" and len(fields) > 3 and fields[3].strip():
        value_date = _parse_date(fields[3], "value_date")
    if extra and len(fields) < 3 + extra:
        raise FieldError("funds_type", f"funds type {funds!r} needs {extra} availability fields")
    if funds.strip().upper() == "S":
        for j in range(3, 6):
            if fields[j].strip():
                _int(fields[j], "funds_type")
    rest = fields[3 + extra:]
    bank_ref = rest[0].strip() if rest else ""
    cust_ref = rest[1].strip() if len(rest) > 1 else ""
    text = ",".join(rest[2:]).strip() if len(rest) > 2 else ""
    acct.control += amount
    return {
        "statement_id": acct.statement_id,
        "account_id": acct.account,
        "currency": acct.currency,
        "booking_date": as_of,
        "value_date": value_date,
        "amount_minor": (sign or 1) * amount,
        "is_reversal": False,
        "bank_tx_code": type_code,
        "end_to_end_id": None,
        "acct_svcr_ref": bank_ref or None,
        "instr_id": cust_ref or None,
        "remittance_info": text or None,
        "counterparty_name": None,
        "source_position": rec.position,
        "booked": kind == "statement" and not information,
        "report_kind": kind,
        "entry_status": "INFO" if information else None,
    }


def parse(data: bytes, filename: str) -> ParsedFile:
    """Parse a BAI2 file into bank lines, one statement per account section, and record errors."""
    return parse_safely(_parse, data, filename)


def _trailer_ints(rec: _Record, filename: str, names: tuple[str, ...]) -> list[int | None]:
    fields = rec.text.split(",")
    values: list[int | None] = []
    for k, name in enumerate(names):
        try:
            values.append(_opt_int(fields[k], name) if k < len(fields) else None)
        except FieldError as exc:
            raise FileRejected(filename, f"{rec.code} trailer: {exc.message}", rec.position, name) from None
    return values


class _Mismatch:
    """A trailer figure that differs from what the records give."""

    __slots__ = ("rec", "field", "stated", "actual", "what", "details")

    def __init__(self, rec: _Record, field: str, stated: int, actual: int, what: str, details: int) -> None:
        self.rec, self.field, self.stated, self.actual, self.what = rec, field, stated, actual, what
        self.details = details          # transaction details (16 records) of the account, for a 49

    def error(self, filename: str) -> RecordError:
        return RecordError(file=filename, position=self.rec.position, field=self.field,
                           message=f"{self.what}: trailer says {self.stated}, records give {self.actual}",
                           raw=self.rec.raw)


def _parse(data: bytes, filename: str) -> ParsedFile:
    if b"\x00" in data:
        raise FileRejected(filename, "binary content (NUL bytes): not a BAI2 text file")
    text, encoding = decode_bank_text(data)
    if _BAD_CONTROL.search(text):
        text = _BAD_CONTROL.sub("", text)            # ^Z end-of-file marks and other control bytes
    records, record_length = _records(text, filename)
    if not records:
        raise FileRejected(filename, "empty file")
    first = records[0]
    if first.code != "01":
        raise FileRejected(filename, f"first record is {first.code}, expected the 01 file header",
                           first.position, "record_code")
    if records[-1].code != "99":
        raise FileRejected(filename, "missing 99 file trailer (truncated file?)", records[-1].position,
                           "record_code")
    header = first.text.split(",")
    sender = header[0].strip() if header else ""
    file_id = header[4].strip() if len(header) > 4 else ""
    try:
        created = _parse_date(header[2], "creation_date") if len(header) > 2 else None
    except FieldError as exc:
        raise FileRejected(filename, f"01 file header: {exc.message}", first.position, exc.field) from None
    if created is None:
        raise FileRejected(filename, "01 file header has no creation date", first.position, "creation_date")

    result = ParsedFile(format=FORMAT, source="bank", encoding=encoding)
    mismatches: list[_Mismatch] = []       # records vs trailers
    disagreements = 0                      # trailers vs trailers
    group_open = False
    as_of: date | None = None
    group_ccy = "USD"
    kind = "statement"
    acct: _Account | None = None
    group_no = account_no = 0
    group_control = group_accounts = group_physical = group_stated = 0
    file_control = file_groups = file_stated = 0
    file_physical = first.physical

    def check(rec: _Record, field: str, stated: int | None, actual: int, what: str, details: int = 0) -> None:
        if stated is not None and stated != actual:
            mismatches.append(_Mismatch(rec, field, stated, actual, what, details))

    def close_account(rec: _Record, control: int | None, count: int | None) -> None:
        nonlocal acct, group_control, group_accounts, group_stated
        assert acct is not None and acct.record is not None and as_of is not None
        check(rec, "control_total", control, acct.control, f"account {acct.account} control total",
              acct.count)
        check(rec, "record_count", count, acct.physical, f"account {acct.account} record count")
        group_control += acct.control
        group_stated += control if control is not None else acct.control
        group_accounts += 1
        b = acct.balances
        opening = next((c for c in _OPENING_CODES if c in b), None)
        closing = next((c for c in _CLOSING_CODES if c in b), None)
        available = next((c for c in _AVAILABLE_CODES if c in b), None)
        result.statements.append(statement_record(
            acct.statement_id, acct.account, acct.currency, (as_of, b.get(opening) if opening else None),
            (as_of, b.get(closing) if closing else None), acct.count, acct.total, acct.record.position,
            (as_of, b[available]) if available else (None, None), opening_type=opening, closing_type=closing,
            available_type=available, report_kind=kind))
        acct = None

    for rec in records[1:]:
        file_physical += rec.physical
        code = rec.code
        if code == "02":
            if group_open:
                raise FileRejected(filename, "02 group header inside an open group (missing 98)",
                                   rec.position, "record_code")
            fields = rec.text.split(",")
            try:
                as_of = _parse_date(fields[3] if len(fields) > 3 else "", "as_of_date")
            except FieldError as exc:
                raise FileRejected(filename, f"02 group header: {exc.message}", rec.position,
                                   exc.field) from None
            ccy = fields[5].strip() if len(fields) > 5 else ""
            try:
                group_ccy = normalize_currency(ccy) if ccy else "USD"
            except MoneyError as exc:
                raise FileRejected(filename, f"02 group currency: {exc}", rec.position, "currency") from None
            modifier = fields[6].strip() if len(fields) > 6 else ""
            kind = "intraday" if modifier == "3" else "statement"
            group_open = True
            group_no += 1
            account_no = 0
            group_control = group_accounts = group_stated = 0
            group_physical = rec.physical
        elif code == "03":
            if not group_open:
                raise FileRejected(filename, "03 account identifier outside a group", rec.position,
                                   "record_code")
            if acct is not None:   # the 49 is missing: close the account here and say so
                result.errors.append(RecordError(filename, rec.position, "record_code", f"03 account identifier "
                                                 f"inside the open account {acct.account} (missing 49)", rec.raw))
                close_account(rec, None, None)
            acct = _parse_account(rec, group_ccy, filename, result.errors)
            account_no += 1
            acct.statement_id = f"{sender}:{file_id}:{created:%Y%m%d}:{group_no}.{account_no}"
            acct.physical = rec.physical
            group_physical += rec.physical
        elif code == "16":
            group_physical += rec.physical
            if acct is None or as_of is None:
                result.errors.append(RecordError(file=filename, position=rec.position, field="record_code",
                                                 message="16 transaction detail outside an account", raw=rec.raw))
                continue
            acct.physical += rec.physical
            try:
                line = _detail_line(rec, acct, as_of, kind)
            except FieldError as exc:
                result.errors.append(RecordError(file=filename, position=rec.position, field=exc.field,
                                                 message=exc.message, raw=rec.raw))
                continue
            if line["entry_status"] is None:
                acct.count += 1
                acct.total += line["amount_minor"]
            result.rows.append(line)
        elif code == "49":
            group_physical += rec.physical
            if acct is None or acct.record is None or as_of is None:
                result.errors.append(RecordError(filename, rec.position, "record_code",
                                                 "49 account trailer without an 03 account", rec.raw))
                continue
            acct.physical += rec.physical
            control, count = _trailer_ints(rec, filename, ("control_total", "record_count"))
            close_account(rec, control, count)
        elif code == "98":
            if not group_open:
                raise FileRejected(filename, "98 group trailer outside a group", rec.position, "record_code")
            if acct is not None:
                result.errors.append(RecordError(filename, rec.position, "record_code", "98 group trailer "
                                                 f"inside the open account {acct.account} (missing 49)", rec.raw))
                close_account(rec, None, None)
            group_physical += rec.physical
            control, accounts, count = _trailer_ints(
                rec, filename, ("control_total", "account_count", "record_count"))
            check(rec, "control_total", control, group_control, "group control total")
            check(rec, "account_count", accounts, group_accounts, "group account count")
            check(rec, "record_count", count, group_physical, "group record count")
            if control is not None and control != group_stated:
                disagreements += 1
            file_control += group_control
            file_stated += control if control is not None else group_control
            file_groups += 1
            group_open = False
        elif code == "99":
            if group_open:
                raise FileRejected(filename, "99 file trailer inside an open group (missing 98)",
                                   rec.position, "record_code")
            control, groups, count = _trailer_ints(
                rec, filename, ("control_total", "group_count", "record_count"))
            check(rec, "control_total", control, file_control, "file control total")
            check(rec, "group_count", groups, file_groups, "file group count")
            check(rec, "record_count", count, file_physical, "file record count")
            if control is not None and control != file_stated:
                disagreements += 1
        else:  # "01" again
            raise FileRejected(filename, "second 01 file header", rec.position, "record_code")
    # A transaction detail lost or changed: an account's 16 records do not add up to trailers that agree with
    # each other. Quarantined records are missing from the records' totals, so then a mismatch is expected; and
    # an account of summaries only has no transaction to lose (its balances are the integrity check's).
    totals = [m for m in mismatches if m.field == "control_total" and m.details]
    if totals and disagreements == 0 and not result.errors:
        first_bad = totals[0]
        raise FileRejected(filename, f"checksum failure: {first_bad.what}: the trailers agree with each other "
                                     f"({first_bad.stated}) but the records give {first_bad.actual}: a record was "
                                     "lost or changed", first_bad.rec.position, first_bad.field)
    result.errors.extend(m.error(filename) for m in mismatches)
    return result
