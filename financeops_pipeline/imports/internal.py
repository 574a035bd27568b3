"""The company's own transaction export, as CSV ('internal_csv') or Parquet ('internal_parquet').

Required columns: transaction_id, created_at, type, amount, currency, processor, processor_reference,
customer_id, description (others are ignored).

* transaction_id: non-empty and unique within the file; a repeat is a RecordError on the later record (it
  stays claimed even when its first record was bad, so a duplicate is never silently accepted).
* created_at: ISO 8601 with a UTC offset ('2026-11-02T09:15:00+01:00', '...Z'); a naive value is an error.
* type: payment | refund | chargeback; processor: one of records.PROCESSORS (both compared after strip +
  lower-case).
* amount: positive decimal in major units of `currency` (ISO 4217); zero or negative is an error.
* customer_id, description: free text, empty -> null.

Parquet: every column is read as text except created_at, which may be a string or a timestamp WITH a time
zone (a naive timestamp column rejects the file: it is a property of the whole column), and amount, which
must be decimal or string (a float column rejects the file: floats are not exact money). Positions are
"row N" (1-based) for Parquet, "line N" (physical line, header = line 1) for CSV.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from financeops_pipeline.errors import FieldError, FileRejected
from financeops_pipeline.imports import columnar, csvutil
from financeops_pipeline.imports.records import INTERNAL_TRANSACTION_SCHEMA, ParsedFile, to_table
from financeops_pipeline.imports.records import PROCESSORS as ALL_PROCESSORS

REQUIRED = (
    "transaction_id", "created_at", "type", "amount", "currency", "processor", "processor_reference",
    "customer_id", "description",
)
SNIFF_COLUMNS = frozenset({"transaction_id", "processor_reference", "amount"})
TYPES = frozenset({"payment", "refund", "chargeback"})
PROCESSORS = frozenset(ALL_PROCESSORS)
PARQUET_MAGIC = b"PAR1"
_TYPES = pa.array(sorted(TYPES))
_PROCESSORS = pa.array(sorted(PROCESSORS))


def _converter(
    ix: dict[str, int], unit: str, created_is_datetime: bool = False,
    is_repeat: Callable[[str, int], bool] | None = None,
) -> Callable[[list[Any], int], dict[str, Any]]:
    """Row converter over positional fields (indices from `ix`); keeps the seen transaction ids, or asks
    `is_repeat(id, position)` whether an earlier record had the id (the fast path's bad rows: it saw them all)."""
    i_id, i_created, i_type, i_amount = ix["transaction_id"], ix["created_at"], ix["type"], ix["amount"]
    i_cur, i_proc, i_ref = ix["currency"], ix["processor"], ix["processor_reference"]
    i_cust, i_desc = ix["customer_id"], ix["description"]
    seen: set[str] = set()
    amount_minor = csvutil.amount_reader()
    currency_of = csvutil.currency_of
    utc_datetime = csvutil.aware_utc_datetime

    def convert(r: list[Any], n: int) -> dict[str, Any]:
        tid = r[i_id].strip()
        if not tid:
            raise FieldError("transaction_id", "empty transaction_id")
        if (tid in seen) if is_repeat is None else is_repeat(tid, n):
            raise FieldError("transaction_id", f"duplicate transaction_id {tid!r}")
        seen.add(tid)
        if created_is_datetime:
            created_at = r[i_created]
            if created_at is None:
                raise FieldError("created_at", "empty created_at")
        else:
            created_at = utc_datetime(r[i_created], "created_at")
        typ = r[i_type].strip().lower()
        if typ not in TYPES:
            raise FieldError("type", f"type {r[i_type]!r} is not one of payment, refund, chargeback")
        code, exp = currency_of(r[i_cur], "currency")
        amount = amount_minor(r[i_amount], exp, code, "amount")
        if amount <= 0:
            raise FieldError("amount", f"amount {r[i_amount]!r} must be positive")
        processor = r[i_proc].strip().lower()
        if processor not in PROCESSORS:
            raise FieldError("processor", f"processor {r[i_proc]!r} is not one of {', '.join(ALL_PROCESSORS)}")
        ref = r[i_ref].strip()
        if not ref:
            raise FieldError("processor_reference", "empty processor_reference")
        return {
            "transaction_id": tid,
            "created_at": created_at,
            "type": typ,
            "amount_minor": amount,
            "currency": code,
            "processor": processor,
            "processor_reference": ref,
            "customer_id": r[i_cust].strip() or None,
            "description": r[i_desc] or None,
            "source_position": f"{unit} {n}",
        }

    return convert


# ------------------------------------------------------------------------------------------------ CSV
def sniff_csv(data: bytes) -> bool:
    """A CSV whose header has transaction_id, processor_reference and amount."""
    header = csvutil.sniff_header(data)
    return bool(header) and set(header or ()) >= SNIFF_COLUMNS


def _parse_csv_columnar(data: bytes, filename: str) -> ParsedFile | None:
    """The whole-column path (None: let the row path read the file). Rows that fail a check go through the row
    converter alone, which names their line and field; the others stay whole columns."""
    header = csvutil.sniff_header(data)
    if not header or not set(REQUIRED) <= set(header) or len(set(header)) != len(header):
        return None
    t = columnar.read_strings(data, header)
    if t is None:
        return None
    ids = columnar.trimmed(t["transaction_id"])
    repeated = columnar.repeats(ids)
    created = columnar.timestamp_mask(t["created_at"], naive_is_utc=False)
    types = pc.utf8_lower(columnar.trimmed(t["type"]))
    processors = pc.utf8_lower(columnar.trimmed(t["processor"]))
    refs = columnar.trimmed(t["processor_reference"])
    codes, exponents, known = columnar.currency_mask(t["currency"])
    amounts = columnar.to_minor_mask(t["amount"], exponents)
    if created is None or amounts is None:
        return None
    ok = pc.and_(pc.and_(pc.and_(columnar.present(ids), pc.invert(repeated)), created[1]),
                 pc.and_(pc.and_(pc.is_in(types, value_set=_TYPES), pc.is_in(processors, value_set=_PROCESSORS)),
                         pc.and_(pc.and_(columnar.present(refs), known),
                                 pc.and_(amounts[1], pc.greater(amounts[0], 0)))))
    table = pa.table({
        "transaction_id": ids, "created_at": created[0], "type": types, "amount_minor": amounts[0],
        "currency": codes, "processor": processors, "processor_reference": refs,
        "customer_id": columnar.empty_to_null(columnar.trimmed(t["customer_id"])),
        "description": columnar.empty_to_null(t["description"]),
        "source_position": columnar.line_positions(t.num_rows),
    }, schema=INTERNAL_TRANSACTION_SCHEMA)
    good, bad = columnar.good_and_bad(table, ok)
    if not len(bad):
        return ParsedFile(format="internal_csv", source="internal", table=table)
    lines = columnar.bad_lines(data, bad)
    if lines is None:
        return None
    repeat_at = dict(zip(pc.add(bad, 2).to_pylist(), pc.take(repeated, bad).to_pylist(), strict=True))
    convert = _converter({name: i for i, name in enumerate(header)}, "line",
                         is_repeat=lambda _tid, line: repeat_at[line])
    slow = csvutil.run_lines(lines, len(header), convert, filename)
    if slow is None:
        return None
    late, errors = slow
    table = columnar.merge_by_line(good, pc.indices_nonzero(ok), to_table([r for _, r in late],
                                                                          INTERNAL_TRANSACTION_SCHEMA),
                                   [line for line, _ in late])
    return ParsedFile(format="internal_csv", source="internal", table=table, errors=errors)


def parse_csv(data: bytes, filename: str) -> ParsedFile:
    """Parse the internal CSV export (whole columns at once when the file is clean)."""
    fast = _parse_csv_columnar(data, filename) if isinstance(data, bytes) else None
    return fast if fast is not None else parse_csv_rows(data, filename)


def parse_csv_rows(data: bytes, filename: str) -> ParsedFile:
    """The row-by-row path: every problem becomes a RecordError naming its line and field."""
    f = csvutil.open_csv(data, filename, REQUIRED, "internal transaction export")
    rows, errors = csvutil.run_rows(f, _converter(f.index, "line"))
    return ParsedFile(format="internal_csv", source="internal", rows=rows, errors=errors)


# -------------------------------------------------------------------------------------------- Parquet
def _is_parquet(data: bytes) -> bool:
    return len(data) >= 12 and data[:4] == PARQUET_MAGIC and data[-4:] == PARQUET_MAGIC


def sniff_parquet(data: bytes) -> bool:
    """Parquet magic at both ends and a schema with transaction_id, processor_reference and amount."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or not _is_parquet(bytes(data)):
        return False
    try:
        schema = pq.read_schema(pa.BufferReader(bytes(data)))
    except Exception:  # noqa: BLE001 - any unreadable footer simply is not our Parquet
        return False
    return set(schema.names) >= SNIFF_COLUMNS


def parse_parquet(data: bytes, filename: str) -> ParsedFile:
    """Parse the internal Parquet export."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) == 0:
        raise FileRejected(filename, "empty file")
    data = bytes(data)
    if not _is_parquet(data):
        raise FileRejected(filename, "not a Parquet file: no PAR1 magic at both ends")
    try:
        table = pq.read_table(pa.BufferReader(data))
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a corrupt file
        raise FileRejected(filename, f"unreadable Parquet: {type(exc).__name__}: {exc}") from None
    names = table.column_names
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise FileRejected(filename, "duplicate column(s): " + ", ".join(map(repr, dups)), field=dups[0])
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise FileRejected(
            filename,
            "not an internal transaction export: missing required column(s) " + ", ".join(map(repr, missing)),
            field=missing[0],
        )
    amount_type = table.schema.field("amount").type
    if pa.types.is_floating(amount_type):
        raise FileRejected(filename, "amount must be decimal or string, not float", field="amount")
    if not (pa.types.is_decimal(amount_type) or pa.types.is_string(amount_type)
            or pa.types.is_large_string(amount_type)):
        raise FileRejected(filename, f"amount must be decimal or string, not {amount_type}", field="amount")
    created_type = table.schema.field("created_at").type
    created_is_datetime = pa.types.is_timestamp(created_type)
    if created_is_datetime and created_type.tz is None:
        raise FileRejected(
            filename, "created_at is a timestamp without time zone; it must carry one (or be ISO 8601 text "
            "with an offset)", field="created_at",
        )
    columns: list[list[Any]] = []
    for name in REQUIRED:
        col = table.column(name)
        try:
            if name == "created_at" and created_is_datetime:
                col = col.cast(pa.timestamp("us", tz="UTC"), safe=False)
                columns.append(col.to_pylist())
                continue
            if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
                col = pc.cast(col, pa.string())
            columns.append(["" if v is None else v for v in col.to_pylist()])
        except Exception as exc:  # noqa: BLE001 - e.g. a nested or binary column that has no text form
            raise FileRejected(
                filename, f"column {name!r} of type {col.type} cannot be read as text: {exc}", field=name,
            ) from None
    ix = {name: i for i, name in enumerate(REQUIRED)}
    records = (list(values) for values in zip(*columns, strict=True))
    rows, errors = csvutil.run_values(
        records, _converter(ix, "row", created_is_datetime), filename, REQUIRED, unit="row",
    )
    return ParsedFile(format="internal_parquet", source="internal", rows=rows, errors=errors)


# ------------------------------------------------------------------------------------- either of the two
def sniff(data: bytes) -> bool:
    """Either the internal Parquet or the internal CSV export."""
    return sniff_parquet(data) or sniff_csv(data)


def parse(data: bytes, filename: str) -> ParsedFile:
    """Parse the internal export, Parquet if it has the Parquet magic, CSV otherwise."""
    if isinstance(data, (bytes, bytearray, memoryview)) and _is_parquet(bytes(data)):
        return parse_parquet(data, filename)
    return parse_csv(data, filename)
