"""DuckDB's memory limit for the in-process bulk work (posting's events, the reconciliation's match)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb


def default_memory_limit() -> str:
    """A quarter of physical memory, at most 4 GB. DuckDB's own default (80%) leaves no room for the Arrow inputs
    and results, which live outside it; a 10M-transaction day needs less (the match's largest operator, the hash
    join of the 1:1 pairs, ~1.5 GB; posting's events table spills past it at no measured cost). Past the limit
    DuckDB spills to disk instead of exhausting the machine."""
    quarter = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4 // 2**20
    return f"{min(quarter, 4096)}MB"


@contextmanager
def duckdb_connection(spill_prefix: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB on both cores within default_memory_limit(): past it, it spills to a temporary folder
    (named with `spill_prefix`, removed afterwards) instead of growing the process."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix=spill_prefix) as spill:
        con = duckdb.connect(config={"threads": 2, "memory_limit": default_memory_limit(), "temp_directory": spill})
        try:
            yield con
        finally:
            con.close()
