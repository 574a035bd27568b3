"""Chart of accounts and posting rules, read from YAML so that finance can review them as data."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
# The event columns a transfer's amount may come from (ledger/sql/posting_events.duckdb.sql).
AMOUNT_COLUMNS = ("amount_minor",)


@dataclass(frozen=True)
class Leg:
    side: str          # debit | credit
    account: str       # template such as "processor_receivable:{processor}"
    amount: str        # event column holding the signed amount

    @property
    def sign(self) -> int:
        return 1 if self.side == "debit" else -1


@dataclass(frozen=True)
class Transfer:
    """One movement of a rule: `amount` (signed) from `credit` to `debit` (a ledger.transfers row)."""

    debit: str         # account template
    credit: str
    amount: str        # event column holding the signed amount


@dataclass(frozen=True)
class Rule:
    rule_id: str
    description: str
    transfers: tuple[Transfer, ...]

    @property
    def legs(self) -> tuple[Leg, ...]:
        """The rule's postings in line order: each transfer's debit leg, then its credit leg."""
        return tuple(leg for t in self.transfers
                     for leg in (Leg("debit", t.debit, t.amount), Leg("credit", t.credit, t.amount)))


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
    """Parse and validate the posting rules: every transfer has a debit account, a credit account (not the same)
    and an amount column, so that every rule balances by construction."""
    doc = yaml.safe_load(path.read_text())
    rules: dict[str, Rule] = {}
    for rule_id, spec in doc["rules"].items():
        transfers = []
        for raw in spec.get("transfers") or ():
            if not raw.get("debit") or not raw.get("credit"):
                raise ValueError(f"posting rule {rule_id!r} does not balance: a transfer needs a debit and a "
                                 f"credit account ({raw})")
            if raw["debit"] == raw["credit"]:
                raise ValueError(f"posting rule {rule_id!r}: a transfer's debit and credit are the same account")
            if raw.get("amount") not in AMOUNT_COLUMNS:
                raise ValueError(f"posting rule {rule_id!r}: amount must be one of {AMOUNT_COLUMNS}")
            transfers.append(Transfer(raw["debit"], raw["credit"], raw["amount"]))
        if not transfers:
            raise ValueError(f"posting rule {rule_id!r} does not balance: it has no transfers (debit, credit, "
                             "amount)")
        rules[rule_id] = Rule(rule_id, spec.get("description", ""), tuple(transfers))
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
