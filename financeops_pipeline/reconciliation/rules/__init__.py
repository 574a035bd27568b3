"""Matching rules as configuration: a versioned YAML per tenant (defaults in default.yaml beside this file).

`load_rules(path)` reads and validates a rules file; every error names the file and the line
(`path:line: message`), from PyYAML's own node marks (no extra dependency). `rules_for_tenant(tenant)` finds the
tenant's file: `<FINANCEOPS_RECON_RULES_DIR>/<tenant>.yaml`, else the file FINANCEOPS_RECON_RULES names, else the
defaults. The rules become small Arrow tables the SQL of the match reads (`RuleSet.tables`): parameters go into
SQL, no Python loop over rows.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyarrow as pa
import yaml

from financeops_pipeline.imports.records import PROCESSORS
from financeops_pipeline.money import MoneyError, currency_exponent, normalize_currency, to_minor

DEFAULT_RULES = Path(__file__).with_name("default.yaml")

# The reference rules are match.sql itself: fixed keys, fixed order, always first. Each names the rule values
# it writes on the items it matches (a rule id may emit a variant, e.g. a split of the same rule).
REFERENCE_RULES: dict[str, tuple[str, list[str], tuple[str, ...]]] = {
    "processor_reference": ("internal-processor", ["processor", "processor_reference", "kind"],
                            ("processor_reference", "processor_reference_split")),
    "merchant_reference": ("internal-processor", ["merchant_reference", "currency", "amount_minor"],
                           ("merchant_reference",)),
    "payout_reference": ("payout-bank", ["payout_reference_in_bank_text", "currency"],
                         ("payout_reference", "payout_reference_many")),
}
# Which pairs each configurable rule type works on (reconciliation/sql/<type>.sql).
RULE_PAIRS = {"counterparty": ("payout-bank",), "tolerance": ("payout-bank", "internal-processor"),
              "fx": ("internal-processor",)}
WINDOW_KEYS = ("settle_days", "internal_days", "bank_days")
DIRECTIONS = ("below", "above", "both")
_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class RulesError(ValueError):
    """A rules file that cannot be used, with the file and line at fault."""


@dataclass(frozen=True)
class Rule:
    id: str
    version: str
    type: str                      # reference | counterparty | tolerance | fx
    pair: str
    params: dict[str, object] = field(default_factory=dict)
    line: int = 0

    def emits(self) -> tuple[str, ...]:
        return REFERENCE_RULES[self.id][2] if self.type == "reference" else (self.id,)


@dataclass(frozen=True)
class RuleSet:
    version: str
    windows: dict[str, dict[str, int]]
    bank_unmatched_days: int
    rules: tuple[Rule, ...]
    source: str                    # the file it was read from

    def of_type(self, kind: str) -> list[Rule]:
        return [r for r in self.rules if r.type == kind]

    def counterparty_patterns(self) -> dict[str, str]:
        """processor -> pattern of the first counterparty rule naming it (none: the fallback is off)."""
        patterns: dict[str, str] = {}
        for rule in self.of_type("counterparty"):
            for processor, pattern in rule.params["patterns"].items():  # type: ignore[union-attr]
                patterns.setdefault(processor, pattern)
        return patterns

    def tables(self) -> dict[str, pa.Table]:
        """The rules as the SQL reads them: rule_versions (every rule value -> rule id and version),
        tolerance_rules (one row per rule, processor and currency) and fx_rules."""
        versions = [{"rule": emitted, "rule_id": r.id, "rule_version": r.version, "seq": i}
                    for i, r in enumerate(self.rules) for emitted in r.emits()]
        tolerance = []
        for seq, r in enumerate(self.rules):
            if r.type != "tolerance":
                continue
            p = r.params
            currencies = sorted(set(p["absolute"]) | set(p["cap"])) or [None]  # type: ignore[arg-type]
            for processor in p["processors"]:  # type: ignore[union-attr]
                for currency in currencies:
                    tolerance.append({
                        "rule_id": r.id, "rule_version": r.version, "seq": seq, "pair": r.pair,
                        "processor": processor, "currency": currency, "direction": p["direction"],
                        "abs_minor": p["absolute"].get(currency, 0),  # type: ignore[union-attr]
                        "pct": p["percent"], "cap_minor": p["cap"].get(currency),  # type: ignore[union-attr]
                        "adjust_account": p["adjust_account"], "counter_account": p["counter_account"]})
        fx = [{"rule_id": r.id, "rule_version": r.version, "seq": seq, "processor": processor,
               "max_rounding_minor": r.params["max_rounding_minor"], "adjust_account": r.params["adjust_account"],
               "counter_account": r.params["counter_account"]}
              for seq, r in enumerate(self.rules) if r.type == "fx" for processor in r.params["processors"]]
        return {
            "rule_versions": pa.Table.from_pylist(versions, schema=pa.schema([
                ("rule", pa.string()), ("rule_id", pa.string()), ("rule_version", pa.string()), ("seq", pa.int32())])),
            "tolerance_rules": pa.Table.from_pylist(tolerance, schema=pa.schema([
                ("rule_id", pa.string()), ("rule_version", pa.string()), ("seq", pa.int32()), ("pair", pa.string()),
                ("processor", pa.string()), ("currency", pa.string()), ("direction", pa.string()),
                ("abs_minor", pa.int64()), ("pct", pa.decimal128(18, 6)), ("cap_minor", pa.int64()),
                ("adjust_account", pa.string()), ("counter_account", pa.string())])),
            "fx_rules": pa.Table.from_pylist(fx, schema=pa.schema([
                ("rule_id", pa.string()), ("rule_version", pa.string()), ("seq", pa.int32()),
                ("processor", pa.string()), ("max_rounding_minor", pa.int64()), ("adjust_account", pa.string()),
                ("counter_account", pa.string())])),
        }


# ------------------------------------------------------------------------------------------------ loading
class _Doc:
    """Walks PyYAML nodes, so that every complaint carries the line of the node at fault."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, node: yaml.Node | None, message: str) -> RulesError:
        line = node.start_mark.line + 1 if node is not None else 1
        return RulesError(f"{self.source}:{line}: {message}")

    def mapping(self, node: yaml.Node, what: str, required: tuple[str, ...] = (),
                optional: tuple[str, ...] = ()) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        out: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = self.scalar(key, f"a key of {what}")
            if name in out:
                raise self.fail(key, f"{what}: {name!r} given twice")
            if (required or optional) and name not in required and name not in optional:
                allowed = ", ".join(required + optional)
                raise self.fail(key, f"{what}: unknown key {name!r} (allowed: {allowed})")
            out[name] = value
        for name in required:
            if name not in out:
                raise self.fail(node, f"{what}: {name!r} is required")
        return out

    def scalar(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.value == "":
            raise self.fail(node, f"{what} must be a non-empty value")
        return str(node.value)

    def integer(self, node: yaml.Node, what: str, minimum: int = 0) -> int:
        text = self.scalar(node, what)
        if not re.fullmatch(r"\d+", text) or int(text) < minimum:
            raise self.fail(node, f"{what} must be a whole number >= {minimum}, not {text!r}")
        return int(text)

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)


