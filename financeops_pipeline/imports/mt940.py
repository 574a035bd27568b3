"""SWIFT MT940 (customer statement) parser, with what banks really put in it.

The file is split into tags and statements here, keeping physical line numbers. Each statement is read when it
is complete, so its currency is known whichever balance gives it. The ``:61:`` statement line has a grammar of
its own here (the `mt-940` package's pattern caps the customer reference at 16 characters, but banks put IBANs
and longer references there): value date, optional entry date, mark (``D``, ``C``, reversals ``RD``, ``RC``;
``DR`` / ``CR`` are D / C with funds code R), optional funds code, amount, transaction type, customer reference
(any length, up to ``//``), bank reference after ``//``, supplementary details on the lines after.

Policy: parse what is there, flag what does not add up, refuse only what cannot be read.

* balances: opening ``:60F:`` / ``:60M:``, closing ``:62F:`` / ``:62M:``, closing available ``:64:`` kept as the
  available balance; a missing one is derived from the other and the entries (marked derived), and the
  statement-integrity check says so. An unreadable balance is a quarantined record, not a rejected file.
* ``:86:`` or ``:NS:`` details; structured German/Dutch ``?NN`` subfields; SWIFT blocks ``{1:}{2:}{4:`` and
  ``-}`` / ``{5:}`` trailers; ``^Z`` and other control bytes dropped; several accounts and statements per file;
  historic currencies (DEM, NLG, FRF); Latin-1 / Latin-2 / Windows-125x text detected (``textenc``).
* refused: not MT940, no statement at all, or truncated (the last statement has no closing balance and the
  file stops mid-line).

Signs from the account holder's view: C and RD (reversal of a debit) > 0, D and RC < 0.
"""

from __future__ import annotations

import contextlib
import re
from datetime import date
from typing import Any

from financeops_pipeline.errors import FieldError, FileRejected, RecordError, parse_safely
from financeops_pipeline.imports.records import ParsedFile, statement_record
from financeops_pipeline.imports.textenc import decode_bank_text
from financeops_pipeline.money import CURRENCY_EXPONENTS, MoneyError, normalize_currency, to_minor

FORMAT = "mt940"
_TAG_LINE = re.compile(r":(\d{2}[A-Z]?|NS):(.*)", re.S)
_BALANCE = re.compile(r"([CD])\s?(\d{2})(\d{2})(\d{2})\s?([A-Za-z]{3})\s?(\d[\d.,]*)")
_AMOUNT = re.compile(r"\d+,\d*|\d+")
_STATEMENT_LINE = re.compile(
    r"""(?P<year>\d{2})(?P<month>\d{2})(?P<day>\d{2})   # value date YYMMDD
        (?:(?P<entry_month>\d{2})(?P<entry_day>\d{2}))?  # entry date MMDD (or four spaces)
        \s*(?P<mark>RD|RC|ED|EC|D|C)                     # debit/credit mark (ED/EC: expected, MT942)
        (?P<funds_code>[A-Z])?                           # 3rd letter of the currency code, or R
        \s?(?P<amount>\d[\d,.]*)                         # amount
        (?P<id>[NFS][A-Z0-9]{3})?                        # transaction type
        (?P<customer_reference>(?:(?!//).)*)             # up to the bank reference, any length
        (?://(?P<bank_reference>.*))?$""",
    re.VERBOSE,
)
_STRUCTURED_86 = re.compile(r"\s*\d{3}\s*\?\d\d")
_SUBFIELD = re.compile(r"\?(\d\d)")
_GVC_KEYS = (
    "EREF", "KREF", "MREF", "CRED", "DEBT", "SVWZ", "ABWA", "ABWE", "IBAN", "BIC ", "PURP", "MDAT",
    "SQTP", "ORCR", "ORMR", "DDAT", "COAM", "OAMT",
)
_EREF = re.compile(r"EREF\+(.*?)(?=(?:" + "|".join(re.escape(k) for k in _GVC_KEYS) + r")\+|$)")
_SNIFF_20 = re.compile(rb"(?:^|[\r\n]|\{4:)[ \t]*:20:")
_SNIFF_6X = re.compile(rb"(?:^|[\r\n])[ \t]*:(?:60[FM]|61|62[FM]|64):")
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")   # ^A..^Z framing, SUB (^Z, DOS end of file)...
_YEAR_BOUNDARY_DAYS = 183
_SNIFF_BYTES = 65536
_OPENING_TAGS = ("60F", "60M", "60")
_CLOSING_TAGS = ("62F", "62M", "62")
_AVAILABLE_TAGS = ("64",)
_INTERIM_TAGS = ("34F", "13D", "13", "90D", "90C")   # MT942 interim transaction report
_INTERIM_CURRENCY = re.compile(r"\d*([A-Z]{3})[DC]?\d")   # :34F:PLN0, :90D:0PLN0,00


