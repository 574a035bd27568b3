"""Matching windows, configurable per processor from the environment."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

DEFAULT_WINDOWS = {
    # settle_days: internal record -> processor line; internal_days: processor line -> internal record;
    # bank_days: payout date -> bank credit. An item is pending while its age is within its window.
    "stripe": {"settle_days": 2, "internal_days": 0, "bank_days": 3},
    "adyen": {"settle_days": 2, "internal_days": 0, "bank_days": 3},
    # PayPal settles at once (a payment is in the balance when completed), and a withdrawal reaches the bank
    # in 1 to 5 business days.
    "paypal": {"settle_days": 1, "internal_days": 0, "bank_days": 5},
}

# Fallback rule `counterparty_amount` (bank credit <-> payout when the credit carries no payout reference): the
# regular expression (case-insensitive) that the bank text or counterparty must match for each processor.
DEFAULT_COUNTERPARTY_PATTERNS = {"stripe": r"\bSTRIPE\b", "adyen": r"\bADYEN\b", "paypal": r"\bPAYPAL\b"}


def default_memory_limit() -> str:
    """40% of physical memory: DuckDB's own limit (80% by default) leaves no room for the Arrow inputs and
    results, which live outside it; past the limit DuckDB spills to disk instead of exhausting the machine."""
    return f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') * 2 // 5 // 2**20}MB"


@dataclass(frozen=True)
class ReconConfig:
    windows: dict[str, dict[str, int]] = field(default_factory=lambda: dict(DEFAULT_WINDOWS))
    counterparty_patterns: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_COUNTERPARTY_PATTERNS))
    bank_unmatched_days: int = 0
    lookback_days: int = 35   # how far back open items are carried and re-matched
    memory_limit: str = field(default_factory=default_memory_limit)   # DuckDB's, e.g. "8GB"


def load_recon_config() -> ReconConfig:
    """Defaults, overridden by FINANCEOPS_RECON_WINDOWS (JSON per processor), FINANCEOPS_BANK_UNMATCHED_DAYS,
    FINANCEOPS_RECON_LOOKBACK_DAYS, FINANCEOPS_RECON_MEMORY_LIMIT (DuckDB's memory limit, e.g. "8GB") and
    FINANCEOPS_RECON_COUNTERPARTY_PATTERNS (JSON processor -> regular expression of the fallback rule)."""
    windows = {k: dict(v) for k, v in DEFAULT_WINDOWS.items()}
    for processor, override in json.loads(os.environ.get("FINANCEOPS_RECON_WINDOWS", "{}")).items():
        windows.setdefault(processor, dict(DEFAULT_WINDOWS["stripe"])).update(
            {k: int(v) for k, v in override.items()})
    patterns = dict(DEFAULT_COUNTERPARTY_PATTERNS)
    patterns.update({k: str(v) for k, v in
                     json.loads(os.environ.get("FINANCEOPS_RECON_COUNTERPARTY_PATTERNS", "{}")).items()})
    return ReconConfig(
        windows=windows,
        counterparty_patterns=patterns,
        bank_unmatched_days=int(os.environ.get("FINANCEOPS_BANK_UNMATCHED_DAYS", "0")),
        lookback_days=int(os.environ.get("FINANCEOPS_RECON_LOOKBACK_DAYS", "35")),
        memory_limit=os.environ.get("FINANCEOPS_RECON_MEMORY_LIMIT") or default_memory_limit(),
    )
