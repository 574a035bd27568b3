"""What every bank-statement parser must return, whatever the format."""

from __future__ import annotations

from financeops_pipeline.imports.records import BANK_LINE_SCHEMA, BANK_STATEMENT_SCHEMA, ParsedFile, to_table


def check_bank_shapes(parsed: ParsedFile, fmt: str) -> None:
    """Canonical columns on every line and statement, exact integer amounts, and Arrow tables that build."""
    assert parsed.format == fmt and parsed.source == "bank"
    for row in parsed.records():
        assert set(row) == set(BANK_LINE_SCHEMA.names)
        assert type(row["amount_minor"]) is int
    for stmt in parsed.statements:
        assert set(stmt) == set(BANK_STATEMENT_SCHEMA.names)
    to_table(parsed.records(), BANK_LINE_SCHEMA)
    to_table(parsed.statements, BANK_STATEMENT_SCHEMA)