def sniff(data: bytes) -> bool:
    """True when the head of ``data`` carries the MT940 tag :20: and a balance or a :61: statement line.

    Only the head is searched: a statement opens with :20: (:25:) ... :60F: and its first :61: follows at once,
    while scanning a whole multi-gigabyte CSV three times cost seconds per file."""
    try:
        blob = bytes(data[:_SNIFF_BYTES])
        return bool(_SNIFF_20.search(blob) and _SNIFF_6X.search(blob))
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


def _decode(data: bytes, filename: str) -> tuple[str, str]:
    if b"\x00" in data:
        raise FileRejected(filename, "binary content (NUL bytes): not an MT940 text file")
    text, encoding = decode_bank_text(data)
    return _CONTROL.sub("", text), encoding


def _tags(text: str) -> tuple[list[_Tag], bool]:
    """Tags in file order, and whether the file ends with a message terminator ('-', '-}', '{5:...}').

    A new message block (after '-' or '{4:') ends the previous tag."""
    tags: list[_Tag] = []
    current: _Tag | None = None
    terminated = False
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if "{4:" in line:
            line = line.split("{4:", 1)[1]
            current = None
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("-") or stripped.startswith("{") or stripped.startswith("}"):
            current = None  # end of message text block, or SWIFT block 5 / headers
            terminated = True
            continue
        match = _TAG_LINE.match(stripped)
        if match:
            current = _Tag(match.group(1), match.group(2), line_no)
            tags.append(current)
            terminated = False
        elif current is not None:
            current.lines.append(line)
        # lines before the first tag of a block (bank headers such as 'ABNANL2A', '940') are ignored
    return tags, terminated


def _ymd(yy: str, mm: str, dd: str, field: str) -> date:
    year = int(yy)
    try:
        return date(2000 + year if year < 80 else 1900 + year, int(mm), int(dd))
    except ValueError:
        raise FieldError(field, f"date {yy}{mm}{dd} does not exist") from None


def _minor(amount: str, currency: str, field: str) -> int:
    amount = amount.strip()
    whole, comma, fraction = amount.partition(",")
    exponent = CURRENCY_EXPONENTS.get(currency, -1)
    if comma and whole.isdigit() and (not fraction or fraction.isdigit()) and len(fraction) <= exponent \
            and len(whole) <= 18 and whole.isascii() and fraction.isascii():
        # the usual '1234,56': exact integer arithmetic, as money.to_minor does it
        return int(whole) * 10**exponent + (int(fraction.ljust(exponent, "0")) if fraction else 0)
    if "," not in amount and amount.count(".") == 1:
        amount = amount.replace(".", ",")        # a few banks write a decimal point
    if not _AMOUNT.fullmatch(amount):
        raise FieldError(field, f"amount {amount!r} is not digits with one ',' decimal separator")
    try:
        return to_minor(amount.replace(",", "."), currency)
    except MoneyError as exc:
        raise FieldError(field, str(exc)) from None


class _Statement:
    __slots__ = ("ref", "ref_tag", "account", "account_tag", "balances", "entries", "interim", "interim_currency")

    def __init__(self, ref_tag: _Tag) -> None:
        self.ref_tag = ref_tag
        self.ref = ref_tag.value or None
        self.account: str | None = None
        self.account_tag: _Tag | None = None
        self.balances: dict[str, _Tag] = {}       # '60' / '62' / '64' -> the first such tag
        self.entries: list[list[_Tag]] = []       # each: the :61: and its :86: / :NS: tags
        self.interim = False                      # an MT942 interim report (:34F:, :13D:, :90D:/:90C:)
        self.interim_currency: str | None = None  # the currency its :34F: / :90D: / :90C: give

    @property
    def closed(self) -> bool:
        return "62" in self.balances


def _balance(tag: _Tag) -> tuple[date, int, str]:
    """(date, signed minor units, currency) of a balance tag; FieldError naming the field otherwise."""
    value = re.sub(r"\s+", "", tag.value)
    match = _BALANCE.fullmatch(value)
    if not match:
        raise FieldError(f":{tag.tag}:", f"balance {value!r} is not [C|D]YYMMDDCCYamount")
    mark, yy, mm, dd, ccy, amount = match.groups()
    try:
        currency = normalize_currency(ccy)
    except MoneyError as exc:
        raise FieldError("currency", str(exc)) from None
    when = _ymd(yy, mm, dd, "date")
    minor = _minor(amount, currency, "amount")
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


