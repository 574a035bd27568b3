"""What every bank-statement parser must return, whatever the format."""

from __future__ import annotations

from financeops_pipeline.imports.records import (
    BANK_LINE_SCHEMA,
    BANK_STATEMENT_SCHEMA,
    COLUMN_DEFAULTS,
    ParsedFile,
    to_table,
)

# Columns a parser may leave out of a row: to_table fills their default (booked, report_kind) or null.
OPTIONAL = set(COLUMN_DEFAULTS) | {"entry_status"}


def check_bank_shapes(parsed: ParsedFile, fmt: str) -> None:
    """Canonical columns on every line and statement, exact integer amounts, and Arrow tables that build."""
    assert parsed.format == fmt and parsed.source == "bank"
    names = set(BANK_LINE_SCHEMA.names)
    for row in parsed.records():
        assert names - OPTIONAL <= set(row) <= names, set(row) ^ names
        assert type(row["amount_minor"]) is int
    for stmt in parsed.statements:
        assert set(BANK_STATEMENT_SCHEMA.names) - OPTIONAL <= set(stmt) <= set(BANK_STATEMENT_SCHEMA.names)
    lines = to_table(parsed.records(), BANK_LINE_SCHEMA)
    assert lines["booked"].null_count == 0 and lines["report_kind"].null_count == 0
    to_table(parsed.statements, BANK_STATEMENT_SCHEMA)
