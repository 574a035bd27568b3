"""The workbench policy (workbench.yaml), overridable key by key from FINANCEOPS_WORKBENCH_CONFIG."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DEFAULTS = Path(__file__).with_name("workbench.yaml")


def _per_currency(table: dict[str, int], currency: str) -> int:
    return int(table.get(currency.upper(), table.get("default", 0)))


@dataclass(frozen=True)
class Priority:
    name: str
    due: dt.date
    overdue: bool


@dataclass(frozen=True)
class WorkbenchConfig:
    raw: dict[str, Any]

    @property
    def reason_codes(self) -> dict[str, str]:
        return dict(self.raw["reason_codes"])

    @property
    def adjust_accounts(self) -> list[str]:
        return list(self.raw["adjust_accounts"])

    @property
    def session_hours(self) -> float:
        return float(self.raw["session_hours"])

    def tolerance(self, currency: str) -> int:
        return _per_currency(self.raw["match_tolerance_minor"], currency)

    def four_eyes_above(self, currency: str) -> int:
        return _per_currency(self.raw["four_eyes_above_minor"], currency)

    def materiality(self, currency: str) -> int:
        return _per_currency(self.raw["materiality_minor"], currency)

    def write_off_rule(self, break_type: str) -> dict[str, Any] | None:
        return self.raw["write_off"].get(break_type)

    def priority(self, amount_minor: int, currency: str, first_seen: dt.date, day: dt.date) -> Priority:
        """The first rule whose amount or age fits: large or old enough means that priority."""
        age = (day - first_seen).days
        for rule in self.raw["priorities"]:
            if abs(amount_minor) >= _per_currency(rule["min_amount_minor"], currency) or age >= rule["min_age_days"]:
                due = first_seen + dt.timedelta(days=int(rule["due_days"]))
                return Priority(rule["name"], due, due < day)
        raise ValueError("workbench priorities: the last rule must fit every break (min_amount_minor 0)")

    @property
    def priority_names(self) -> list[str]:
        return [r["name"] for r in self.raw["priorities"]]


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return merged


@cache
def _load(path: str | None) -> WorkbenchConfig:
    raw = yaml.safe_load(DEFAULTS.read_text(encoding="utf-8"))
    if path:
        raw = _merge(raw, yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})
    return WorkbenchConfig(raw)


def load_config() -> WorkbenchConfig:
    return _load(os.environ.get("FINANCEOPS_WORKBENCH_CONFIG") or None)