def _customer_reference(text: str) -> tuple[str, str]:
    """(reference, text beyond it) of the :61: customer reference, a 16x field that banks overfill.

    Beyond 16 characters, a space within the first 17 means the field ended there and what follows is
    supplementary text ('0121470966      W.P. Jansen'); a single longer token is the reference (an IBAN)."""
    text = text.strip()
    if len(text) <= 16:
        return text, ""
    if " " in text[:17]:
        return text[:16].strip(), text[16:].strip()
    token, _, rest = text.partition(" ")
    return token, rest.strip()


def _entry(st: _Statement, currency: str, tag61: _Tag, details: list[_Tag]) -> dict[str, Any]:
    lines = [ln.strip() for ln in tag61.lines]
    first = lines[0]
    supplementary = " ".join(x for x in lines[1:] if x)
    match = _STATEMENT_LINE.match(first)
    if not match:
        raise FieldError(":61:", f"statement line {first!r} does not match the :61: layout")
    g = match.groupdict()
    mark = g["mark"]
    if mark in ("EC", "ED"):
        mark = mark[1]
    em, ed = g.get("entry_month"), g.get("entry_day")
    try:
        value_date: date | None = _ymd(g["year"], g["month"], g["day"], "value_date")
    except FieldError:
        # German banks date interest settlements on 30 February: with an entry date the line still books
        if not (em and ed) or not 1 <= int(g["month"]) <= 12 or int(g["day"]) > 31:
            raise
        value_date = None
    reference = value_date or date(_ymd(g["year"], g["month"], "01", "value_date").year, int(g["month"]), 28)
    booking = value_date
    if em and ed and reference.month == int(em) and abs(int(ed) - reference.day) <= 27:
        try:
            booking = date(reference.year, int(em), int(ed))     # the usual case: the same month
        except ValueError:
            raise FieldError("entry_date", f"entry date {em}{ed} does not exist") from None
    elif em and ed:
        candidates = []
        for year in (reference.year - 1, reference.year, reference.year + 1):
            try:
                candidates.append(date(year, int(em), int(ed)))
            except ValueError:
                continue
        if not candidates:
            raise FieldError("entry_date", f"entry date {em}{ed} does not exist")
        booking = min(candidates, key=lambda d: abs((d - reference).days))
        if abs((booking - reference).days) > _YEAR_BOUNDARY_DAYS:
            raise FieldError("entry_date", f"entry date {em}{ed} is far from value date {reference}")
    assert booking is not None
    amount = _minor(g["amount"], currency, "amount")
    sign = 1 if mark in ("C", "RD") else -1
    customer_ref, beyond = _customer_reference(g.get("customer_reference") or "")
    if beyond:
        supplementary = f"{beyond} {supplementary}".strip()
    bank_ref = (g.get("bank_reference") or "").strip()
    remittance = counterparty = e2e = None
    if details:
        remittance, counterparty, e2e = _details("\n".join(t.value for t in details))
    if remittance is None and supplementary:
        remittance = supplementary
    return {
        "statement_id": st.ref,
        "account_id": st.account,
        "currency": currency,
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
        "booked": True,
        "report_kind": "statement",
        "entry_status": None,
    }


def parse(data: bytes, filename: str) -> ParsedFile:
    """Parse an MT940 file into bank lines, one statement per :20: block, and record errors."""
    return parse_safely(_parse, data, filename)


def _error(filename: str, tag: _Tag, field: str, message: str, raw: str | None = None) -> RecordError:
    return RecordError(file=filename, position=f"line {tag.line_no}", field=field, message=message,
                       raw=raw if raw is not None else tag.raw)


def _raw(tag61: _Tag, details: list[_Tag]) -> str:
    return "\n".join(t.raw for t in [tag61, *details])


def _close(st: _Statement, filename: str, result: ParsedFile) -> None:
    """Turn one complete statement into its lines and statement record (errors as quarantined records)."""
    readable: dict[str, tuple[date, int, str, str]] = {}
    for key, tag in st.balances.items():
        try:
            when, minor, ccy = _balance(tag)
        except FieldError as exc:
            result.errors.append(_error(filename, tag, exc.field, f"balance :{tag.tag}: {exc.message}"))
            continue
        readable[key] = (when, minor, ccy, tag.tag)
    currency = next((readable[k][2] for k in ("60", "62", "64") if k in readable), None) or st.interim_currency
    kind = "intraday" if st.interim else "statement"
    for key, (_when, _minor_units, ccy, tag_name) in list(readable.items()):
        if ccy != currency:
            result.errors.append(_error(filename, st.balances[key], "currency",
                                        f"balance :{tag_name}: in {ccy}, statement in {currency}"))
            del readable[key]
    count = total = 0
    last: date | None = None
    if st.account is None:   # whose money it is cannot be read
        raise FileRejected(filename, f"statement {st.ref!r} (:20: at line {st.ref_tag.line_no}) has no :25: "
                                     "account identification", f"line {st.ref_tag.line_no}", ":25:")
    for tag61, *details in st.entries:
        if currency is None:
            result.errors.append(_error(filename, tag61, "currency", f"statement {st.ref!r} has no readable "
                                        "balance (:60F:, :62F:, :64:) giving its currency", _raw(tag61, details)))
            continue
        try:
            row = _entry(st, currency, tag61, details)
        except FieldError as exc:
            result.errors.append(_error(filename, tag61, exc.field, exc.message, _raw(tag61, details)))
            continue
        if kind != "statement":
            row["booked"], row["report_kind"] = False, kind
        count += 1
        total += row["amount_minor"]
        last = row["booking_date"] if last is None or row["booking_date"] > last else last
        result.rows.append(row)
    if currency is None:
        return
    opening, closing, available = readable.get("60"), readable.get("62"), readable.get("64")
    result.statements.append(statement_record(
        st.ref, st.account, currency,
        (opening[0], opening[1]) if opening else (None, None),
        (closing[0], closing[1]) if closing else (available[0] if available else last, None),
        count, total, f"line {st.ref_tag.line_no}", (available[0], available[1]) if available else (None, None),
        opening_type=opening[3] if opening else None, closing_type=closing[3] if closing else None,
        available_type=available[3] if available else None, report_kind=kind,
    ))


