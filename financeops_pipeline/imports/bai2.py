"""BAI2 (Cash Management Balance Reporting Specification v2) parser.

Own parser, not the PyPI `bai2` 0.15: it glues a '/'-terminated 03 record to its 88 continuation without
a comma (sample2 breaks: type code '190500000'), aborts the whole file on a control-total mismatch, and
rejects any type code missing from its table; it also loses physical line numbers.

Logical records are built by joining 88 continuations to their 01/02/03/16/49/98/99 record. Amounts are
integers in minor units (BAI2's implied decimals are the currency's ISO exponent). 16 amounts are
unsigned; the type code gives the sign: 100-399 credit (> 0), 400-699 debit (< 0).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from financeops_pipeline.errors import FieldError, FileRejected, RecordError
from financeops_pipeline.imports.records import ParsedFile, statement_record
from financeops_pipeline.money import MoneyError, normalize_currency

FORMAT = "bai2"
_RECORD_CODES = {"01", "02", "03", "16", "49", "88", "98", "99"}
_UNSIGNED = re.compile(r"\+?\d+")
_SIGNED = re.compile(r"[+-]?\d+")
_TYPE_CODE = re.compile(r"\d{3}")
_DATE6 = re.compile(r"\d{6}")
_BAD_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def sniff(data: bytes) -> bool:
    """True when the first non-blank record of ``data`` starts with '01,'."""
    try:
        head = bytes(data[:256]).lstrip(b"\xef\xbb\xbf").lstrip()
        return head.startswith(b"01,")
    except Exception:  # noqa: BLE001 - sniffing must never raise
        return False


class _Record:
    """One logical record: code, field text (88 continuations joined), physical lines it spans."""

    __slots__ = ("code", "text", "line_no", "physical", "raw_lines", "_ends_with_slash")

    def __init__(self, code: str, body: str, line_no: int, raw: str) -> None:
        self.code = code
        self.line_no = line_no
        self.physical = 1
        self.raw_lines = [raw]
        body, self._ends_with_slash = _strip_terminator(body)
        self.text = body

    def add_continuation(self, body: str, raw: str) -> None:
        body, slash = _strip_terminator(body)
        if self.code == "16" and _text_started(self.text):
            # Continued free text of a transaction detail: keep it readable.
            self.text = f"{self.text} {body}" if self.text else body
        else:
            self.text = f"{self.text},{body}"
        self._ends_with_slash = slash
        self.physical += 1
        self.raw_lines.append(raw)

    @property
    def raw(self) -> str:
        return "\n".join(self.raw_lines)

    @property
    def position(self) -> str:
        return f"line {self.line_no}"


def _strip_terminator(body: str) -> tuple[str, bool]:
    body = body.rstrip()
    if body.endswith("/"):
        return body[:-1], True
    return body, False


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


def _decode(data: bytes, filename: str) -> str:
    if b"\x00" in data:
        raise FileRejected(filename, "binary content (NUL bytes): not a BAI2 text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if _BAD_CONTROL.search(text):
        raise FileRejected(filename, "control characters in file: not a BAI2 text file")
    return text


def _parse_date(value: str, field: str) -> date:
    value = value.strip()
    if not _DATE6.fullmatch(value):
        raise FieldError(field, f"date {value!r} is not YYMMDD")
    try:
        return date(2000 + int(value[:2]), int(value[2:4]), int(value[4:6]))
    except ValueError:
        raise FieldError(field, f"date {value!r} does not exist") from None


def _int(value: str, field: str, signed: bool = True) -> int:
    value = value.strip()
    if not (_SIGNED if signed else _UNSIGNED).fullmatch(value):
        raise FieldError(field, f"{value!r} is not an integer amount")
    return int(value)


def _opt_int(value: str, field: str) -> int | None:
    return _int(value, field) if value.strip() else None


def _records(text: str, filename: str) -> list[_Record]:
    records: list[_Record] = []
    for line_no, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped:
            continue
        code = stripped[:2]
        if code not in _RECORD_CODES or (len(stripped) > 2 and stripped[2] != ","):
            if not records:
                raise FileRejected(filename, f"first record is {stripped[:20]!r}, a BAI2 file starts "
                                             "with an 01 file header", f"line {line_no}", "record_code")
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
            records[-1].add_continuation(body, raw.rstrip("\r\n"))
        else:
            records.append(_Record(code, body, line_no, raw.rstrip("\r\n")))
    return records


class _Account:
    __slots__ = ("record", "account", "currency", "opening", "closing", "control", "physical",
                 "count", "total", "statement_id")

    def __init__(self) -> None:
        self.record: _Record | None = None
        self.account = ""
        self.currency = "USD"
        self.opening: int | None = None
        self.closing: int | None = None
        self.control = 0
        self.physical = 0
        self.count = 0
        self.total = 0
        self.statement_id = ""


def _parse_account(rec: _Record, group_currency: str, filename: str) -> _Account:
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
    i = 2
    try:
        while i < len(fields):
            type_code = fields[i].strip()
            amount = fields[i + 1] if i + 1 < len(fields) else ""
            funds = fields[i + 3] if i + 3 < len(fields) else ""
            extra = _funds_extra_count(funds, fields, i + 4)
            if type_code:
                if not _TYPE_CODE.fullmatch(type_code):
                    raise FieldError("type_code", f"summary type code {type_code!r} is not 3 digits")
                value = _opt_int(amount, "amount")
                if value is not None:
                    acct.control += value
                    if type_code == "010":
                        acct.opening = value
                    elif type_code == "015":
                        acct.closing = value
            elif amount.strip():
                raise FieldError("type_code", f"summary amount {amount.strip()!r} without a type code")
            i += 4 + extra
    except FieldError as exc:
        raise FileRejected(filename, f"03 account {acct.account}: {exc.message}", rec.position,
                           exc.field) from None
    return acct


def _detail_line(rec: _Record, acct: _Account, as_of: date) -> dict[str, Any]:
    fields = rec.text.split(",")
    if len(fields) < 2:
        raise FieldError("amount", "16 record has no amount")
    type_code = fields[0].strip()
    if not _TYPE_CODE.fullmatch(type_code):
        raise FieldError("type_code", f"type code {type_code!r} is not 3 digits")
    code = int(type_code)
    if 100 <= code <= 399:
        sign = 1
    elif 400 <= code <= 699:
        sign = -1
    else:
        raise FieldError("type_code", f"type code {type_code} is not a credit (100-399) or debit (400-699)")
    raw_amount = fields[1].strip()
    if raw_amount.startswith("-"):
        kind = "credit" if sign > 0 else "debit"
        raise FieldError("amount", f"negative amount {raw_amount!r} with {kind} type code {type_code}: "
                                   "16 amounts are unsigned")
    amount = _int(raw_amount, "amount", signed=False)
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
        "amount_minor": sign * amount,
        "is_reversal": False,
        "bank_tx_code": type_code,
        "end_to_end_id": None,
        "acct_svcr_ref": bank_ref or None,
        "instr_id": cust_ref or None,
        "remittance_info": text or None,
        "counterparty_name": None,
        "source_position": rec.position,
    }


def parse(data: bytes, filename: str) -> ParsedFile:
    """Parse a BAI2 file into bank lines, one statement per account section, and record errors."""
    try:
        return _parse(bytes(data), filename)
    except FileRejected:
        raise
    except Exception as exc:  # noqa: BLE001 - safety net: a file we cannot read safely, never a crash
        raise FileRejected(filename, f"unexpected parser failure ({type(exc).__name__}: {exc})") from None


def _check(result: ParsedFile, filename: str, rec: _Record, field: str, stated: int | None,
           actual: int, what: str) -> None:
    if stated is not None and stated != actual:
        result.errors.append(RecordError(
            file=filename, position=rec.position, field=field,
            message=f"{what}: trailer says {stated}, records give {actual}", raw=rec.raw,
        ))


def _trailer_ints(rec: _Record, filename: str, names: tuple[str, ...]) -> list[int | None]:
    fields = rec.text.split(",")
    values: list[int | None] = []
    for k, name in enumerate(names):
        try:
            values.append(_opt_int(fields[k], name) if k < len(fields) else None)
        except FieldError as exc:
            raise FileRejected(filename, f"{rec.code} trailer: {exc.message}", rec.position, name) from None
    return values


def _parse(data: bytes, filename: str) -> ParsedFile:
    text = _decode(data, filename)
    records = _records(text, filename)
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
    version = header[7].strip() if len(header) > 7 else ""
    if version and version != "2":
        raise FileRejected(filename, f"BAI version {version!r}, only version 2 is supported",
                           first.position, "version")
    try:
        created = _parse_date(header[2], "creation_date") if len(header) > 2 else None
    except FieldError as exc:
        raise FileRejected(filename, f"01 file header: {exc.message}", first.position, exc.field) from None
    if created is None:
        raise FileRejected(filename, "01 file header has no creation date", first.position, "creation_date")

    result = ParsedFile(format=FORMAT, source="bank")
    group_open = False
    as_of: date | None = None
    group_ccy = "USD"
    acct: _Account | None = None
    group_no = account_no = 0
    group_control = group_accounts = group_physical = 0
    file_control = file_groups = 0
    file_physical = first.physical

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
            group_open = True
            group_no += 1
            account_no = 0
            group_control = group_accounts = 0
            group_physical = rec.physical
        elif code == "03":
            if not group_open or acct is not None:
                what = "outside a group" if not group_open else "inside an open account (missing 49)"
                raise FileRejected(filename, f"03 account identifier {what}", rec.position, "record_code")
            acct = _parse_account(rec, group_ccy, filename)
            account_no += 1
            acct.statement_id = f"{sender}:{file_id}:{created:%Y%m%d}:{group_no}.{account_no}"
            acct.physical = rec.physical
            group_physical += rec.physical
        elif code == "16":
            if acct is None or as_of is None:
                raise FileRejected(filename, "16 transaction detail outside an account", rec.position,
                                   "record_code")
            acct.physical += rec.physical
            group_physical += rec.physical
            try:
                line = _detail_line(rec, acct, as_of)
            except FieldError as exc:
                result.errors.append(RecordError(file=filename, position=rec.position, field=exc.field,
                                                 message=exc.message, raw=rec.raw))
                continue
            acct.count += 1
            acct.total += line["amount_minor"]
            result.rows.append(line)
        elif code == "49":
            if acct is None or acct.record is None or as_of is None:
                raise FileRejected(filename, "49 account trailer without an 03 account", rec.position,
                                   "record_code")
            acct.physical += rec.physical
            group_physical += rec.physical
            control, count = _trailer_ints(rec, filename, ("control_total", "record_count"))
            _check(result, filename, rec, "control_total", control, acct.control,
                   f"account {acct.account} control total")
            _check(result, filename, rec, "record_count", count, acct.physical,
                   f"account {acct.account} record count")
            group_control += control or 0
            group_accounts += 1
            result.statements.append(statement_record(
                acct.statement_id, acct.account, acct.currency, (as_of, acct.opening), (as_of, acct.closing),
                acct.count, acct.total, acct.record.position))
            acct = None
        elif code == "98":
            if not group_open or acct is not None:
                what = "outside a group" if not group_open else "inside an open account (missing 49)"
                raise FileRejected(filename, f"98 group trailer {what}", rec.position, "record_code")
            group_physical += rec.physical
            control, accounts, count = _trailer_ints(
                rec, filename, ("control_total", "account_count", "record_count"))
            _check(result, filename, rec, "control_total", control, group_control, "group control total")
            _check(result, filename, rec, "account_count", accounts, group_accounts, "group account count")
            _check(result, filename, rec, "record_count", count, group_physical, "group record count")
            file_control += control or 0
            file_groups += 1
            group_open = False
        elif code == "99":
            if group_open:
                raise FileRejected(filename, "99 file trailer inside an open group (missing 98)",
                                   rec.position, "record_code")
            control, groups, count = _trailer_ints(
                rec, filename, ("control_total", "group_count", "record_count"))
            _check(result, filename, rec, "control_total", control, file_control, "file control total")
            _check(result, filename, rec, "group_count", groups, file_groups, "file group count")
            _check(result, filename, rec, "record_count", count, file_physical, "file record count")
        else:  # "01" again
            raise FileRejected(filename, "second 01 file header", rec.position, "record_code")
    return result
