"""Chart of accounts and posting rules, read from YAML so that finance can review them as data."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Leg:
    side: str          # debit | credit
    account: str       # template such as "processor_receivable:{processor}"
    amount: str        # event column holding the signed amount

    @property
    def sign(self) -> int:
        return 1 if self.side == "debit" else -1


@dataclass(frozen=True)
class Rule:
    rule_id: str
    description: str
    legs: tuple[Leg, ...]


@dataclass(frozen=True)
class RuleBook:
    version: str
    rules: dict[str, Rule]


@dataclass(frozen=True)
class AccountTemplate:
    code: str
    name: str
    type: str
    normal: str

    @property
    def prefix(self) -> str:
        return self.code.split(":", 1)[0]


@cache
def load_rules(path: Path = HERE / "posting_rules.yaml") -> RuleBook:
    """Parse and validate the posting rules: every rule has a debit and a credit leg of the same amount."""
    doc = yaml.safe_load(path.read_text())
    rules: dict[str, Rule] = {}
    for rule_id, spec in doc["rules"].items():
        legs = []
        for raw in spec["legs"]:
            side = "debit" if "debit" in raw else "credit"
            legs.append(Leg(side=side, account=raw[side], amount=raw["amount"]))
        by_amount: dict[str, int] = {}
        for leg in legs:
            by_amount[leg.amount] = by_amount.get(leg.amount, 0) + leg.sign
        if any(by_amount.values()):
            raise ValueError(f"posting rule {rule_id!r} does not balance: debits and credits differ")
        rules[rule_id] = Rule(rule_id, spec.get("description", ""), tuple(legs))
    return RuleBook(version=str(doc["version"]), rules=rules)


@cache
def load_chart(path: Path = HERE / "chart_of_accounts.yaml") -> tuple[AccountTemplate, ...]:
    """Account templates of the chart of accounts."""
    doc = yaml.safe_load(path.read_text())
    return tuple(AccountTemplate(a["code"], a["name"], a["type"], a["normal"]) for a in doc["accounts"])


def describe_account(code: str) -> AccountTemplate:
    """The chart entry for a concrete account code, e.g. 'cash:DE89...' -> Cash at bank DE89..."""
    prefix, _, detail = code.partition(":")
    for template in load_chart():
        if template.prefix == prefix:
            name = template.name.replace("{bank_account}", detail).replace("{processor}", detail)
            return AccountTemplate(code, name, template.type, template.normal)
    raise KeyError(f"account {code!r} is not in the chart of accounts")
