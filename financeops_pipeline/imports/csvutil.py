"""Shared CSV machinery for the processor and internal-export parsers.

Written once and used by `stripe`, `adyen` and `internal`:

* `decode`: bytes to text (UTF-8, BOM allowed); anything else is a `FileRejected` naming the byte offset.
* `open_csv` / `column_index`: read the header, refuse duplicate names and name *all* missing columns.
* `run_rows`: the row loop. A row converter raises `FieldError(field, message)` for a bad value; the loop
  turns it (or any other exception from that one row) into a `RecordError` carrying the file, the
  1-based physical line (header = line 1), the field and the raw CSV text of the record, and goes on.
* `amount_minor`: exact major-unit text to integer minor units with a Decimal-free fast path for plain
  '123.45' strings, identical to `money.to_minor` (tested with hypothesis), plus an int64 range check.
* `sniff_header`: the column names of the first line of a CSV, for the `sniff` functions.

Nothing here imports Dagster; nothing here ever turns an amount into a float.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from financeops_pipeline.errors import FieldError, FileRejected, RecordError
from financeops_pipeline.money import CURRENCY_EXPONENTS, MoneyError, to_minor

INT64_MAX = 2**63 - 1
_POW10 = [10**i for i in range(10)]
# csv's own default (131072) would make a single stray quote reject a big file; a real field is far smaller.
csv.field_size_limit(16 * 1024 * 1024)


# --------------------------------------------------------------------------------------------- decoding
def decode(data: bytes, filename: str) -> str:
    """UTF-8 text of `data` (a leading BOM is dropped); undecodable bytes reject the file with the offset."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise FileRejected(filename, f"expected bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise FileRejected(filename, "empty file")
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bom = 3 if bytes(data[:3]) == b"\xef\xbb\xbf" else 0
        offset = exc.start + bom
        raise FileRejected(
            filename,
            f"not valid UTF-8: byte 0x{data[offset]:02x} at byte offset {offset} ({exc.reason})",
            position=f"byte {offset}",
        ) from None
    if not text.strip():
        raise FileRejected(filename, "empty file")
    return text


# ------------------------------------------------------------------------------------------------ header
class CsvFile:
    """A decoded CSV: its header, and a reader positioned on the first data record."""

    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename
        self.reader = csv.reader(io.StringIO(text, newline=""))
        self.header_line = 0
        header: list[str] | None = None
        try:
            for fields in self.reader:
                if any(f.strip() for f in fields):
                    header = [f.strip() for f in fields]
                    break
        except csv.Error as exc:
            raise FileRejected(filename, f"unreadable CSV header: {exc}", position="line 1") from None
        if header is None:
            raise FileRejected(filename, "empty file: no header line")
        self.header_line = self.reader.line_num
        self.header = header
        seen: set[str] = set()
        dups = []
        for name in header:
            if name in seen and name not in dups:
                dups.append(name)
            seen.add(name)
        if dups:
            raise FileRejected(
                filename, "duplicate column(s): " + ", ".join(map(repr, dups)),
                position=f"line {self.header_line}", field=dups[0],
            )
        self.index = {name: i for i, name in enumerate(header)}
        self._line_starts: list[int] | None = None

    def require(self, required: Sequence[str], what: str) -> None:
        """FileRejected naming every required column that is absent."""
        missing = [c for c in required if c not in self.index]
        if missing:
            raise FileRejected(
                self.filename,
                f"not a {what}: missing required column(s) " + ", ".join(repr(c) for c in missing),
                position=f"line {self.header_line}",
                field=missing[0],
            )

    def raw_lines(self, first: int, last: int) -> str:
        """Raw text of physical lines first..last (1-based, inclusive), without the final line break.

        Only called for a bad record, so the line index is built lazily on the first error.
        """
        if self._line_starts is None:
            starts = [0]
            starts.extend(m.end() for m in re.finditer(r"\r\n|\r|\n", self.text))
            self._line_starts = starts
        starts = self._line_starts
        begin = starts[first - 1] if first - 1 < len(starts) else len(self.text)
        end = starts[last] if last < len(starts) else len(self.text)
        return self.text[begin:end].rstrip("\r\n")


