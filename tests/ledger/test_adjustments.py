"""Adjusting entries go through the posting rules, balance, land in the snapshots, and post once per key."""

from __future__ import annotations

import datetime as dt

import pytest

from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.ledger.adjustments import Adjustment, legs_of, post_adjustments

DAY = dt.date(2026, 11, 3)


def _fee_shortfall(key: str = "recon:tolerance:bank:X1", amount: int = 2500) -> Adjustment:
    # A payout of 100.00 credited as 75.00 by the bank: the 25.00 wire fee goes to bank fees.
    return Adjustment(idempotency_key=key, rule_id="recon_adjustment", business_date=DAY, currency="usd",
                      amount_minor=amount,
                      accounts={"adjust_account": "bank_fees", "counter_account": "cash_in_transit:stripe"},
                      description="bank credit 25.00 below payout po_1", source_kind="recon", source_ref="bank:X1",
                      audit={"matching_rule": "payout_bank_fee", "matching_rule_version": 1})


def test_legs_come_from_the_rule_and_balance():
    assert legs_of(_fee_shortfall()) == [("bank_fees", 2500), ("cash_in_transit:stripe", -2500)]
    assert legs_of(_fee_shortfall(amount=-300)) == [("bank_fees", -300), ("cash_in_transit:stripe", 300)]


def test_unknown_rule_account_or_float_is_refused():
    bad_rule = Adjustment(**{**_fee_shortfall().__dict__, "rule_id": "no_such_rule"})
    with pytest.raises(ValueError, match="no posting rule 'no_such_rule'"):
        legs_of(bad_rule)
    bad_account = Adjustment(**{**_fee_shortfall().__dict__, "accounts": {"adjust_account": "not_in_chart",
                                                                          "counter_account": "suspense"}})
    with pytest.raises(KeyError, match="not_in_chart"):
        legs_of(bad_account)
    with pytest.raises(TypeError, match="minor units"):
        legs_of(Adjustment(**{**_fee_shortfall().__dict__, "amount_minor": 25.0}))


def test_posted_once_balanced_and_in_the_snapshots(db_url):
    with tenant_connection(db_url, "acme") as conn:
        first = post_adjustments(conn, "acme", [_fee_shortfall(), _fee_shortfall("recon:zero", 0)], "run-1")
        again = post_adjustments(conn, "acme", [_fee_shortfall()], "run-2")
        balances = conn.execute("SELECT account_code, currency, balance_minor FROM ledger.daily_balances"
                                " WHERE business_date = %s ORDER BY 1", (DAY,)).fetchall()
        entry = conn.execute("SELECT rule_id, source_kind, source_ref, run_id, description FROM"
                             " ledger.journal_entries").fetchall()
    assert (first.posted, first.already_posted, again.posted, again.already_posted) == (1, 0, 0, 1)
    assert balances == [("bank_fees", "USD", 2500), ("cash_in_transit:stripe", "USD", -2500)]
    assert len(entry) == 1 and entry[0][:4] == ("recon_adjustment", "recon", "bank:X1", "run-1")
    assert '"matching_rule": "payout_bank_fee"' in entry[0][4]


def test_posts_inside_the_callers_transaction_and_rolls_back_with_it(db_url):
    with tenant_connection(db_url, "acme") as conn:
        with pytest.raises(RuntimeError, match="approval failed"), conn.transaction():
            assert post_adjustments(conn, "acme", [_fee_shortfall()], "run-1").posted == 1
            raise RuntimeError("approval failed")
        assert conn.execute("SELECT count(*) FROM ledger.journal_entries").fetchone()[0] == 0
        conn.commit()
        with conn.transaction():
            post_adjustments(conn, "acme", [_fee_shortfall()], "run-1")
        assert conn.execute("SELECT count(*) FROM ledger.postings").fetchone()[0] == 2
