"""The reconciliation's configuration: the tenant's matching rules (rules/default.yaml or the tenant's file,
reconciliation/rules) with the windows and counterparty patterns they give, overridable from the environment."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from financeops_pipeline.duckdb_memory import default_memory_limit
from financeops_pipeline.reconciliation.rules import RuleSet, load_rules, rules_file_for

# The shipped defaults (rules/default.yaml): windows per processor (settle_days: internal record -> processor
# line; internal_days: processor line -> internal record; bank_days: payout date -> bank credit; an item is pending
# while its age is within its window) and the counterparty patterns of the fallback rule `counterparty_amount`.
_DEFAULTS = load_rules()
DEFAULT_WINDOWS = _DEFAULTS.windows
DEFAULT_COUNTERPARTY_PATTERNS = _DEFAULTS.counterparty_patterns()


def _default_rules() -> RuleSet:
    return _DEFAULTS


@dataclass(frozen=True)
class ReconConfig:
    rules: RuleSet = field(default_factory=_default_rules)   # the matching rules (ids, versions, parameters)
    windows: dict[str, dict[str, int]] = field(default_factory=lambda: {k: dict(v) for k, v in DEFAULT_WINDOWS.items()})
    counterparty_patterns: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_COUNTERPARTY_PATTERNS))
    bank_unmatched_days: int = 0
    lookback_days: int = 35   # how far back open items are carried and re-matched
    memory_limit: str = field(default_factory=default_memory_limit)   # DuckDB's, e.g. "8GB"


def load_recon_config(tenant: str | None = None, rules_file: str | Path | None = None) -> ReconConfig:
    """The tenant's rules (`rules_file`, else reconciliation/rules.rules_file_for), their windows and patterns
    overridden by FINANCEOPS_RECON_WINDOWS (JSON per processor), FINANCEOPS_BANK_UNMATCHED_DAYS,
    FINANCEOPS_RECON_LOOKBACK_DAYS, FINANCEOPS_RECON_MEMORY_LIMIT (DuckDB's memory limit, e.g. "8GB") and
    FINANCEOPS_RECON_COUNTERPARTY_PATTERNS (JSON processor -> regular expression of the fallback rule)."""
    rules = load_rules(rules_file or rules_file_for(tenant))
    windows = {k: dict(v) for k, v in rules.windows.items()}
    for processor, override in json.loads(os.environ.get("FINANCEOPS_RECON_WINDOWS", "{}")).items():
        windows.setdefault(processor, dict(DEFAULT_WINDOWS["stripe"])).update(
            {k: int(v) for k, v in override.items()})
    patterns = rules.counterparty_patterns()
    patterns.update({k: str(v) for k, v in
                     json.loads(os.environ.get("FINANCEOPS_RECON_COUNTERPARTY_PATTERNS", "{}")).items()})
    return ReconConfig(
        rules=rules,
        windows=windows,
        counterparty_patterns=patterns,
        bank_unmatched_days=int(os.environ.get("FINANCEOPS_BANK_UNMATCHED_DAYS", rules.bank_unmatched_days)),
        lookback_days=int(os.environ.get("FINANCEOPS_RECON_LOOKBACK_DAYS", "35")),
        memory_limit=os.environ.get("FINANCEOPS_RECON_MEMORY_LIMIT") or default_memory_limit(),
    )
