"""Whole-column fast paths for clean CSV files (millions of rows in seconds, no per-row Python).

A parser first tries these on the whole file; they return None as soon as anything is not perfectly
clean (a bad amount, an unknown currency, a quoted newline that breaks the row -> line mapping, ...),
and the parser then runs its row-by-row path, which names the line and field of every problem.
Both paths give identical records for clean files (tested), so the fast path is only an optimisation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from financeops_pipeline.imports import csvutil
from financeops_pipeline.imports.records import EXCHANGE_RATE_TYPE
from financeops_pipeline.money import CURRENCY_EXPONENTS

_AMOUNT = r"^[+-]?[0-9]{1,15}(\.[0-9]{0,6})?$"
_DAY = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TIME = r"[ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
_OFFSET = r"(Z|[+-][0-9]{2}:[0-9]{2})"
_NAIVE = f"^{_DAY}{_TIME}$"
_AWARE = f"^{_DAY}{_TIME}{_OFFSET}$"
_DATE_TEXT = f"^{_DAY}({_TIME}{_OFFSET}?)?$"
_CODES = pa.array(sorted(CURRENCY_EXPONENTS))
_EXPONENTS = pa.array([CURRENCY_EXPONENTS[c] for c in _CODES.to_pylist()], pa.int64())


def read_strings(data: bytes, header: list[str]) -> pa.Table | None:
    """All columns as non-null strings, or None when rows do not map 1:1 to physical lines (row n = line n+1)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\r" in data or b'"' in data and b'\n"' in data:
        return None   # CR line ends or quoted values spanning lines: the row path handles them
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),   # zero-copy, and the reader's threads need no GIL to read it
            read_options=pacsv.ReadOptions(use_threads=True, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(column_types={name: pa.string() for name in header},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
        return None
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    try:
        names = table.column_names
    except UnicodeDecodeError:   # an invalid byte in the header: the row path names its offset
        return None
    if names != header or table.num_rows != lines - 1 or table.num_rows == 0:
        return None   # blank lines would shift line numbers
    return table


def line_positions(n: int) -> pa.Array:
    """'line 2', 'line 3', ... for n data rows under a one-line header."""
    return pc.binary_join_element_wise("line ", pc.cast(pa.array(np.arange(2, n + 2, dtype=np.int64)), pa.string()),
                                       "")


# What Python's str.strip() removes from ASCII text (the row paths strip with it): Arrow's ASCII trim of exactly
# these is an order of magnitude cheaper than its Unicode trim, which ASCII-only columns do not need.
_ASCII_SPACE = "".join(chr(c) for c in range(128) if chr(c).isspace())


# Bytes a value may not start or end with for str.strip() to be sure to leave it alone: ASCII whitespace, and any
# non-ASCII byte (a multi-byte character there may be Unicode whitespace such as U+00A0).
_MAY_STRIP = np.array([chr(b).isspace() or b >= 0x80 for b in range(256)], dtype=bool)


def _nothing_to_strip(values: pa.ChunkedArray | pa.Array) -> bool:
    """True when no value starts or ends with a byte in _MAY_STRIP, read off the string buffers (two gathers of
    one byte per value instead of a trim that copies the column); False when unsure (nulls, other types)."""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    for chunk in chunks:
        if chunk.type != pa.string() or chunk.null_count:
            return False
        if not len(chunk):
            continue
        _, offsets_buffer, data_buffer = chunk.buffers()
        offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[chunk.offset:chunk.offset + len(chunk) + 1]
        if data_buffer is None or offsets[-1] == offsets[0]:
            continue   # every value empty
        data = np.frombuffer(data_buffer, dtype=np.uint8)
        starts, ends = offsets[:-1], offsets[1:]
        # an empty value reads a neighbour's byte (in bounds): harmless, it only makes the answer more careful
        first = data[np.minimum(starts, len(data) - 1)]
        last = data[np.maximum(ends - 1, 0)]
        if _MAY_STRIP[first].any() or _MAY_STRIP[last].any():
            return False
    return True


def trimmed(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """The values stripped as str.strip() strips them; the very same column when nothing is stripped (the usual
    case: no copy of a 10M-row column stays alive beside the one the CSV reader made)."""
    if _nothing_to_strip(values):
        return values
    if pc.all(pc.string_is_ascii(values)).as_py() is not False:
        out = pc.ascii_trim(values, _ASCII_SPACE)
    else:
        out = pc.utf8_trim_whitespace(values)
    return values if _text_bytes(out) == _text_bytes(values) else out


def _text_bytes(values: pa.ChunkedArray | pa.Array) -> int:
    return pc.sum(pc.binary_length(values)).as_py() or 0


def empty_to_null(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Empty cells as null. The text and offsets stay the column's own: only a validity bitmap is made."""
    empty = pc.equal(values, "")
    if not pc.any(empty).as_py():
        return values
    if not isinstance(values, pa.ChunkedArray):
        values = pa.chunked_array([values])
    if not isinstance(empty, pa.ChunkedArray):
        empty = pa.chunked_array([empty])
    return _null_where(values, empty)


def all_in(values: pa.ChunkedArray, allowed: list[str]) -> bool:
    return pc.index_in(values, value_set=pa.array(allowed)).null_count == 0


def currencies(values: pa.ChunkedArray) -> tuple[pa.ChunkedArray, pa.ChunkedArray] | None:
    """Upper-cased ISO 4217 codes and their exponents, or None if any code is unknown."""
    codes = pc.utf8_upper(trimmed(values))
    index = pc.index_in(codes, value_set=_CODES)
    if index.null_count:
        return None
    return codes, pc.take(_EXPONENTS, index)


def to_minor(values: pa.ChunkedArray, exponents: pa.ChunkedArray,
             empty_is_zero: bool = False) -> pa.ChunkedArray | None:
    """Exact integer minor units of plain decimal text, or None if any value is not exact for its currency
    (or beyond int64). With `empty_is_zero` a blank cell is 0, as `csvutil.optional_amount` reads it."""
    text = trimmed(values)
    if empty_is_zero:
        text = pc.if_else(pc.equal(text, ""), "0", text)
    if not pc.all(pc.match_substring_regex(text, _AMOUNT)).as_py():
        return None
    negative = pc.starts_with(text, "-")
    parts = pc.split_pattern(pc.utf8_ltrim(text, "+-"), ".", max_splits=1)
    whole = pc.cast(pc.list_element(parts, 0), pa.int64())
    fraction = pc.utf8_rtrim(pc.binary_join(pc.list_slice(parts, 1, 2), ""), "0")
    if pc.any(pc.greater(pc.utf8_length(fraction), pc.cast(exponents, pa.int32()))).as_py():
        return None   # more decimals than the currency allows: the row path names the line
    try:   # checked: 15 digits at exponent 4 can pass int64, which the row path refuses
        minor = pc.multiply_checked(whole, pc.power(pa.scalar(10, pa.int64()), exponents))
        for exponent in pc.unique(exponents).to_pylist():
            if exponent:
                digits = pc.cast(pc.utf8_rpad(fraction, width=exponent, padding="0"), pa.int64())
                minor = pc.if_else(pc.equal(exponents, exponent), pc.add_checked(minor, digits), minor)
    except pa.ArrowInvalid:
        return None
    return pc.if_else(negative, pc.negate(minor), minor)


_RATE = r"^[0-9]{1,20}(\.[0-9]{1,18})?$"


def _exchange_rates(values: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """Exact rates of plain decimal text ('' -> null) as EXCHANGE_RATE_TYPE, or None if any value is not a
    plain decimal (the row path, `csvutil.exchange_rate`, names it)."""
    text = trimmed(values)
    present = pc.not_equal(text, "")
    if not pc.all(pc.or_(pc.invert(present), pc.match_substring_regex(text, _RATE))).as_py():
        return None
    try:
        rates = pc.cast(pc.if_else(present, text, "0"), EXCHANGE_RATE_TYPE)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return pc.if_else(present, rates, pa.scalar(None, EXCHANGE_RATE_TYPE))


def column_or_blank(table: pa.Table, name: str | None) -> pa.ChunkedArray:
    """The column `name` of `table`, or empty strings when the report has no such column."""
    if name is not None:
        return table[name]
    return pa.chunked_array([pa.repeat("", table.num_rows)])


def utc_timestamps(values: pa.ChunkedArray, naive_is_utc: bool) -> pa.ChunkedArray | None:
    """ISO 8601 text to timestamp[us, UTC]; naive text is UTC only when `naive_is_utc`. None if any fails."""
    text = trimmed(values)
    try:
        if pc.all(pc.match_substring_regex(text, _AWARE)).as_py():
            return pc.cast(text, pa.timestamp("us", tz="UTC"))
        if naive_is_utc and pc.all(pc.match_substring_regex(text, _NAIVE)).as_py():
            return pc.assume_timezone(pc.cast(text, pa.timestamp("us")), "UTC")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return None


def _local_to_utc(
    values: pa.ChunkedArray, zones: pa.ChunkedArray, zone_of: Callable[[str], tzinfo | None],
) -> tuple[pa.ChunkedArray, pa.ChunkedArray] | None:
    """(UTC timestamp[us], local date32) of naive ISO date-times each read in its row's zone, the way
    `datetime.fromisoformat(text).replace(tzinfo=zone_of(zone)).astimezone(UTC)` reads one.

    `zone_of` maps a zone cell to a tzinfo (None: unknown). Fixed offsets are applied directly; an IANA zone
    goes through Arrow's tz database, refusing ambiguous and non-existent wall times (Python would pick a
    fold for them). None when any value is not plain naive text, any zone is unknown, or a time is ambiguous.
    """
    text = trimmed(values)
    if not pc.all(pc.match_substring_regex(text, _NAIVE)).as_py():
        return None
    try:
        local = pc.cast(text, pa.timestamp("us"))
        day = pc.cast(pc.utf8_slice_codeunits(text, 0, 10), pa.date32())
    except pa.ArrowInvalid:
        return None
    inside = pc.and_(pc.greater(day, pa.scalar(date(1, 1, 1))), pc.less(day, pa.scalar(date(9999, 12, 31))))
    if not pc.all(inside).as_py():
        return None   # Arrow reads year 0, and a shift past year 1 or 9999 is out of datetime's range
    micros = pc.cast(local, pa.int64())
    for name in pc.unique(zones).to_pylist():
        zone = zone_of(name)
        if zone is None:
            return None
        mask = pc.equal(zones, name)
        try:
            if isinstance(zone, ZoneInfo):
                # other zones' rows get a plain midday so their wall times cannot raise here
                mine = pc.if_else(mask, local, pa.scalar(datetime(2000, 1, 15, 12), pa.timestamp("us")))
                shifted = pc.assume_timezone(mine, zone.key, ambiguous="raise", nonexistent="raise")
                micros = pc.if_else(mask, pc.cast(shifted, pa.int64()), micros)
            else:
                offset = zone.utcoffset(None)
                if offset is None:
                    return None
                offset_us = (offset.days * 86400 + offset.seconds) * 1_000_000 + offset.microseconds
                micros = pc.if_else(mask, pc.subtract(micros, offset_us), micros)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    return pc.cast(micros, pa.timestamp("us", tz="UTC")), day


def _dates_as_written(values: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """The date part of date or date-time text as written ('' -> null), or None if any value is invalid."""
    text = trimmed(values)
    present = pc.not_equal(text, "")
    if not pc.all(pc.or_(pc.invert(present), pc.match_substring_regex(text, _DATE_TEXT))).as_py():
        return None
    try:
        day = pc.cast(pc.if_else(present, pc.utf8_slice_codeunits(text, 0, 10), "1970-01-01"), pa.date32())
    except pa.ArrowInvalid:
        return None
    return pc.if_else(present, day, pa.scalar(None, pa.date32()))


def unique_non_empty(values: pa.ChunkedArray) -> bool:
    return pc.all(pc.not_equal(values, "")).as_py() and pc.count_distinct(values).as_py() == len(values)


def json_objects(table: pa.Table, columns: list[str],
                 members: Sequence[pa.Array | pa.ChunkedArray] = ()) -> pa.ChunkedArray | None:
    """JSON object of each row's non-empty cells of `columns` (null when none), the same text as
    json.dumps(..., ensure_ascii=False); None when a value needs escaping beyond quote and backslash.
    `members` are further members already encoded as '"key": value' (null: absent), appended in order."""
    n = table.num_rows
    if not columns and not members:
        return pa.chunked_array([pa.nulls(n, pa.string())])
    if not members:
        few = _json_of_few_combinations(table, columns)
        if few is not None:
            return few
    pieces: list[pa.Array | pa.ChunkedArray] = []
    for name in columns:
        values = table[name]
        escaped = values
        if pc.any(pc.match_substring_regex(values, r'[\x00-\x1f"\\]')).as_py():   # rare: escape, or give up
            if pc.any(pc.match_substring_regex(values, r"[\x00-\x1f]")).as_py():
                return None
            escaped = pc.replace_substring(pc.replace_substring(values, "\\", "\\\\"), '"', '\\"')
        key = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '": "'
        if len(columns) == 1 and not members:   # one column (Stripe's description): the object in one join
            return _null_where(pc.binary_join_element_wise("{" + key, escaped, '"}', ""), pc.equal(values, ""))
        piece = pc.binary_join_element_wise(key, escaped, '"', "")
        pieces.append(pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), piece))
    pieces.extend(members)
    # A leading always-present "" keeps rows whose cells are all empty: Arrow 26 drops rows that are
    # entirely null under null_handling="skip". Its separator is then cut off again.
    body = pc.binary_join_element_wise(pa.repeat("", n), *pieces, ", ", null_handling="skip")
    wrapped = pc.binary_join_element_wise("{", pc.utf8_slice_codeunits(body, 2), "}", "")
    return pc.if_else(pc.equal(body, ""), pa.scalar(None, pa.string()), wrapped)


def _null_where(values: pa.ChunkedArray, blank: pa.ChunkedArray) -> pa.ChunkedArray:
    """`values` (strings without nulls) with nulls where `blank`, chunk for chunk: only a validity bitmap is made
    (if_else would copy every string)."""
    chunks, start = [], 0
    for chunk in values.chunks:
        mask = blank.slice(start, len(chunk)).combine_chunks()
        start += len(chunk)
        if chunk.type != pa.string() or chunk.offset or chunk.null_count or mask.offset or mask.null_count:
            chunks.append(pc.if_else(mask, pa.scalar(None, pa.string()), chunk))
            continue
        valid = pc.invert(mask)
        chunks.append(pa.Array.from_buffers(pa.string(), len(chunk), [valid.buffers()[1], *chunk.buffers()[1:]],
                                            null_count=len(chunk) - (pc.sum(valid).as_py() or 0)))
    return pa.chunked_array(chunks, pa.string())


# Unmodelled columns are mostly a few values (Adyen's Company Account, Payment Method, ...): when every one has at
# most this many, the JSON is written once per combination of values that occurs and taken for each row.
FEW_VALUES = 4096
_SAMPLE_ROWS = 65_536


def _json_of_few_combinations(table: pa.Table, columns: list[str]) -> pa.ChunkedArray | None:
    """`json_objects` of `columns` when each has at most FEW_VALUES distinct values (else None): the distinct
    combinations of values (`_distinct`, as the whole-column checks find theirs) each written by the row path's own
    writer (`csvutil.json_extra_writer`, so the text is the row path's exactly), then taken per row. Hashes each
    column twice instead of joining, slicing and masking whole string columns (a 4M-line Adyen file: ~8 s -> <1 s)."""
    values = [table[name] for name in columns]
    if not values or any(pc.count_distinct(v.slice(0, _SAMPLE_ROWS)).as_py() > FEW_VALUES // 4 for v in values):
        return None   # plainly many values (descriptions, ids): no full hash pass to learn it
    few = _distinct(values, most_distinct=1.0)   # few values per column: combinations are never too many
    if few is None or any(len(pc.unique(d)) > FEW_VALUES for d in few[0]):
        return None
    distinct, rows = few
    write = csvutil.json_extra_writer(columns, range(len(columns)))
    texts = [write(list(combination)) for combination in zip(*(d.to_pylist() for d in distinct), strict=True)]
    return _per_row(pa.array(texts, pa.string()), rows)


# ------------------------------------------------------------------------------------- rows that fail
# A clean column is read whole; a file with some bad records keeps the whole-column path for the others: each
# check below gives a per-row mask instead of a yes/no for the file, the bad rows alone go through the parser's
# row converter (which names the line and field), and the good rows stay Arrow. A check that cannot be made
# per row (a cast that raises on a value its regular expression let through, an int64 overflow) still returns
# None, and the parser then reads the whole file row by row, as before.

def present(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    """Non-empty cells (the text is already trimmed)."""
    return pc.not_equal(values, "")


def all_true(mask: pa.ChunkedArray | pa.Array) -> bool:
    return bool(pc.all(mask).as_py()) if len(mask) else True


def repeats(ids: pa.ChunkedArray) -> pa.ChunkedArray:
    """True where a non-empty id already occurred on an earlier row (the row path refuses the later ones)."""
    if len(ids) > 1 and _ascending(ids):   # ascending (exports often are): no repeats
        return pa.chunked_array([pa.repeat(False, len(ids))])
    first = pc.index_in(ids, value_set=ids)   # the position of each value's first occurrence
    earlier = pc.not_equal(first, pa.array(np.arange(len(ids), dtype=np.int32)))
    return pc.and_(earlier, present(ids))


def _ascending(values: pa.ChunkedArray | pa.Array) -> bool:
    """Strictly ascending, chunk by chunk and across chunk boundaries (no copy of the whole column)."""
    chunks = [c for c in (values.chunks if isinstance(values, pa.ChunkedArray) else [values]) if len(c)]
    for before, after in zip(chunks, chunks[1:], strict=False):
        if not pc.greater(after[0], before[-1]).as_py():
            return False
    return all(pc.all(pc.greater(c[1:], c[:-1])).as_py() is not False for c in chunks if len(c) > 1)


def _currency_mask(values: pa.ChunkedArray) -> tuple[pa.ChunkedArray, pa.ChunkedArray, pa.ChunkedArray]:
    """(upper-cased codes, exponents, known) of currency cells; an unknown code gets exponent 2 and known False."""
    codes = pc.utf8_upper(trimmed(values))
    index = pc.index_in(codes, value_set=_CODES)
    known = pc.is_valid(index)
    exponents = pc.take(_EXPONENTS, pc.fill_null(index, _CODES.to_pylist().index("USD")))
    return codes, exponents, known


def _to_minor_mask(values: pa.ChunkedArray, exponents: pa.ChunkedArray, empty_is_zero: bool = False
                  ) -> tuple[pa.ChunkedArray, pa.ChunkedArray] | None:
    """(minor units, exact) of decimal text per row: a value that is not plain decimal text or has more
    decimals than its currency is 0 and not exact. None on an int64 overflow (the row path names it).

    Per exponent, a regular expression admits exactly the texts with at most that many significant decimals
    (trailing zeros beyond them, up to 6 decimals in all), and Arrow's exact decimal cast reads them; the
    decimal's value times 10^exponent is the integer of minor units (never a float)."""
    if empty_is_zero and not pc.sum(pc.binary_length(values)).as_py():   # an unused amount column: all 0
        return (pa.chunked_array([pa.repeat(pa.scalar(0, pa.int64()), len(values))]),
                pa.chunked_array([pa.repeat(True, len(values))]))
    text = trimmed(values)
    if empty_is_zero:
        text = pc.if_else(pc.equal(text, ""), "0", text)
    minor: pa.ChunkedArray | None = None
    exact: pa.ChunkedArray | None = None
    present_exponents = pc.unique(exponents).to_pylist()
    for exponent in present_exponents:
        mine = pc.equal(exponents, exponent) if len(present_exponents) > 1 else None
        fits = pc.match_substring_regex(
            text, rf"^[+-]?[0-9]{{1,15}}(\.[0-9]{{0,{exponent}}}0{{0,{max(6 - exponent, 0)}}})?$")
        if mine is not None:
            fits = pc.and_(mine, fits)
        try:
            decimals = pc.cast(pc.if_else(fits, text, "0"), pa.decimal128(15 + exponent, exponent))
            scaled = pc.multiply(decimals, pa.scalar(Decimal(10**exponent), pa.decimal128(exponent + 1, 0)))
            value = pc.cast(scaled, pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        minor = value if minor is None else pc.if_else(mine, value, minor)
        exact = fits if exact is None else pc.or_(exact, fits)
    if minor is None or exact is None:   # no rows
        return pa.chunked_array([], pa.int64()), pa.chunked_array([], pa.bool_())
    return minor, exact


_PLACEHOLDER_AWARE = "2000-01-01T00:00:00+00:00"
_PLACEHOLDER_NAIVE = "2000-01-01 00:00:00"


def _timestamp_mask(values: pa.ChunkedArray, naive_is_utc: bool
                   ) -> tuple[pa.ChunkedArray, pa.ChunkedArray] | None:
    """(timestamp[us, UTC], readable) of ISO 8601 text per row, naive text being UTC only when `naive_is_utc`;
    None when a value of the right shape still does not cast (e.g. month 13: rare, the row path names it)."""
    text = trimmed(values)
    aware = pc.match_substring_regex(text, _AWARE)
    try:
        stamps = pc.cast(pc.if_else(aware, text, _PLACEHOLDER_AWARE), pa.timestamp("us", tz="UTC"))
        if not naive_is_utc:
            return stamps, aware
        naive = pc.match_substring_regex(text, _NAIVE)
        if pc.any(naive).as_py():
            local = pc.assume_timezone(pc.cast(pc.if_else(naive, text, _PLACEHOLDER_NAIVE), pa.timestamp("us")),
                                       "UTC")
            stamps = pc.if_else(naive, local, stamps)
        return stamps, pc.or_(aware, naive)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def bad_lines(data: bytes, rows: pa.Array | pa.ChunkedArray) -> list[tuple[int, str]] | None:
    """(physical line, raw text) of the given 0-based data rows of a file `read_strings` read (row n = line n+2),
    or None if a line is not UTF-8."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    ends = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    out = []
    for row in (rows.to_pylist() if len(rows) else []):
        line = row + 2
        begin = int(ends[line - 2]) + 1
        end = int(ends[line - 1]) if line - 1 < len(ends) else len(data)
        try:
            out.append((line, data[begin:end].decode("utf-8")))
        except UnicodeDecodeError:
            return None
    return out


def good_and_bad(table: pa.Table, ok: pa.ChunkedArray | pa.Array) -> tuple[pa.Table, pa.Array]:
    """The rows of `table` where `ok`, and the 0-based indices of the others."""
    if all_true(ok):
        return table, pa.array([], pa.int64())
    return table.filter(ok), pc.indices_nonzero(pc.invert(ok))


def merge_by_line(good: pa.Table, good_rows: pa.Array, late: pa.Table, late_lines: list[int]) -> pa.Table:
    """Good rows (0-based data rows `good_rows`) and rows the row converter accepted (at `late_lines`), in
    file order."""
    if not late.num_rows:
        return good
    order = pc.sort_indices(pa.concat_arrays([pc.add(good_rows, 2).cast(pa.int64()),
                                              pa.array(late_lines, pa.int64())]))
    return pa.concat_tables([good, late.cast(good.schema)]).take(order)


# ------------------------------------------------------------------------------------- once per distinct value
# Amounts, times, dates, currencies and zones repeat: a 4M-line file has ~100k distinct amounts and ~86k distinct
# times. The checks and conversions below are elementwise, so each is computed once per distinct value (or
# combination of values, e.g. amount and exponent) and taken back per row: one hash pass instead of a regular
# expression, an exact decimal cast and a few masks over every row. The results are the same arrays by construction.

def _distinct(columns: Sequence[pa.ChunkedArray | pa.Array], most_distinct: float = 0.75
              ) -> tuple[list[pa.ChunkedArray], pa.Array] | None:
    """(the distinct rows of `columns`, as columns, and each row's index into them), or None when they are nearly
    all distinct (more than `most_distinct` of a 64k-row sample of the first column: ids, descriptions; a whole file
    repeats more than its first rows), have nulls, or do not fit one array. A column after the first with one value (one
    currency's exponent) is not encoded: its value is repeated beside the others' distinct rows."""
    n = len(columns[0])
    if not n or any(c.null_count for c in columns):
        return None
    sample = min(n, _SAMPLE_ROWS)
    if pc.count_distinct(columns[0].slice(0, sample)).as_py() > sample * most_distinct:
        return None
    constant: dict[int, pa.Scalar] = {}
    for i, column in enumerate(columns[1:], 1):
        bounds = pc.min_max(column)
        if bounds["min"] == bounds["max"]:
            constant[i] = bounds["min"]
    encoded_columns = [c for i, c in enumerate(columns) if i not in constant]
    dictionaries: list[pa.Array] = []
    codes: pa.Array | None = None
    width = 1
    try:
        for column in encoded_columns:
            encoded = pc.dictionary_encode(column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column)
            dictionaries.append(encoded.dictionary)
            width *= max(len(encoded.dictionary), 1)
            if width >= 2**62:
                return None
            if len(encoded_columns) > 1:
                index = pc.cast(encoded.indices, pa.int64())
                codes = index if codes is None else pc.add(pc.multiply(codes, len(encoded.dictionary)), index)
    except pa.ArrowInvalid:   # e.g. more than 2 GiB of text in one column
        return None
    if len(dictionaries) == 1:
        rows = encoded.indices
        distinct = dictionaries
    else:
        unique = pc.unique(codes)
        rows = pc.index_in(codes, value_set=unique)
        left = unique.to_numpy()
        distinct = []
        for dictionary in reversed(dictionaries):
            distinct.append(pc.take(dictionary, pa.array(left % len(dictionary))))
            left = left // len(dictionary)
        distinct.reverse()
    for i in sorted(constant):
        distinct.insert(i, pa.repeat(constant[i], len(distinct[0])))
    return [pa.chunked_array([d]) for d in distinct], rows


def _per_row(result: pa.ChunkedArray | pa.Array, rows: pa.Array) -> pa.ChunkedArray:
    flat = result.combine_chunks() if isinstance(result, pa.ChunkedArray) else result
    return pa.chunked_array([pc.take(flat, rows)])


def _once_per_distinct(function: Callable[..., object], columns: Sequence[pa.ChunkedArray | pa.Array],
                       *args: object) -> object:
    """function(*columns, *args), computed on the distinct rows of `columns` when they are few (see above); the
    function must be elementwise in `columns` (None, or a column or tuple of columns of their length)."""
    few = _distinct(columns)
    if few is None:
        return function(*columns, *args)
    distinct, rows = few
    out = function(*distinct, *args)
    if out is None:
        return None
    if isinstance(out, tuple):
        return tuple(_per_row(o, rows) for o in out)
    return _per_row(out, rows)


def to_minor_mask(values: pa.ChunkedArray, exponents: pa.ChunkedArray, empty_is_zero: bool = False
                  ) -> tuple[pa.ChunkedArray, pa.ChunkedArray] | None:
    """`_to_minor_mask`, once per distinct (text, exponent)."""
    return _once_per_distinct(_to_minor_mask, [values, exponents], empty_is_zero)   # type: ignore[return-value]


def timestamp_mask(values: pa.ChunkedArray, naive_is_utc: bool) -> tuple[pa.ChunkedArray, pa.ChunkedArray] | None:
    """`_timestamp_mask`, once per distinct text."""
    return _once_per_distinct(_timestamp_mask, [values], naive_is_utc)   # type: ignore[return-value]


def currency_mask(values: pa.ChunkedArray) -> tuple[pa.ChunkedArray, pa.ChunkedArray, pa.ChunkedArray]:
    """`_currency_mask`, once per distinct text."""
    return _once_per_distinct(_currency_mask, [values])   # type: ignore[return-value]


def local_to_utc(values: pa.ChunkedArray, zones: pa.ChunkedArray, zone_of: Callable[[str], tzinfo | None]
                 ) -> tuple[pa.ChunkedArray, pa.ChunkedArray] | None:
    """`_local_to_utc`, once per distinct (text, zone)."""
    return _once_per_distinct(_local_to_utc, [values, zones], zone_of)   # type: ignore[return-value]


def dates_as_written(values: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """`_dates_as_written`, once per distinct text."""
    return _once_per_distinct(_dates_as_written, [values])   # type: ignore[return-value]


def exchange_rates(values: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """`_exchange_rates`, once per distinct text."""
    return _once_per_distinct(_exchange_rates, [values])   # type: ignore[return-value]
