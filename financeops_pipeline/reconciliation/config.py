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
}


@dataclass(frozen=True)
class ReconConfig:
    windows: dict[str, dict[str, int]] = field(default_factory=lambda: dict(DEFAULT_WINDOWS))
    bank_unmatched_days: int = 0
    lookback_days: int = 35   # how far back open items are carried and re-matched


def load_recon_config() -> ReconConfig:
    """Defaults, overridden by FINANCEOPS_RECON_WINDOWS (JSON per processor) and FINANCEOPS_BANK_UNMATCHED_DAYS."""
    windows = {k: dict(v) for k, v in DEFAULT_WINDOWS.items()}
    for processor, override in json.loads(os.environ.get("FINANCEOPS_RECON_WINDOWS", "{}")).items():
        windows.setdefault(processor, dict(DEFAULT_WINDOWS["stripe"])).update(
            {k: int(v) for k, v in override.items()})
    return ReconConfig(
        windows=windows,
        bank_unmatched_days=int(os.environ.get("FINANCEOPS_BANK_UNMATCHED_DAYS", "0")),
        lookback_days=int(os.environ.get("FINANCEOPS_RECON_LOOKBACK_DAYS", "35")),
    )