def open_csv(data: bytes, filename: str, required: Sequence[str], what: str) -> CsvFile:
    """Decode, read the header and check the required columns."""
    f = CsvFile(decode(data, filename), filename)
    f.require(required, what)
    return f


def run_rows(
    f: CsvFile,
    convert: Callable[[list[str], int], dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[RecordError]]:
    """Convert every data record; a bad record becomes a RecordError and the loop goes on.

    `convert(fields, line_no)` gets the record's fields (exactly as many as header columns) and its first
    physical line. Blank records and records whose fields are all empty are skipped. A record with too many
    or too few fields is an error, except that trailing empty fields beyond the header are tolerated.
    """
    rows: list[dict[str, Any]] = []
    errors: list[RecordError] = []
    reader = f.reader
    filename = f.filename
    ncols = len(f.header)
    last = f.header_line
    append = rows.append
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. an unterminated quote swallowing the rest of the file
            raise FileRejected(filename, f"unreadable CSV: {exc}", position=f"line {last + 1}") from None
        first = last + 1
        last = reader.line_num
        if len(fields) != ncols:
            if not fields or not any(fields):
                continue
            if len(fields) > ncols and not any(fields[ncols:]):
                fields = fields[:ncols]
            else:
                errors.append(RecordError(
                    file=filename, position=f"line {first}", field="-",
                    message=f"expected {ncols} fields as in the header, got {len(fields)}",
                    raw=f.raw_lines(first, last),
                ))
                continue
        try:
            append(convert(fields, first))
        except Exception as exc:  # noqa: BLE001 - one bad record must not lose the others
            errors.append(record_error(filename, f"line {first}", exc, f.raw_lines(first, last)))
    return rows, errors


def run_lines(
    lines: Iterable[tuple[int, str]],
    ncols: int,
    convert: Callable[[list[str], int], dict[str, Any]],
    filename: str,
) -> tuple[list[tuple[int, dict[str, Any]]], list[RecordError]] | None:
    """`run_rows` for chosen records of a file whose records are one physical line each (the rows a whole-column
    fast path found bad): the same field-count rules, converter and errors. Returns the accepted rows with their
    line numbers; None when a line is not one CSV record (the caller then reads the whole file row by row)."""
    rows: list[tuple[int, dict[str, Any]]] = []
    errors: list[RecordError] = []
    for line, raw in lines:
        try:
            records = list(csv.reader([raw]))
        except csv.Error:
            return None
        if len(records) > 1:
            return None
        fields = records[0] if records else []
        if len(fields) != ncols:
            if not fields or not any(fields):
                continue
            if len(fields) > ncols and not any(fields[ncols:]):
                fields = fields[:ncols]
            else:
                errors.append(RecordError(file=filename, position=f"line {line}", field="-",
                                          message=f"expected {ncols} fields as in the header, got {len(fields)}",
                                          raw=raw))
                continue
        try:
            rows.append((line, convert(fields, line)))
        except Exception as exc:  # noqa: BLE001 - one bad record must not lose the others
            errors.append(record_error(filename, f"line {line}", exc, raw))
    return rows, errors


def record_error(filename: str, position: str, exc: Exception, raw: str) -> RecordError:
    """The RecordError for an exception raised while converting one record."""
    if isinstance(exc, FieldError):
        return RecordError(file=filename, position=position, field=exc.field, message=exc.message, raw=raw)
    return RecordError(
        file=filename, position=position, field="-", raw=raw,
        message=f"unexpected {type(exc).__name__}: {exc}",
    )


def run_values(
    records: Iterable[list[str]],
    convert: Callable[[list[str], int], dict[str, Any]],
    filename: str,
    names: Sequence[str],
    unit: str = "row",
) -> tuple[list[dict[str, Any]], list[RecordError]]:
    """The same loop for records that are not CSV lines (Parquet rows): positions are '<unit> N', 1-based,
    and the raw text of a bad record is a JSON object of its values."""
    rows: list[dict[str, Any]] = []
    errors: list[RecordError] = []
    for n, fields in enumerate(records, 1):
        try:
            rows.append(convert(fields, n))
        except Exception as exc:  # noqa: BLE001 - one bad record must not lose the others
            raw = json.dumps(dict(zip(names, fields, strict=False)), ensure_ascii=False, default=str)
            errors.append(record_error(filename, f"{unit} {n}", exc, raw))
    return rows, errors


# ------------------------------------------------------------------------------------------- header names
def header_key(name: str) -> str:
    """One spelling of a column name: 'Gross Debit (GC)', 'gross debit (gc)' and ' Gross  Debit (GC)' are
    the same column (reports are mapped by header name, never by position)."""
    return re.sub(r"[^0-9a-z\[\]]+", " ", name.casefold()).strip()


def find_columns(header: Sequence[str], wanted: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """{canonical name: the header's own spelling} for every wanted column present; a canonical name's
    aliases are tried in order, so the first alias present wins."""
    by_key: dict[str, str] = {}
    for name in header:
        by_key.setdefault(header_key(name), name)
    found: dict[str, str] = {}
    for canonical, aliases in wanted.items():
        for alias in (canonical, *aliases):
            actual = by_key.get(header_key(alias))
            if actual is not None:
                found[canonical] = actual
                break
    return found


def require_columns(f: CsvFile, found: Mapping[str, str], required: Sequence[str], what: str) -> None:
    """FileRejected naming every required (canonical) column absent from `found`."""
    missing = [c for c in required if c not in found]
    if missing:
        raise FileRejected(
            f.filename, f"not a {what}: missing required column(s) " + ", ".join(repr(c) for c in missing),
            position=f"line {f.header_line}", field=missing[0],
        )


# ------------------------------------------------------------------------------------------ exchange rates
_RATE = re.compile(r"\+?([0-9]{1,20}(\.[0-9]{0,18})?|\.[0-9]{1,18})")


def exchange_rate(text: str, field: str) -> Decimal | None:
    """The exact rate of a cell ('1', '0.9123', '1.08660000'), None when empty; FieldError for anything that
    is not a plain non-negative decimal of at most 20 + 18 digits (EXCHANGE_RATE_TYPE), never rounded."""
    text = text.strip()
    if not text:
        return None
    if not _RATE.fullmatch(text):
        raise FieldError(field, f"unparseable exchange rate {text!r} (plain decimal, at most 18 decimals)")
    return Decimal(text)


# ------------------------------------------------------------------------------------ localized amounts
def decimal_mark(values: Iterable[str]) -> str:
    """The decimal mark of a column of amounts written with separators: ',' when some value ends in a comma
    and one or two digits with no point in it ('1.653,75', '-50,00'), or has both marks with the comma last;
    '.' otherwise (PayPal's '1,653.75', and every plain amount)."""
    for text in values:
        comma, point = text.rfind(","), text.rfind(".")
        if comma > point and (point >= 0 or re.search(r",[0-9]{1,2}\s*-?\)?$", text)):
            return ","
        if point > comma >= 0:
            return "."
    return "."


def plain_amount(text: str, decimal: str = ".", thousands: str = ",") -> str:
    """Plain decimal text of an amount written with a decimal mark and thousands separators: '1,653.75' ->
    '1653.75'; with decimal ',' '+31070,11' -> '31070.11', '1.653,75' -> '1653.75'; a trailing minus or
    parentheses mean negative ('50,00-', '(50.00)'). Grouping must be regular (1-3 digits, then groups of 3);
    text that is not such an amount comes back stripped, so `amount_minor` names it as unparseable."""
    t = text.strip().replace("\u00a0", " ")
    negative = False
    if t.startswith("(") and t.endswith(")"):
        t, negative = t[1:-1].strip(), True
    if t.endswith("-") and not t.startswith(("-", "+")):
        t, negative = t[:-1].strip(), True
    sign = ""
    if t[:1] in "+-":
        sign, t = ("-" if t[0] == "-" else ""), t[1:].strip()
    whole, mark, fraction = t.partition(decimal) if decimal else (t, "", "")
    if thousands and thousands in whole:
        groups = whole.split(thousands)
        if not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
            return text.strip()
        whole = "".join(groups)
    if negative:
        sign = "" if sign == "-" else "-"
    return f"{sign}{whole}{'.' if mark else ''}{fraction}"


# ------------------------------------------------------------------------------------------------- sniff
def sniff_header(data: bytes, limit: int = 65536) -> list[str] | None:
    """Column names of the first non-blank line of `data` read as CSV, or None if it is not CSV text."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or not data:
        return None
    head = bytes(data[:limit])
    text = head.decode("utf-8-sig", errors="replace")
    if "\x00" in text:
        return None
    try:
        for fields in csv.reader(io.StringIO(text, newline="")):
            if any(f.strip() for f in fields):
                return [f.strip() for f in fields]
    except csv.Error:
        return None
    return None


# ------------------------------------------------------------------------------------------------ values
_CURRENCIES: dict[str, tuple[str, int]] = {}


def currency_of(text: str, field: str) -> tuple[str, int]:
    """(ISO code, exponent) for a currency cell such as 'usd' or ' EUR'; FieldError if unknown."""
    hit = _CURRENCIES.get(text)
    if hit is not None:
        return hit
    code = text.strip().upper()
    exponent = CURRENCY_EXPONENTS.get(code)
    if exponent is None:
        raise FieldError(field, f"unknown currency {text!r}")
    if len(_CURRENCIES) < 10_000:
        _CURRENCIES[text] = (code, exponent)
    return code, exponent


def _fast_path(text: str, exponent: int) -> int | None:
    """Minor units of plain '[-]digits[.digits]' text with at most `exponent` decimals, else None.

    ASCII digits only: str.isdigit alone would accept '²' and int() would accept '1_000'.
    """
    neg = text[:1] == "-"
    body = text[1:] if neg else text
    intpart, dot, frac = body.partition(".")
    if intpart.isdigit() and intpart.isascii() and len(intpart) <= 19:
        if not dot:
            value = int(intpart) * _POW10[exponent]
            return -value if neg else value
        n = len(frac)
        if 0 < n <= exponent and frac.isdigit() and frac.isascii():
            value = int(intpart) * _POW10[exponent] + int(frac) * _POW10[exponent - n]
            return -value if neg else value
    return None


def fast_minor(text: str, exponent: int, currency: str) -> int:
    """Exactly `money.to_minor(text, currency)` (same value, same MoneyError); no Decimal for plain text."""
    value = _fast_path(text, exponent)
    return to_minor(text, currency) if value is None or abs(value) > INT64_MAX else value


def amount_minor(text: str, exponent: int, currency: str, field: str) -> int:
    """Minor units of a major-unit amount cell, as int64; FieldError(field) if unparseable or out of range."""
    value = _fast_path(text, exponent)
    if value is None:
        value = _checked_to_minor(text, exponent, currency, field)
    if not -INT64_MAX <= value <= INT64_MAX:
        raise FieldError(field, f"amount {text!r} out of range")
    return value


def _checked_to_minor(text: str, exponent: int, currency: str, field: str) -> int:
    """`money.to_minor` (strict: plain ASCII decimals, no rounding, int64 range) as a FieldError of `field`."""
    try:
        return to_minor(text.strip(), currency)
    except MoneyError as exc:
        raise FieldError(field, str(exc)) from None


AMOUNT_CACHE_LIMIT = 200_000


def amount_reader() -> Callable[[str, int, str, str], int]:
    """`amount_minor` with a per-file cache of the texts already converted (prices and fees repeat a lot).

    Only successful conversions are cached, keyed by (exponent, text), so a cached value is exactly what
    `amount_minor` would return again.
    """
    caches: dict[int, dict[str, int]] = {}

    def read(text: str, exponent: int, currency: str, field: str) -> int:
        cache = caches.get(exponent)
        if cache is None:
            cache = caches[exponent] = {}
        value = cache.get(text)
        if value is None:
            value = amount_minor(text, exponent, currency, field)
            if len(cache) < AMOUNT_CACHE_LIMIT:
                cache[text] = value
        return value

    return read


def optional_amount(text: str, exponent: int, currency: str, field: str) -> int:
    """Like amount_minor, but an empty cell is 0 (Adyen leaves unused debit/credit/fee cells empty)."""
    if not text or not text.strip():
        return 0
    return amount_minor(text, exponent, currency, field)


def naive_utc_datetime(text: str, field: str) -> datetime:
    """utc_datetime(text, field, naive_is_utc=True), fast for the common naive 'YYYY-MM-DD HH:MM:SS'.

    Appending '+00:00' and letting the C parser do the rest is ~6x cheaper than .replace(tzinfo=UTC); text
    that already has an offset (or anything else unusual) fails that parse and takes the general path.
    """
    try:
        return _fromisoformat(text + "+00:00")
    except ValueError:
        return utc_datetime(text, field, naive_is_utc=True)


def aware_utc_datetime(text: str, field: str) -> datetime:
    """utc_datetime(text, field, naive_is_utc=False): ISO 8601 with an offset, as UTC."""
    try:
        value = _fromisoformat(text)
    except ValueError:
        return utc_datetime(text, field, naive_is_utc=False)
    offset = value.utcoffset()
    if offset is None:
        raise FieldError(field, f"date-time {text!r} has no UTC offset")
    return value if value.tzinfo is UTC else value.astimezone(UTC)


_fromisoformat = datetime.fromisoformat


def utc_datetime(text: str, field: str, naive_is_utc: bool) -> datetime:
    """Timezone-aware UTC datetime from ISO 8601 text ('2020-01-23 08:26:29', '...T..+02:00', '...Z').

    A naive value is taken as UTC when `naive_is_utc`, else it is a FieldError.
    """
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise FieldError(field, f"unparseable date-time {text!r}") from None
    if value.tzinfo is None:
        if not naive_is_utc:
            raise FieldError(field, f"date-time {text!r} has no UTC offset")
        return value.replace(tzinfo=UTC)
    if value.utcoffset() is None:
        raise FieldError(field, f"date-time {text!r} has no usable UTC offset")
    return value.astimezone(UTC)


_DATES: dict[str, date] = {}


def date_part(text: str, field: str) -> date | None:
    """Calendar date of '2020-01-27', '2020-01-27 00:00:00' or an ISO date-time as written; None if empty."""
    hit = _DATES.get(text)
    if hit is not None:
        return hit
    stripped = text.strip()
    if not stripped:
        return None
    try:
        value = date.fromisoformat(stripped) if len(stripped) == 10 else datetime.fromisoformat(stripped).date()
    except ValueError:
        raise FieldError(field, f"unparseable date {text!r}") from None
    if len(_DATES) < 100_000:
        _DATES[text] = value
    return value


def json_extra_writer(header: Sequence[str], indices: Iterable[int]) -> Callable[[Sequence[str]], str | None]:
    """A function giving the JSON object {column: raw text} of a record's non-empty unmodelled cells, or None
    when there are none. Same text as json.dumps(..., ensure_ascii=False), built without a dict per row."""
    items = [(i, encode_basestring(header[i]) + ": ") for i in indices]

    def write(fields: Sequence[str]) -> str | None:
        parts = [key + encode_basestring(fields[i]) for i, key in items if fields[i]]
        return "{" + ", ".join(parts) + "}" if parts else None

    return write
