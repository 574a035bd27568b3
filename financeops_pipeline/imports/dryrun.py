"""What a file would load, without loading it: `financeops import PATH... --dry-run`.

A data engineer checks a new bank's or processor's file before onboarding it: the format it is detected as,
its statements, accounts, currencies, records and totals, the balances it states or that can be derived from
them, whether each statement adds up, and the first errors. Nothing here touches a database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from financeops_pipeline.errors import FileRejected, RecordError
from financeops_pipeline.imports import detect
from financeops_pipeline.imports.bankcsv import BankMapping
from financeops_pipeline.imports.records import ParsedFile
from financeops_pipeline.money import format_minor

FIRST_ERRORS = 5


@dataclass
class StatementCheck:
    """One statement's balances as given or derived, and whether opening + entries = closing."""

    account_id: str
    currency: str
    statement_id: str | None
    entries: int
    entries_total_minor: int
    opening_minor: int | None
    closing_minor: int | None
    opening_derived: bool = False
    closing_derived: bool = False
    integrity: str = "ok"      # ok | does not add up | derived | no balances

    def describe(self) -> str:
        def balance(value: int | None, derived: bool) -> str:
            if value is None:
                return "none"
            return format_minor(value, self.currency) + (" (derived)" if derived else " (given)")

        return (f"account {self.account_id} {self.currency} statement {self.statement_id or '-'}: "
                f"{self.entries} entries totalling {format_minor(self.entries_total_minor, self.currency)}; "
                f"opening {balance(self.opening_minor, self.opening_derived)}, "
                f"closing {balance(self.closing_minor, self.closing_derived)}; integrity: {self.integrity}")


@dataclass
class DryRun:
    """Everything `--dry-run` prints about one file."""

    path: str
    format: str
    source: str
    records: int = 0
    mapping: str | None = None
    statements: list[StatementCheck] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    errors: list[RecordError] = field(default_factory=list)
    rejected: bool = False

    @property
    def accounts(self) -> list[str]:
        return sorted({s.account_id for s in self.statements})

    @property
    def currencies(self) -> list[str]:
        return sorted(set(self.totals) | {s.currency for s in self.statements})

    @property
    def ok(self) -> bool:
        return not self.rejected and not self.errors and not any(
            s.integrity.startswith("does not add up") for s in self.statements)

    def lines(self) -> list[str]:
        name = Path(self.path).name
        if self.rejected:
            return [f"{name}: REJECTED: {self.errors[0]}"]
        head = f"{name}: {self.format}" + (f" (mapping {self.mapping})" if self.mapping else "")
        head += (f", {self.records} records, {len(self.errors)} bad; {len(self.statements)} statements; accounts "
                 f"{', '.join(self.accounts) or '-'}; currencies {', '.join(self.currencies) or '-'}")
        out = [head]
        if self.totals:
            label = {"bank": "entries", "internal": "amount"}.get(self.source, "gross")
            out.append(f"  totals ({label}): " + ", ".join(format_minor(v, c) for c, v in sorted(self.totals.items())))
        out.extend("  " + s.describe() for s in self.statements)
        out.extend(f"  error: {e}" for e in self.errors[:FIRST_ERRORS])
        if len(self.errors) > FIRST_ERRORS:
            out.append(f"  ... and {len(self.errors) - FIRST_ERRORS} more errors")
        return out


def check_statement(stmt: dict[str, Any]) -> StatementCheck:
    """Balances given, derived where one is missing (opening = closing - entries, or the other way), and the
    statement-integrity result."""
    check = StatementCheck(stmt["account_id"], stmt["currency"], stmt.get("statement_id"), stmt["entry_count"],
                           stmt["entries_total_minor"], stmt.get("opening_balance_minor"),
                           stmt.get("closing_balance_minor"))
    total = check.entries_total_minor
    if check.opening_minor is not None and check.closing_minor is not None:
        derived_closing = check.opening_minor + total
        check.integrity = "ok" if derived_closing == check.closing_minor else (
            f"does not add up: opening + entries = {format_minor(derived_closing, check.currency)}, "
            f"closing {format_minor(check.closing_minor, check.currency)}")
    elif check.closing_minor is not None:
        check.opening_minor, check.opening_derived, check.integrity = check.closing_minor - total, True, "derived"
    elif check.opening_minor is not None:
        check.closing_minor, check.closing_derived, check.integrity = check.opening_minor + total, True, "derived"
    else:
        check.integrity = "no balances"
    return check


def summarize(parsed: ParsedFile, path: str) -> DryRun:
    records = parsed.records()
    run = DryRun(path=path, format=parsed.format, source=parsed.source, records=len(records),
                 mapping=parsed.mapping, errors=list(parsed.errors))
    amount = "amount_minor" if parsed.source in ("bank", "internal") else "gross_minor"
    totals: dict[str, int] = defaultdict(int)
    for r in records:
        totals[r["currency"]] += r[amount]
    run.totals = dict(totals)
    run.statements = [check_statement(s) for s in parsed.statements]
    return run


def dry_run(path: Path, mappings: list[BankMapping] | tuple[BankMapping, ...] = (),
            mapping: BankMapping | None = None) -> DryRun:
    """Detect and parse one file as the import would, and describe what it would load."""
    data = path.read_bytes()
    try:
        parsed = detect.parse_file(data, path.name, mappings, mapping)
    except FileRejected as exc:
        return DryRun(path=str(path), format="unknown", source="unknown", errors=[exc.error], rejected=True)
    return summarize(parsed, str(path))
