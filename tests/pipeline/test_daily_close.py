"""The whole graph materialized through Dagster for the sample days, asserted on the stored figures.

Expected figures are worked out by hand from data_samples/README.md (the arithmetic is in the comments).
"""

from __future__ import annotations

import pytest

from tests.conftest import copy_closed_days, financeops_run, query

# Tables whose rows must be identical after a second run (run logs and audit columns aside).
STABLE_TABLES = {
    "imports.files": "tenant, sha256, business_date, source, format, status, records_loaded, records_quarantined",
    "imports.bank_lines": "*",
    "imports.processor_lines": "*",
    "imports.internal_transactions": "*",
    "imports.bank_statements": "*",
    "imports.quarantine": "*",
    "ledger.journal_entries": "entry_id, tenant, idempotency_key, business_date, rule_id, source_kind, "
                              "source_file_sha256, source_position",
    "ledger.postings": "*",
    "ledger.daily_balances": "*",
    "recon.item_status": "*",
    "recon.day_totals": "*",
    "recon.breaks": "*",
    "reports.trial_balance": "*",
    "reports.recon_summary": "*",
}


def _snapshot(db_url: str) -> dict[str, list[tuple]]:
    return {t: sorted(map(repr, query(db_url, f"SELECT {cols} FROM {t}"))) for t, cols in STABLE_TABLES.items()}


@pytest.fixture
def ran(closed_days):
    """`financeops run --date 2026-11-02 --to 2026-11-04` on a fresh database (the session's closed_days)."""
    return closed_days.url, closed_days.output


def _balance(db_url: str, tenant: str, account: str, day: str = "2026-11-04") -> int:
    rows = query(db_url, "SELECT debit_minor - credit_minor FROM reports.trial_balance"
                         " WHERE tenant = %s AND business_date = %s AND account_code = %s", (tenant, day, account))
    return rows[0][0] if rows else 0


def test_daily_close_posts_reconciles_and_reports_the_sample_days(ran):
    db_url, output = ran
    assert "acme 2026-11-04" in output and "globex 2026-11-04" in output

    # Imported records (README file table): acme internal 8+7+6, globex 6+6+5.
    assert query(db_url, "SELECT tenant, count(*) FROM imports.internal_transactions GROUP BY 1 ORDER BY 1") == [
        ("acme", 21), ("globex", 17)]
    # acme stripe (5+1)+(6+1)+(4+1) + adyen (2+1)*3 = 27; globex adyen (6+1)+(7+1)+(5+1) = 21.
    assert query(db_url, "SELECT tenant, count(*) FROM imports.processor_lines GROUP BY 1 ORDER BY 1") == [
        ("acme", 27), ("globex", 21)]

    # Cash at bank = sum of the bank entries (the statements' opening 10000.00 is not a posting):
    # -25.00 + 1.23 + 231.25 + 77.00 + 233.06 + 117.65 = 635.19 = closing 10635.19 - opening 10000.00.
    assert _balance(db_url, "acme", "cash:123456789") == 63519
    # globex: -12.50 + 0.85 + 526.35 + 568.45 + 123.45 = 1206.60 = 6206.60 - 5000.00.
    assert _balance(db_url, "globex", "cash:987654321") == 120660
    # Revenue (credit): acme payments 549.99 + 470.00 + 530.00 = 1549.99.
    assert _balance(db_url, "acme", "revenue") == -154999
    # Refunds 20 + 80 + 30 = 130.00; chargebacks 100.00.
    assert _balance(db_url, "acme", "refunds") == 13000
    assert _balance(db_url, "acme", "chargebacks") == 10000
    # Stripe fees 8.74 + 26.94 + 11.92 = 47.60; Adyen fees 2.60 + 2.35 + 1.80 = 6.75.
    assert _balance(db_url, "acme", "processor_fees:stripe") == 4760
    assert _balance(db_url, "acme", "processor_fees:adyen") == 675
    # Stripe payouts 231.25 + 233.06 + 338.09 = 802.40, of which 231.25 + 233.06 reached the bank: 338.09 in transit.
    assert _balance(db_url, "acme", "cash_in_transit:stripe") == 33809
    # The unknown 77.00 credit is parked in suspense.
    assert _balance(db_url, "acme", "suspense") == -7700
    # Stripe receivable: internal net 969.99 - 50.00 - 100.00 = 819.99 minus processor gross 850.00 = -30.01,
    # i.e. exactly the breaks: -60.00 (T0004 not processed) + 90.00 (charge with no record) + 0.01 (50.01 vs 50.00).
    assert _balance(db_url, "acme", "processor_receivable:stripe") == -3001

    # The trial balance balances per tenant and currency.
    for tenant, currency, debits, credits in query(
            db_url, "SELECT tenant, currency, sum(debit_minor), sum(credit_minor) FROM reports.trial_balance"
                    " WHERE business_date = '2026-11-04' GROUP BY 1, 2"):
        assert debits == credits, (tenant, currency)


def test_the_documented_breaks_are_found_with_their_types(ran):
    db_url, _ = ran
    open_breaks = query(db_url, "SELECT tenant, break_type, source_ref, amount_minor, first_seen::text"
                                " FROM recon.breaks WHERE business_date = '2026-11-04' AND lifecycle <> 'resolved'"
                                " ORDER BY 1, 2")
    assert open_breaks == [
        ("acme", "amount_mismatch", "acme-T0016", 5000, "2026-11-04"),
        ("acme", "bank_unmatched", "123456789:ACME-BANK-20261103-002", 7700, "2026-11-04"),
        ("acme", "missing_in_internal", "stripe:txn_3Q9001AcmeSample", 9000, "2026-11-04"),
        ("globex", "duplicate", "adyen:GlobexEUR:202:9826110300000007:Settled:9726110300000007", 9000, "2026-11-03"),
        ("globex", "payout_sum_mismatch", "adyen:GlobexEUR:202", 56845, "2026-11-03"),
    ]
    details = query(db_url, "SELECT details FROM recon.breaks WHERE source_ref = 'acme-T0016' LIMIT 1")[0][0]
    assert details == {"field": "amount_minor", "internal": 5000, "processor": 5001, "difference": 1}
    # Still inside their windows on 11-04: T0004 (no Stripe line yet), payout AcmeUSD:101, the 11-04 payouts,
    # and globex's unknown 123.45 credit and payout 203.
    pending = query(db_url, "SELECT tenant, source, source_ref FROM recon.item_status"
                            " WHERE business_date = '2026-11-04' AND status = 'pending' ORDER BY 1, 2, 3")
    assert pending == [
        ("acme", "internal", "acme-T0004"),
        ("acme", "payout", "adyen:AcmeUSD:101"),
        ("acme", "payout", "adyen:AcmeUSD:103"),
        ("acme", "payout", "stripe:po_acme_20261104"),
        ("globex", "bank", "987654321:" + query(db_url, "SELECT acct_svcr_ref FROM imports.bank_lines"
                                                        " WHERE amount_minor = 12345")[0][0]),
        ("globex", "payout", "adyen:GlobexEUR:203"),
    ]


def test_running_the_same_days_again_changes_nothing(pg_target, closed_days, tmp_path):
    with copy_closed_days(pg_target, closed_days, tmp_path) as copy:   # the same days run again, on a copy
        before = _snapshot(copy.url)
        assert before == _snapshot(closed_days.url)
        again = financeops_run(copy.env())
        assert again.exit_code == 0, again.output
        assert "already imported" not in again.output  # the summary reads the database, not the files
        assert _snapshot(copy.url) == before
