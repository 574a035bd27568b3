"""Issue 15, parts 2, 4 and 5: the matching rules as a validated YAML file (errors name file and line), tolerance
rules (a bank credit short of its payout by a fee), the FX rule (charge currency <-> settlement currency with the
processor's rate), every match carrying its rule id and version; the adjusting entries balance and reach the
trial balance."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.reconciliation.adjusting import adjustment_of, post_day_adjustments
from financeops_pipeline.reconciliation.config import load_recon_config
from financeops_pipeline.reconciliation.engine import PREV_BREAKS_SCHEMA, ReconInputs, reconcile, write_results
from financeops_pipeline.reconciliation.rules import DEFAULT_RULES, RulesError, load_rules, parse_rules
from financeops_pipeline.sqlfiles import load_sql
from tests.reconciliation.test_fallback_and_duplicates import DAY, _bank, _int, _line, _rows

DEFAULT_TEXT = DEFAULT_RULES.read_text()


def _reconcile(internal, processor, bank, rules: Path | None = None):
    config = load_recon_config(rules_file=rules)
    inputs = ReconInputs(internal=_rows("internal", internal), processor=_rows("processor", processor),
                         bank=_rows("bank", bank), prev_breaks=PREV_BREAKS_SCHEMA.empty_table())
    result = reconcile(inputs, DAY, config)
    return result, {(s["source"], s["source_ref"]): s for s in result.item_status.to_pylist()}


# ------------------------------------------------------------------------------------------ the rules file
def test_the_shipped_rules_load_and_name_every_rule_with_its_version():
    rules = load_rules()
    assert [r.id for r in rules.rules] == ["processor_reference", "merchant_reference", "payout_reference",
                                           "counterparty_amount", "payout_bank_fee", "fx_rate"]
    assert rules.windows["paypal"]["bank_days"] == 5
    tolerance = rules.tables()["tolerance_rules"].to_pylist()
    assert {(t["processor"], t["currency"], t["abs_minor"]) for t in tolerance} >= {("stripe", "USD", 2500),
                                                                                     ("adyen", "JPY", 2500)}


@pytest.mark.parametrize(("old", "new", "line", "message"), [
    ("    direction: below ", "    direction: sideways ", "direction", "direction must be one of below, above, both"),
    ('absolute: {USD: "25.00"', 'absolute: {USD: "25.001"', "absolute:", "absolute.USD"),
    ("adjust_account: bank_fees", "adjust_account: bank_feez", "adjust_account: bank_feez", "not in the chart"),
    ("    type: fx", "    type: magic", "type: magic", "unknown type 'magic'"),
    ("  stripe: {settle_days: 2,", "  stripe: {settle_days: -2,", "stripe: {settle_days", "whole number"),
    ("      stripe: '\\bSTRIPE\\b'", "      stripe: '(STRIPE'", "stripe: '(STRIPE'", "not a regular expression"),
    ("    keys: [merchant_reference, currency, amount_minor]", "    keys: [merchant_reference]",
     "keys: [merchant_reference]", "keys of a reference rule are fixed"),
])
def test_a_bad_rules_file_is_refused_naming_the_file_and_line(tmp_path, old, new, line, message):
    assert old in DEFAULT_TEXT, old
    text = DEFAULT_TEXT.replace(old, new, 1)
    path = tmp_path / "acme.yaml"
    path.write_text(text)
    expected_line = next(i for i, t in enumerate(text.splitlines(), 1) if line in t and not t.lstrip().startswith("#"))
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert str(caught.value).startswith(f"{path}:{expected_line}: "), str(caught.value)
    assert message in str(caught.value)


def test_yaml_syntax_errors_and_reordered_reference_rules_name_their_line():
    with pytest.raises(RulesError, match=r"^t\.yaml:3: not valid YAML"):
        parse_rules("version: 1\nwindows: {a: [\n", "t.yaml")
    start, end = DEFAULT_TEXT.index("  - id: processor_reference "), DEFAULT_TEXT.index("  - id: merchant_reference")
    without_first = DEFAULT_TEXT[:start] + DEFAULT_TEXT[end:]
    rules_line = next(i for i, t in enumerate(without_first.splitlines(), 1) if t.startswith("rules:"))
    with pytest.raises(RulesError, match=rf"^t\.yaml:{rules_line + 1}: the reference rules must come first"):
        parse_rules(without_first, "t.yaml")


def test_a_tenant_file_overrides_the_defaults(tmp_path, monkeypatch):
    (tmp_path / "acme.yaml").write_text(DEFAULT_TEXT.replace('version: "2026.12.2"', 'version: "acme-7"'))
    monkeypatch.setenv("FINANCEOPS_RECON_RULES_DIR", str(tmp_path))
    assert load_recon_config("acme").rules.version == "acme-7"
    assert load_recon_config("globex").rules.version == load_rules().version


# ------------------------------------------------------------------------------------------ tolerance
def test_a_bank_credit_short_by_a_fee_matches_with_its_difference_and_an_adjusting_entry():
    lines = [_line("ch1", "pi_1", 10000, "po_1"), _line("po_1", None, -10000, "po_1", category="payout")]
    result, states = _reconcile([_int("tx1", "pi_1", 10000)], lines, [_bank("B1", 7500, "STRIPE PAYOUT po_1")])
    bank, payout = states[("bank", "acct1:B1")], states[("payout", "stripe:po_1")]
    assert bank["status"] == payout["status"] == "matched"
    assert (bank["rule"], bank["rule_version"]) == ("payout_bank_fee", "1")
    details = json.loads(bank["details"])
    assert (details["expected"], details["actual"], details["difference"], details["score"]) == (
        10000, 7500, -2500, 0.75)
    assert [a["idempotency_key"] for a in details["adjustments"]] == ["recon:payout_bank_fee:bank:acct1:B1"]
    (adj,) = result.adjustments.to_pylist()
    assert (adj["currency"], adj["amount_minor"], adj["adjust_account"], adj["counter_account"]) == (
        "USD", 2500, "bank_fees", "cash_in_transit:stripe")
    # a reference match records its rule and version too
    assert (states[("internal", "tx1")]["rule"], states[("internal", "tx1")]["rule_version"]) == (
        "processor_reference", "1")


def test_outside_the_tolerance_the_break_stays_with_its_per_field_difference():
    lines = [_line("ch1", "pi_1", 10000, "po_1"), _line("po_1", None, -10000, "po_1", category="payout")]
    result, states = _reconcile([], lines, [_bank("B1", 7499, "STRIPE PAYOUT po_1")])
    bank, payout = states[("bank", "acct1:B1")], states[("payout", "stripe:po_1")]
    assert (bank["status"], bank["break_type"]) == (payout["status"], payout["break_type"]) == (
        "break", "amount_mismatch")
    assert json.loads(payout["details"]) == {"field": "amount_minor", "payouts": 10000, "bank": 7499,
                                             "difference": -2501}
    assert result.adjustments.num_rows == 0
    # a credit above its payout is no fee: the rule's direction is below
    _, states = _reconcile([], lines, [_bank("B1", 10001, "STRIPE PAYOUT po_1")])
    assert states[("bank", "acct1:B1")]["break_type"] == "amount_mismatch"


def test_a_percent_tolerance_with_a_cap_between_internal_and_processor(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(DEFAULT_TEXT.replace("  - id: fx_rate", """  - id: processor_rounding
    version: 3
    type: tolerance
    pair: internal-processor
    direction: both
    percent: "0.5"
    cap: {USD: "0.30"}
    adjust_account: rounding
    counter_account: "processor_receivable:{processor}"
  - id: fx_rate"""))
    # 0.5 % of 40.00 is 0.20: 0.15 off matches, 0.25 off does not; on 100.00 the cap (0.30) holds, not 0.50
    cases = {"pi_1": (4000, 4015, True), "pi_2": (4000, 3975, False), "pi_3": (10000, 10030, True),
             "pi_4": (10000, 10040, False)}
    internal = [_int(f"tx{i}", ref, a) for i, (ref, (a, _, _)) in enumerate(cases.items())]
    lines = [_line(f"ch{i}", ref, p) for i, (ref, (_, p, _)) in enumerate(cases.items())]
    result, states = _reconcile(internal, lines, [], rules)
    for i, (_, (_, _, fits)) in enumerate(cases.items()):
        item = states[("internal", f"tx{i}")]
        assert (item["status"] == "matched") is fits, (i, item)
        assert (item["rule"], item["rule_version"]) == (("processor_rounding", "3") if fits
                                                        else ("processor_reference", None))
    amounts = {a["match_group"]: a["amount_minor"] for a in result.adjustments.to_pylist()}
    assert amounts == {"ref:stripe:pi_1:charge": -15, "ref:stripe:pi_3:charge": -30}


# ------------------------------------------------------------------------------------------ FX
def _fx_line(line_id: str, pref: str, gross: int, gc: int | None, rate: str | None, gcur: str | None = "EUR") -> dict:
    return {**_line(line_id, pref, gross), "gross_currency": gcur, "gross_gc_minor": gc,
            "exchange_rate": Decimal(rate) if rate else None}


def _eur(tx: str, pref: str, amount: int) -> dict:
    return {**_int(tx, pref, amount), "currency": "EUR"}


def test_an_fx_charge_matches_in_both_currencies_with_the_exact_rate_and_its_source():
    result, states = _reconcile([_eur("tx1", "pi_1", 10000)],
                                [_fx_line("ch1", "pi_1", 10847, 10000, "1.0847")], [])
    internal, line = states[("internal", "tx1")], states[("processor", "stripe:ch1")]
    assert internal["status"] == line["status"] == "matched"
    assert (line["rule"], line["rule_version"], internal["currency"], line["currency"]) == (
        "fx_rate", "1", "EUR", "USD")
    fx = json.loads(line["details"])["fx"]
    assert (fx["rate"], fx["rate_source"]) == ("1.0847", "stripe exchange_rate of line ch1")
    assert (fx["charge_amount_minor"], fx["settlement_amount_minor"]) == (10000, 10847)
    legs = {(a["currency"], a["amount_minor"], a["adjust_account"], a["counter_account"])
            for a in result.adjustments.to_pylist()}
    assert legs == {("EUR", 10000, "fx_gain_loss", "processor_receivable:stripe"),
                    ("USD", -10847, "fx_gain_loss", "processor_receivable:stripe")}


@pytest.mark.parametrize(("gc", "rate", "gcur"), [
    (10000, None, "EUR"),        # no rate in the data: never a cross-currency match
    (10000, "1.0900", "EUR"),    # the rate does not give the settlement amount
    (9000, "1.0847", "EUR"),     # the charge amount is not the internal record's
    (10000, "1.0847", "GBP"),    # the charge currency is not the internal record's
])
def test_no_fx_match_without_a_rate_that_explains_the_amounts(gc, rate, gcur):
    result, states = _reconcile([_eur("tx1", "pi_1", 10000)], [_fx_line("ch1", "pi_1", 10847, gc, rate, gcur)], [])
    assert states[("internal", "tx1")]["break_type"] == "currency_mismatch"
    assert result.adjustments.num_rows == 0


# ------------------------------------------------------------------------------------------ the ledger
def test_adjusting_entries_balance_and_appear_in_the_trial_balance(db_url, tmp_path):
    lines = [_line("ch1", "pi_1", 10000, "po_1"), _line("po_1", None, -10000, "po_1", category="payout"),
             _fx_line("ch2", "pi_2", 10847, 10000, "1.0847")]
    result, _ = _reconcile([_int("tx1", "pi_1", 10000), _eur("tx2", "pi_2", 10000)], lines,
                           [_bank("B1", 7500, "STRIPE PAYOUT po_1")])
    assert {a["rule_id"] for a in result.adjustments.to_pylist()} == {"payout_bank_fee", "fx_rate"}
    with tenant_connection(db_url, "acme") as conn:
        assert write_results(conn, tmp_path, "acme", DAY, result, "run-1")
        first = post_day_adjustments(conn, "acme", DAY, "run-1")
        again = post_day_adjustments(conn, "acme", DAY, "run-2")
        per_entry = conn.execute("SELECT e.idempotency_key, p.currency, sum(p.amount_minor), count(*)"
                                 " FROM ledger.journal_entries e JOIN ledger.postings p USING (entry_id)"
                                 " GROUP BY 1, 2 ORDER BY 1").fetchall()
        audit = conn.execute("SELECT description, rule_id, source_kind FROM ledger.journal_entries"
                             " WHERE idempotency_key = 'recon:payout_bank_fee:bank:acct1:B1'").fetchone()
        trial = conn.execute(load_sql("reports/sql/trial_balance.sql"), {"tenant": "acme", "day": DAY}).fetchall()
    assert (first.posted, again.posted, again.already_posted) == (3, 0, 3)
    assert [(k, c, s, n) for k, c, s, n in per_entry] == [
        ("recon:fx_rate:ref:stripe:pi_2:charge:charge", "EUR", 0, 2),
        ("recon:fx_rate:ref:stripe:pi_2:charge:settlement", "USD", 0, 2),
        ("recon:payout_bank_fee:bank:acct1:B1", "USD", 0, 2)]
    assert audit[1:] == ("recon_adjustment", "recon")
    assert '"matching_rule": "payout_bank_fee"' in audit[0] and '"matching_rule_version": "1"' in audit[0]
    balances = {(row[2], row[5]): row[6] - row[7] for row in trial}
    assert balances[("bank_fees", "USD")] == 2500
    assert balances[("cash_in_transit:stripe", "USD")] == -2500
    assert balances[("fx_gain_loss", "EUR")] == 10000 and balances[("fx_gain_loss", "USD")] == -10847
    assert balances[("processor_receivable:stripe", "EUR")] == -10000
    assert balances[("processor_receivable:stripe", "USD")] == 10847
    for currency in ("USD", "EUR"):   # the trial balance balances, per currency
        assert sum(v for (_, c), v in balances.items() if c == currency) == 0


def test_adjustment_of_a_stored_entry_names_the_rule_in_its_audit():
    adj = adjustment_of({"idempotency_key": "k", "currency": "USD", "amount_minor": 5, "adjust_account": "rounding",
                         "counter_account": "suspense", "description": "d", "match_group": "g",
                         "rule_id": "r", "rule_version": "2"}, DAY)
    assert (adj.rule_id, adj.source_ref, adj.audit["matching_rule_version"]) == ("recon_adjustment", "g", "2")
    assert dt.date(2026, 11, 5) == adj.business_date


def test_two_credits_within_tolerance_of_one_payout_are_suggested_never_guessed():
    yesterday = DAY - dt.timedelta(days=1)
    line = {**_line("ch1", "pi_1", 10000, "po_1"), "business_date": yesterday, "payout_date": yesterday}
    credits = [{**_bank(ref, amount, "STRIPE TRANSFER"), "booking_date": yesterday, "business_date": yesterday}
               for ref, amount in (("B1", 9000), ("B2", 9500))]
    result, states = _reconcile([], [line], credits)
    for ref in ("acct1:B1", "acct1:B2"):
        bank = states[("bank", ref)]
        assert (bank["status"], bank["break_type"], bank["rule"]) == ("suggested", "bank_unmatched", "payout_bank_fee")
        assert json.loads(bank["details"]) == {"rule": "payout_bank_fee", "score": 1.0,
                                               "candidates": [{"source": "payout", "source_ref": "stripe:po_1"}]}
    assert states[("payout", "stripe:po_1")]["status"] == "pending"   # within its bank window
    assert result.adjustments.num_rows == 0
    # past the payout's window it is suggested too, naming both credits
    late = DAY + dt.timedelta(days=3)
    config = load_recon_config()
    inputs = ReconInputs(internal=_rows("internal", []), processor=_rows("processor", [line]),
                         bank=_rows("bank", credits), prev_breaks=PREV_BREAKS_SCHEMA.empty_table())
    payout = next(s for s in reconcile(inputs, late, config).item_status.to_pylist() if s["source"] == "payout")
    assert payout["status"] == "suggested" and json.loads(payout["details"])["score"] == 0.5
