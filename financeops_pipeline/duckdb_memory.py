"""DuckDB's memory limit for the in-process bulk work (posting's events, the reconciliation's match)."""

from __future__ import annotations

import os


def default_memory_limit() -> str:
    """A quarter of physical memory, at most 4 GB. DuckDB's own default (80%) leaves no room for the Arrow inputs
    and results, which live outside it; a 10M-transaction day needs less (the match's largest operator, the hash
    join of the 1:1 pairs, ~1.5 GB; posting's events table spills past it at no measured cost). Past the limit
    DuckDB spills to disk instead of exhausting the machine."""
    quarter = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4 // 2**20
    return f"{min(quarter, 4096)}MB"