def _parse(data: bytes, filename: str) -> ParsedFile:
    text, encoding = _decode(data, filename)
    tags, terminated = _tags(text)
    if not tags:
        raise FileRejected(filename, "no MT940 tags found (expected :20:, :25:, :60F:, :61:, :62F:)")
    result = ParsedFile(format=FORMAT, source="bank", encoding=encoding)
    st: _Statement | None = None

    def reject(tag: _Tag, message: str) -> FileRejected:
        return FileRejected(filename, message, f"line {tag.line_no}", f":{tag.tag}:")

    for tag in tags:
        name = tag.tag
        if name == "20":
            if st is not None:
                _close(st, filename, result)
            st = _Statement(tag)
            continue
        if st is None:
            raise reject(tag, f"tag :{name}: before the first :20: statement reference")
        if name == "25":
            if st.account is not None:
                raise reject(tag, f"second :25: in statement {st.ref!r} (account already {st.account!r})")
            value = re.sub(r"\s*\n\s*", "", tag.value)   # 35x by the standard; banks write longer ones
            if not value:
                raise reject(tag, ":25: account identification is empty")
            st.account, st.account_tag = value, tag
        elif name in _OPENING_TAGS:
            if st.closed:
                # a new page or day under the same :20: (some banks repeat only the balances)
                ref_tag, account, account_tag = st.ref_tag, st.account, st.account_tag
                _close(st, filename, result)
                st = _Statement(ref_tag)
                st.account, st.account_tag = account, account_tag
            if "60" in st.balances:
                result.errors.append(_error(filename, tag, f":{name}:",
                                            f"second opening balance in statement {st.ref!r}, ignored"))
                continue
            st.balances["60"] = tag
        elif name == "61":
            if st.closed:
                result.errors.append(_error(filename, tag, ":61:", f"statement line after the closing balance "
                                            f"of statement {st.ref!r}"))
                continue
            st.entries.append([tag])
        elif name in ("86", "NS"):
            if st.entries and not st.closed and not st.balances.get("64"):
                st.entries[-1].append(tag)
            # else: statement-level information, not part of any line
        elif name in _CLOSING_TAGS:
            if st.closed:
                result.errors.append(_error(filename, tag, f":{name}:",
                                            f"second closing balance in statement {st.ref!r}, ignored"))
                continue
            st.balances["62"] = tag
        elif name in _AVAILABLE_TAGS:
            st.balances.setdefault("64", tag)
        elif name in _INTERIM_TAGS:
            st.interim = True
            found = _INTERIM_CURRENCY.match(tag.value)
            if found and st.interim_currency is None:
                with contextlib.suppress(MoneyError):
                    st.interim_currency = normalize_currency(found.group(1))
        # :21:, :28:, :28C:, :65:, :34F:, :13D:, :90D:, :90C: carry nothing we store
    if st is not None:
        # Cut in transfer: the last statement has no closing balance and the file stops mid-line (a statement
        # that simply has no :62F: ends with its last line, or with a '-' / '-}' terminator, and loads).
        if not st.closed and "64" not in st.balances and not terminated and not text.endswith(("\n", "\r")):
            where = f"statement {st.ref!r} (:20: at line {st.ref_tag.line_no})"
            raise FileRejected(filename, f"{where} has no closing balance and the file ends mid-line: truncated "
                                         "file", f"line {st.ref_tag.line_no}", ":62F:")
        _close(st, filename, result)
    if not result.statements and not result.rows and not result.errors:
        raise FileRejected(filename, "no MT940 statement (:20: :25: :60F: ... :62F:) found")
    return result
