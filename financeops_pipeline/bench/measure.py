"""Wall time and peak memory of one benchmark stage, and the table the figures are printed in."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """Resident memory of this process now (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:
        return 0


@dataclass
class Stage:
    """One measured stage: wall seconds, peak resident memory of this process, and what it processed."""

    name: str
    seconds: float = 0.0
    peak_rss: int = 0
    rows: int | None = None
    note: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def rate(self) -> float | None:
        return self.rows / self.seconds if self.rows and self.seconds else None


@contextmanager
def measured(name: str, interval: float = 0.02) -> Iterator[Stage]:
    """Time the block and sample this process's RSS every `interval` seconds for its peak.

    The peak is the Python process's own (parsers, Arrow, DuckDB run in it); the Postgres server's
    memory is its own processes' and is not counted here.
    """
    stage = Stage(name)
    peak = [rss_bytes()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(interval):
            peak[0] = max(peak[0], rss_bytes())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    began = time.perf_counter()
    try:
        yield stage
    finally:
        stage.seconds = time.perf_counter() - began
        done.set()
        sampler.join()
        stage.peak_rss = max(peak[0], rss_bytes())


def table(stages: list[Stage], unit: str = "rows") -> str:
    """Fixed-width table of the stages: seconds, the multiple of the floor (when a stage has one), peak RSS,
    rows and rows per second."""
    width = max([34, *(len(s.name) for s in stages)])
    ratios = any("x_floor" in s.extra for s in stages)
    lines = [f"{'stage':<{width}} {'wall s':>8}{' x floor' if ratios else ''} {'peak RSS':>10} {unit:>12} "
             f"{unit + '/s':>12}  note"]
    for s in stages:
        rows = f"{s.rows:,}" if s.rows is not None else ""
        rate = f"{s.rate:,.0f}" if s.rate else ""
        memory = f"{s.peak_rss / 2**20:>8.0f} MB"
        ratio = (f"{s.extra['x_floor']:>7.2f}x" if "x_floor" in s.extra else " " * 8) if ratios else ""
        lines.append(f"{s.name:<{width}} {s.seconds:>8.2f}{ratio} {memory} {rows:>12} {rate:>12}  {s.note}")
    return "\n".join(lines)
