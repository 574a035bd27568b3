"""What a SQL model is once its file has been read: header settings, body, dependencies, tests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
ENGINES = ("duckdb", "postgres")

# source(schema, table) -> the core asset(s) that write that table, so lineage joins the core graph.
# Every relation a model may read from the system of record is listed here: anything else is an error.
SOURCES: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    ("imports", "internal_transactions"): (("imports", "internal_records"),),
    ("imports", "processor_lines"): (("imports", "processor_records"),),
    ("imports", "bank_lines"): (("imports", "bank_records"),),
    ("imports", "bank_statements"): (("imports", "bank_records"),),
    ("imports", "files"): (("imports", "bank_records"), ("imports", "processor_records"),
                           ("imports", "internal_records")),
    ("imports", "quarantine"): (("imports", "bank_records"), ("imports", "processor_records"),
                                ("imports", "internal_records")),
    ("ledger", "accounts"): (("ledger", "journal_entries"),),
    ("ledger", "journal_entries"): (("ledger", "journal_entries"),),
    ("ledger", "postings"): (("ledger", "journal_entries"),),
    ("ledger", "daily_balances"): (("ledger", "journal_entries"),),
    ("recon", "item_status"): (("recon", "three_way_match"),),
    ("recon", "matches"): (("recon", "three_way_match"),),
    ("recon", "breaks"): (("recon", "three_way_match"),),
    ("recon", "runs"): (("recon", "three_way_match"),),
    ("reports", "trial_balance"): (("reports", "trial_balance"),),
    ("reports", "recon_summary"): (("reports", "recon_summary"),),
}

# Columns the loader adds to every stored row (the model's SELECT must not produce them).
TENANT_COLUMN = "tenant"
DAY_COLUMN = "business_date"


class ModelError(Exception):
    """A problem with one model, located at `path:line` so the author can go straight to it."""

    def __init__(self, path: Path | str, line: int | None, message: str):
        self.path = Path(path)
        self.line = line
        self.message = message
        super().__init__(self.location + ": " + message)

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else str(self.path)


@dataclass(frozen=True)
class Ref:
    name: str
    line: int
    path: str = ""    # file of the line when not the .sql file (a test's ref in a sidecar .yml header)


@dataclass(frozen=True)
class Source:
    schema: str
    table: str
    line: int

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.table}"


@dataclass(frozen=True)
class ModelTest:
    """One test from the header; it becomes one Dagster asset check (no rows returned = pass)."""

    name: str             # check name, unique per model
    kind: str             # not_null | unique | accepted_values | relationships | expect
    line: int             # header line of the test
    columns: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    to: str = ""          # relationships: "ref('m')" or "source('s', 't')"
    field: str = ""       # relationships: the column of `to`
    sql: str = ""         # expect: a query returning the failing rows (Jinja)
    blocking: bool = False
    severity: str = "error"   # error | warn
    description: str = ""


@dataclass
class SqlModel:
    """One `.sql` file. `error` is set when the model cannot run; it still gets an asset that reports it."""

    name: str
    path: Path
    relative_path: str
    text: str = ""
    body: str = ""
    body_line: int = 1    # file line of the body's first line (rendered SQL line n = file line body_line + n - 1)
    header_text: str = ""  # the text the header's lines count in: the .sql file, or its sidecar .yml
    header_path: str = ""  # the sidecar .yml holding the header, when there is one
    description: str = ""
    group: str = "models"
    owners: tuple[str, ...] = ()
    partitioned: bool = True
    engine: str = "duckdb"
    lookback_days: int = 0
    refs: tuple[Ref, ...] = ()
    sources: tuple[Source, ...] = ()
    tests: tuple[ModelTest, ...] = ()
    error: ModelError | None = None
    extra_errors: list[ModelError] = field(default_factory=list)

    @property
    def header_file(self) -> str:
        """The file that header and test lines refer to: the sidecar .yml, or the .sql file itself."""
        return self.header_path or self.relative_path

    @property
    def valid(self) -> bool:
        return self.error is None

    @property
    def table(self) -> str:
        return f"models.{self.name}"

    @property
    def upstream_models(self) -> list[str]:
        return sorted({r.name for r in self.refs})

    @property
    def upstream_source_keys(self) -> list[tuple[str, ...]]:
        keys: set[tuple[str, ...]] = set()
        for s in self.sources:
            keys.update(SOURCES.get((s.schema, s.table), ()))
        return sorted(keys)

    def file_line(self, rendered_line: int) -> int:
        """File line of a line of the rendered body (ref/source render on one line, so lines map 1:1)."""
        return self.body_line + rendered_line - 1

    def fail(self, line: int | None, message: str, path: str = "") -> ModelError:
        err = ModelError(path or self.relative_path, line, message)
        if self.error is None:
            self.error = err
        else:
            self.extra_errors.append(err)
        return err