def load_rules(path: str | Path = DEFAULT_RULES) -> RuleSet:
    """Read and validate a rules file; RulesError names the file and line of the first problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"{path}: cannot read the rules file ({exc.strerror or exc})") from None
    return parse_rules(text, str(path))


def parse_rules(text: str, source: str = "<rules>") -> RuleSet:
    doc = _Doc(source)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise RulesError(f"{source}:{line}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if root is None:
        raise RulesError(f"{source}:1: the rules file is empty")
    top = doc.mapping(root, "the rules file", required=("version", "windows", "rules"),
                      optional=("bank_unmatched_days",))
    version = doc.scalar(top["version"], "version")
    windows: dict[str, dict[str, int]] = {}
    for key, value in doc.mapping(top["windows"], "windows").items():
        if key not in PROCESSORS:
            raise doc.fail(top["windows"], f"windows: unknown processor {key!r} (known: {', '.join(PROCESSORS)})")
        fields = doc.mapping(value, f"windows.{key}", required=WINDOW_KEYS)
        windows[key] = {k: doc.integer(fields[k], f"windows.{key}.{k}") for k in WINDOW_KEYS}
    bank_unmatched = doc.integer(top["bank_unmatched_days"], "bank_unmatched_days") \
        if "bank_unmatched_days" in top else 0

    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for node in doc.sequence(top["rules"], "rules"):
        rule = _rule(doc, node, windows)
        if rule.id in seen:
            raise doc.fail(node, f"rule {rule.id!r} is already defined on line {seen[rule.id]}")
        seen[rule.id] = rule.line
        rules.append(rule)
    # The reference rules are the SQL's own order: first, all of them, as match.sql runs them.
    refs = [r.id for r in rules if r.type == "reference"]
    if refs != list(REFERENCE_RULES):
        raise doc.fail(top["rules"], f"the reference rules must come first, all of them, in the order "
                                     f"{', '.join(REFERENCE_RULES)} (found: {', '.join(refs) or 'none'})")
    if [r.type for r in rules[:len(refs)]] != ["reference"] * len(refs):
        late = next(r for r in rules[len(refs):] if r.type == "reference")
        raise RulesError(f"{source}:{late.line}: rule {late.id!r}: the reference rules run first")
    missing = [p for p in PROCESSORS if p not in windows]
    if missing:
        raise doc.fail(top["windows"], f"windows: no window for {', '.join(missing)}")
    return RuleSet(version=version, windows=windows, bank_unmatched_days=bank_unmatched, rules=tuple(rules),
                   source=source)


def _rule(doc: _Doc, node: yaml.Node, windows: dict[str, dict[str, int]]) -> Rule:
    head = doc.mapping(node, "a rule")
    for key in ("id", "version", "type", "pair"):
        if key not in head:
            raise doc.fail(node, f"a rule: {key!r} is required")
    rule_id = doc.scalar(head["id"], "rule id")
    if not _ID.match(rule_id):
        raise doc.fail(head["id"], f"rule id {rule_id!r}: lower-case letters, digits and _ only")
    kind = doc.scalar(head["type"], f"rule {rule_id}: type")
    pair = doc.scalar(head["pair"], f"rule {rule_id}: pair")
    version = doc.scalar(head["version"], f"rule {rule_id}: version")
    where = f"rule {rule_id}"
    line = node.start_mark.line + 1
    common = ("id", "version", "type", "pair")
    if kind == "reference":
        if rule_id not in REFERENCE_RULES:
            raise doc.fail(head["id"], f"{where}: no reference rule of that id (known: {', '.join(REFERENCE_RULES)})")
        expected_pair, keys, _ = REFERENCE_RULES[rule_id]
        fields = doc.mapping(node, where, required=(*common, "keys"))
        given = [doc.scalar(k, f"{where}: a key") for k in doc.sequence(fields["keys"], f"{where}: keys")]
        if pair != expected_pair:
            raise doc.fail(head["pair"], f"{where}: pair must be {expected_pair}")
        if given != keys:
            raise doc.fail(fields["keys"], f"{where}: the keys of a reference rule are fixed: [{', '.join(keys)}]")
        return Rule(rule_id, version, kind, pair, {"keys": keys}, line)
    if kind not in RULE_PAIRS:
        raise doc.fail(head["type"], f"{where}: unknown type {kind!r} (reference, {', '.join(RULE_PAIRS)})")
    if pair not in RULE_PAIRS[kind]:
        raise doc.fail(head["pair"], f"{where}: a {kind} rule works on {' or '.join(RULE_PAIRS[kind])}, not {pair}")
    params: dict[str, object] = {}
    if kind == "counterparty":
        fields = doc.mapping(node, where, required=(*common, "patterns"))
        patterns = {}
        for processor, value in doc.mapping(fields["patterns"], f"{where}: patterns").items():
            _processor(doc, fields["patterns"], processor, where)
            pattern = doc.scalar(value, f"{where}: patterns.{processor}")
            try:
                re.compile(pattern)
            except re.error as exc:
                raise doc.fail(value, f"{where}: patterns.{processor}: not a regular expression ({exc})") from None
            patterns[processor] = pattern
        params["patterns"] = patterns
    else:
        accounts = ("adjust_account", "counter_account")
        if kind == "tolerance":
            fields = doc.mapping(node, where, required=(*common, "direction", *accounts),
                                 optional=("absolute", "percent", "cap", "processors"))
            direction = doc.scalar(fields["direction"], f"{where}: direction")
            if direction not in DIRECTIONS:
                raise doc.fail(fields["direction"], f"{where}: direction must be one of {', '.join(DIRECTIONS)}")
            params["direction"] = direction
            params["absolute"] = _amounts(doc, fields.get("absolute"), f"{where}: absolute")
            params["cap"] = _amounts(doc, fields.get("cap"), f"{where}: cap")
            params["percent"] = None
            if "percent" in fields:
                text = doc.scalar(fields["percent"], f"{where}: percent")
                try:
                    pct = Decimal(text)
                except InvalidOperation:
                    pct = Decimal(-1)
                if not pct.is_finite() or not 0 <= pct <= 100 or pct.as_tuple().exponent < -6:  # type: ignore[operator]
                    raise doc.fail(fields["percent"], f"{where}: percent must be a decimal from 0 to 100 "
                                                      f"(at most 6 decimals), not {text!r}")
                params["percent"] = pct
            if not params["absolute"] and params["percent"] is None:
                raise doc.fail(node, f"{where}: give an absolute tolerance, a percent, or both")
            if params["cap"] and params["percent"] is None:
                raise doc.fail(fields["cap"], f"{where}: a cap limits the percent: give percent too")
        else:
            fields = doc.mapping(node, where, required=(*common, "max_rounding_minor", *accounts),
                                 optional=("processors",))
            params["max_rounding_minor"] = doc.integer(fields["max_rounding_minor"], f"{where}: max_rounding_minor")
        for key in accounts:
            params[key] = _account(doc, fields[key], f"{where}: {key}")
        processors = list(PROCESSORS)
        if "processors" in fields:
            processors = [doc.scalar(p, f"{where}: a processor")
                          for p in doc.sequence(fields["processors"], f"{where}: processors")]
            for p in processors:
                _processor(doc, fields["processors"], p, where)
        params["processors"] = processors
    return Rule(rule_id, version, kind, pair, params, line)


def _processor(doc: _Doc, node: yaml.Node, processor: str, where: str) -> None:
    if processor not in PROCESSORS:
        raise doc.fail(node, f"{where}: unknown processor {processor!r} (known: {', '.join(PROCESSORS)})")


def _amounts(doc: _Doc, node: yaml.Node | None, what: str) -> dict[str, int]:
    """{currency: major-unit decimal text} -> {currency: minor units}, exact (money.to_minor)."""
    if node is None:
        return {}
    out = {}
    for code, value in doc.mapping(node, what).items():
        try:
            currency = normalize_currency(code)
            currency_exponent(currency)
            minor = to_minor(doc.scalar(value, f"{what}.{code}"), currency)
        except (MoneyError, ValueError, KeyError) as exc:
            raise doc.fail(value, f"{what}.{code}: {exc}") from None
        if minor < 0:
            raise doc.fail(value, f"{what}.{code}: a tolerance is not negative")
        out[currency] = minor
    return out


def _account(doc: _Doc, node: yaml.Node, what: str) -> str:
    from financeops_pipeline.ledger.rules import describe_account

    account = doc.scalar(node, what)
    try:
        describe_account(account.replace("{processor}", PROCESSORS[0]))
    except (KeyError, ValueError) as exc:
        raise doc.fail(node, f"{what}: {account!r} is not in the chart of accounts ({exc})") from None
    if "{" in account.replace("{processor}", ""):
        raise doc.fail(node, f"{what}: only {{processor}} may be filled in an account")
    return account


def rules_file_for(tenant: str | None) -> Path:
    """The tenant's rules file: <FINANCEOPS_RECON_RULES_DIR>/<tenant>.yaml, else FINANCEOPS_RECON_RULES, else
    the defaults."""
    folder = os.environ.get("FINANCEOPS_RECON_RULES_DIR")
    if folder and tenant:
        candidate = Path(folder) / f"{tenant}.yaml"
        if candidate.exists():
            return candidate
    return Path(os.environ.get("FINANCEOPS_RECON_RULES") or DEFAULT_RULES)


def rules_for_tenant(tenant: str | None) -> RuleSet:
    return load_rules(rules_file_for(tenant))
