"""SWIFT MT940 (customer statement) parser.

The file is split into tags and statements here, keeping physical line numbers; the ``:61:`` statement
line is matched with the `mt-940` package's own pattern (``mt940.tags.Statement``), which knows the
bank variants (optional entry date, funds code, supplementary details). Its models are not used:
by default they give a reversal of credit (``RC``) a positive amount, clamp an invalid February day,
truncate long ``:86:`` details and merge all statements of a file into one collection.

Signs from the account holder's view: C and RD (reversal of a debit) > 0, D and RC < 0.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import mt940 as mt940_lib

from financeops_pipeline.errors import FieldError, FileRejected, RecordError
from financeops_pipeline.imports.records import ParsedFile, statement_record
from financeops_pipeline.money import MoneyError, normalize_currency, to_minor

FORMAT = "mt940"
_TAG_LINE = re.compile(r":(\d{2}[A-Z]?|NS):(.*)", re.S)
_BALANCE = re.compile(r"([CD])(\d{2})(\d{2})(\d{2})([A-Za-z]{3})(\d+,\d*)")
_AMOUNT = re.compile(r"\d+,\d*")
_STATEMENT_LINE = re.compile(
    mt940_lib.tags.Statement.pattern, re.IGNORECASE | re.VERBOSE | re.UNICODE,
)
_STRUCTURED_86 = re.compile(r"\d{3}\?\d\d")
_SUBFIELD = re.compile(r"\?(\d\d)")
_GVC_KEYS = (
    "EREF", "KREF", "MREF", "CRED", "DEBT", "SVWZ", "ABWA", "ABWE", "IBAN", "BIC ", "PURP", "MDAT",
    "SQTP", "ORCR", "ORMR", "DDAT", "COAM", "OAMT",
)
_EREF = re.compile(r"EREF\+(.*?)(?=(?:" + "|".join(re.escape(k) for k in _GVC_KEYS) + r")\+|$)")
_SNIFF_20 = re.compile(rb"(?:^|[\r\n]|\{4:)[ \t]*:20:")
_SNIFF_60 = re.compile(rb"(?:^|[\r\n])[ \t]*:60[FM]:")
_SNIFF_6X = re.compile(rb"(?:^|[\r\n])[ \t]*:(?:61|62F):")
_BAD_CONTROL = re.compile(r"[\x00\x02\x04-\x08\x0b\x0c\x0e-\x1f\x7f]")
_YEAR_BOUNDARY_DAYS = 183


_SNIFF_BYTES = 65536


def sniff(data: bytes) -> bool:
    """True when ``data`` carries MT940 tags :20:, :60F:/:60M: and :61: or :62F:.

    Only the head is searched: a statement opens with :20: ... :60F: and its first :61: (or, empty, its
    :62F:) follows at once, while scanning a whole multi-gigabyte CSV three times cost seconds per file."""
    try:
        blob = bytes(data[:_SNIFF_BYTES])
        return bool(_SNIFF_20.search(blob) and _SNIFF_60.search(blob) and _SNIFF_6X.search(blob))
    except Exception:  # noqa: BLE001 - sniffing must never raise
        return False


class _Tag:
    __slots__ = ("tag", "lines", "line_no")

    def __init__(self, tag: str, first: str, line_no: int) -> None:
        self.tag = tag
        self.lines = [first]
        self.line_no = line_no

    @property
    def value(self) -> str:
        return "\n".join(self.lines).strip()

    @property
    def raw(self) -> str:
        return f":{self.tag}:" + "\n".join(self.lines)


def _decode(data: bytes, filename: str) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # ISO 8859-1 is what many European banks send
    text = text.replace("\x01", "").replace("\x03", "")  # SWIFT SOH / ETX framing
    if _BAD_CONTROL.search(text):
        raise FileRejected(filename, "control characters in file: not an MT940 text file")
    return text


def _tags(text: str) -> list[_Tag]:
    """Tags in file order; a new message block (after '-' or '{4:') ends the previous tag."""
    tags: list[_Tag] = []
    current: _Tag | None = None
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if "{4:" in line:
            line = line.split("{4:", 1)[1]
            current = None
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("-") or stripped.startswith("{"):
            current = None  # end of message text block, or SWIFT block 5 / headers
            continue
        match = _TAG_LINE.match(stripped)
        if match:
            current = _Tag(match.group(1), match.group(2), line_no)
            tags.append(current)
        elif current is not None:
            current.lines.append(line)
        # lines before the first tag of a block (bank headers such as 'ABNANL2A', '940') are ignored
    return tags


def _ymd(yy: str, mm: str, dd: str, field: str) -> date:
    try:
        return date(2000 + int(yy), int(mm), int(dd))
    except ValueError:
        raise FieldError(field, f"date {yy}{mm}{dd} does not exist") from None


def _minor(amount: str, currency: str, field: str) -> int:
    amount = amount.strip()
    if not _AMOUNT.fullmatch(amount):
        raise FieldError(field, f"amount {amount!r} is not digits with one ',' decimal separator")
    try:
        return to_minor(amount.replace(",", "."), currency)
    except MoneyError as exc:
        raise FieldError(field, str(exc)) from None


class _Statement:
    __slots__ = ("ref", "ref_tag", "account", "currency", "opening", "closing", "count", "total",
                 "pending")

    def __init__(self, ref_tag: _Tag) -> None:
        self.ref_tag = ref_tag
        self.ref = ref_tag.value or None
        self.account: str | None = None
        self.currency: str | None = None
        self.opening: tuple[date, int] | None = None
        self.closing: tuple[date, int] | None = None
        self.count = 0
        self.total = 0
        self.pending: list[_Tag] = []  # the :61: being built and its :86: tags


def _balance(tag: _Tag, filename: str, expected_ccy: str | None) -> tuple[date, int, str]:
    value = tag.value
    match = _BALANCE.fullmatch(value)
    if not match:
        raise FileRejected(filename, f"balance :{tag.tag}: {value!r} is not [C|D]YYMMDDCCYamount",
                           f"line {tag.line_no}", f":{tag.tag}:")
    mark, yy, mm, dd, ccy, amount = match.groups()
    try:
        currency = normalize_currency(ccy)
    except MoneyError as exc:
        raise FileRejected(filename, f"balance :{tag.tag}: {exc}", f"line {tag.line_no}",
                           "currency") from None
    if expected_ccy is not None and currency != expected_ccy:
        raise FileRejected(filename, f"balance :{tag.tag}: in {currency}, statement opened in {expected_ccy}",
                           f"line {tag.line_no}", "currency")
    try:
        when = _ymd(yy, mm, dd, "date")
        minor = _minor(amount, currency, "amount")
    except FieldError as exc:
        raise FileRejected(filename, f"balance :{tag.tag}: {exc.message}", f"line {tag.line_no}",
                           exc.field) from None
    return when, (minor if mark == "C" else -minor), currency


def _details(text: str) -> tuple[str | None, str | None, str | None]:
    """(remittance_info, counterparty_name, end_to_end_id) of a :86: value."""
    flat = "".join(part.strip("\r") for part in text.split("\n"))
    if not _STRUCTURED_86.match(flat):
        return (text.strip() or None), None, None
    # German/Dutch structured :86: (GVC code, then ?NN subfields): lines are cut at arbitrary places.
    pieces = _SUBFIELD.split(flat)
    fields: dict[str, list[str]] = {}
    for k in range(1, len(pieces) - 1, 2):
        fields.setdefault(pieces[k], []).append(pieces[k + 1])
    purpose = "".join(v for key in [f"2{d}" for d in range(10)] for v in fields.get(key, []))
    purpose += "".join(v for key in ("60", "61", "62", "63") for v in fields.get(key, []))
    name = "".join(v for key in ("32", "33") for v in fields.get(key, [])).strip()
    e2e = None
    match = _EREF.search(purpose)
    if match:
        candidate = match.group(1).strip()
        if candidate and len(candidate) <= 35 and candidate.upper() != "NOTPROVIDED":
            e2e = candidate
    remittance = purpose.strip() or "".join(fields.get("00", [])).strip() or None
    return remittance, (name or None), e2e


def _entry(st: _Statement, tag61: _Tag, details: list[_Tag]) -> dict[str, Any]:
    lines = [ln.strip() for ln in tag61.lines]
    first = lines[0]
    supplementary = " ".join(x for x in lines[2:] if x)
    value = first + ("\n" + lines[1] if len(lines) > 1 else "")
    match = _STATEMENT_LINE.match(value)
    if not match:
        raise FieldError(":61:", f"statement line {first!r} does not match the :61: layout")
    g = match.groupdict()
    mark = (g.get("status") or "").upper()
    if mark not in ("C", "D", "RC", "RD"):
        raise FieldError("mark", f"debit/credit mark {g.get('status')!r} is not C, D, RC or RD")
    assert st.currency is not None
    value_date = _ymd(g["year"], g["month"], g["day"], "value_date")
    booking = value_date
    em, ed = (g.get("entry_month") or "").strip(), (g.get("entry_day") or "").strip()
    if em and ed:
        candidates = []
        for year in (value_date.year - 1, value_date.year, value_date.year + 1):
            try:
                candidates.append(date(year, int(em), int(ed)))
            except ValueError:
                continue
        if not candidates:
            raise FieldError("entry_date", f"entry date {em}{ed} does not exist")
        booking = min(candidates, key=lambda d: abs((d - value_date).days))
        if abs((booking - value_date).days) > _YEAR_BOUNDARY_DAYS:
            raise FieldError("entry_date", f"entry date {em}{ed} is far from value date {value_date}")
    amount = _minor(g["amount"], st.currency, "amount")
    sign = 1 if mark in ("C", "RD") else -1
    customer_ref = (g.get("customer_reference") or "").strip()
    bank_ref = (g.get("bank_reference") or "").strip()
    extra = " ".join(x for x in ((g.get("extra_details") or "").strip(), supplementary) if x)
    remittance = counterparty = e2e = None
    if details:
        remittance, counterparty, e2e = _details("\n".join(t.value for t in details))
    if remittance is None and extra:
        remittance = extra
    return {
        "statement_id": st.ref,
        "account_id": st.account,
        "currency": st.currency,
        "booking_date": booking,
        "value_date": value_date,
        "amount_minor": sign * amount,
        "is_reversal": mark.startswith("R"),
        "bank_tx_code": (g.get("id") or "").strip() or None,
        "end_to_end_id": e2e,
        "acct_svcr_ref": bank_ref or None,
        "instr_id": None if customer_ref.upper() in ("", "NONREF") else customer_ref,
        "remittance_info": remittance,
        "counterparty_name": counterparty,
        "source_position": f"line {tag61.line_no}",
    }


def parse(data: bytes, filename: str) -> ParsedFile:
    """Parse an MT940 file into bank lines, one statement per :20: block, and record errors."""
    try:
        return _parse(bytes(data), filename)
    except FileRejected:
        raise
    except Exception as exc:  # noqa: BLE001 - safety net: a file we cannot read safely, never a crash
        raise FileRejected(filename, f"unexpected parser failure ({type(exc).__name__}: {exc})") from None


def _parse(data: bytes, filename: str) -> ParsedFile:
    text = _decode(data, filename)
    tags = _tags(text)
    if not tags:
        raise FileRejected(filename, "no MT940 tags found (expected :20:, :25:, :60F:, :61:, :62F:)")
    result = ParsedFile(format=FORMAT, source="bank")
    st: _Statement | None = None

    def reject(tag: _Tag, message: str) -> FileRejected:
        return FileRejected(filename, message, f"line {tag.line_no}", f":{tag.tag}:")

    def flush_entry() -> None:
        assert st is not None
        if not st.pending:
            return
        tag61, details = st.pending[0], st.pending[1:]
        st.pending = []
        try:
            row = _entry(st, tag61, details)
        except FieldError as exc:
            raw = "\n".join(t.raw for t in [tag61, *details])
            result.errors.append(RecordError(file=filename, position=f"line {tag61.line_no}",
                                             field=exc.field, message=exc.message, raw=raw))
            return
        st.count += 1
        st.total += row["amount_minor"]
        result.rows.append(row)

    def close() -> None:
        assert st is not None
        flush_entry()
        where = f"statement {st.ref!r} (:20: at line {st.ref_tag.line_no})"
        if st.account is None:
            raise FileRejected(filename, f"{where} has no :25: account", f"line {st.ref_tag.line_no}", ":25:")
        if st.opening is None:
            raise FileRejected(filename, f"{where} has no :60F:/:60M: opening balance",
                               f"line {st.ref_tag.line_no}", ":60F:")
        if st.closing is None:
            raise FileRejected(filename, f"{where} has no :62F:/:62M: closing balance (truncated file?)",
                               f"line {st.ref_tag.line_no}", ":62F:")
        result.statements.append(statement_record(st.ref, st.account, st.currency, st.opening, st.closing,
                                                  st.count, st.total, f"line {st.ref_tag.line_no}"))

    for tag in tags:
        name = tag.tag
        if name == "20":
            if st is not None:
                close()
            st = _Statement(tag)
            continue
        if st is None:
            raise reject(tag, f"tag :{name}: before the first :20: statement reference")
        if name == "25":
            if st.account is not None:
                raise reject(tag, f"second :25: in statement {st.ref!r} (account already {st.account!r})")
            if st.opening is not None:
                raise reject(tag, ":25: account after the opening balance")
            value = tag.value
            if not value or "\n" in value or len(value) > 35:
                raise reject(tag, f":25: account {value[:40]!r} is not one line of at most 35 characters")
            st.account = value
        elif name in ("60F", "60M", "60"):
            if st.opening is not None:
                raise reject(tag, f"second opening balance in statement {st.ref!r}")
            when, minor, ccy = _balance(tag, filename, None)
            st.opening, st.currency = (when, minor), ccy
        elif name == "61":
            if st.opening is None:
                raise reject(tag, ":61: statement line before the :60F:/:60M: opening balance")
            if st.closing is not None:
                raise reject(tag, ":61: statement line after the closing balance")
            flush_entry()
            st.pending = [tag]
        elif name == "86":
            if st.pending and st.closing is None:
                st.pending.append(tag)
            # else: statement-level information, not part of any line
        elif name in ("62F", "62M", "62"):
            if st.opening is None:
                raise reject(tag, "closing balance before the opening balance")
            if st.closing is not None:
                raise reject(tag, f"second closing balance in statement {st.ref!r}")
            flush_entry()
            when, minor, _ccy = _balance(tag, filename, st.currency)
            st.closing = (when, minor)
        # :21:, :28:, :28C:, :64:, :65:, :34F:, :13D:, :90D:, :90C:, :NS: carry nothing we store
    if st is not None:
        close()
    if not result.statements:
        raise FileRejected(filename, "no MT940 statement (:20: ... :62F:) found")
    return result
