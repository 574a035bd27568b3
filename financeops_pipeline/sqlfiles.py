"""Read the package's .sql files once: substantial SQL lives in files, not in Python strings."""

from __future__ import annotations

from functools import cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def load_sql(relative_path: str) -> str:
    """Text of a SQL file under the package, e.g. load_sql('ledger/sql/trace.sql')."""
    return (PACKAGE_DIR / relative_path).read_text(encoding="utf-8")


@cache
def load_named_sql(relative_path: str) -> dict[str, str]:
    """Queries of a file split on `-- name: NAME` lines (several small queries kept side by side)."""
    queries: dict[str, list[str]] = {}
    current = None
    for line in load_sql(relative_path).splitlines():
        if line.startswith("-- name:"):
            current = line.split(":", 1)[1].strip()
            queries[current] = []
        elif current is not None:
            queries[current].append(line)
    return {name: "\n".join(lines).strip().rstrip(";") for name, lines in queries.items()}
