"""A PayPal tenant-day through the domain functions the import, ledger and reconciliation assets call: the
internal export, a PayPal activity download and a bank CSV read with the tenant's own mapping
(data_samples/_more/paypal/initech/bank_mappings/), checked against figures worked out by hand."""

from __future__ import annotations

import datetime as dt

from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.imports.bankcsv import tenant_mappings
from financeops_pipeline.imports.loader import import_file
from financeops_pipeline.landing import SOURCES, day_files
from financeops_pipeline.ledger.posting import post_day
from financeops_pipeline.quality.checks import run_check
from financeops_pipeline.reconciliation.engine import reconcile_day, stored_item_status
from tests.conftest import SAMPLES, query

LANDING = SAMPLES / "_more" / "paypal"
DAY = dt.date(2026, 11, 2)


def _balance(db_url: str, account: str) -> int:
    rows = query(db_url, "SELECT coalesce(sum(amount_minor), 0) FROM ledger.postings WHERE account_code = %s",
                 (account,))
    return int(rows[0][0])


def test_a_paypal_day_imports_posts_and_reconciles(db_url, tmp_path):
    mappings = tenant_mappings(LANDING, "initech")
    assert mappings[0].name == "initech-bank"   # the tenant's own mapping comes before the shipped ones
    with tenant_connection(db_url, "initech") as conn:
        outcomes = [import_file(conn, "initech", path, DAY, "paypal-test", tmp_path / "archive", mappings)
                    for source in SOURCES for path in day_files(LANDING, "initech", DAY, source)]
        assert [(o.format, o.status, o.records_loaded) for o in outcomes] == [
            ("internal_csv", "loaded", 4), ("paypal", "loaded", 5), ("bankcsv", "loaded", 2)]
        post_day(conn, "initech", DAY, "paypal-test")
        reconcile_day(conn, tmp_path / "archive", "initech", DAY, "paypal-test")
        for check in ("statement_integrity", "source_records_posted", "cash_matches_bank", "ledger_balanced",
                      "recon_conservation"):
            assert run_check(conn, check, "initech", DAY) == [], check
    assert query(db_url, "SELECT mapping FROM imports.files WHERE format = 'bankcsv'") == [("initech-bank",)]
    # Fees: 3.20 + 1.75 + 0.88 on the payments, 0.58 given back on the refund: 5.25.
    assert _balance(db_url, "processor_fees:paypal") == 320 + 175 + 88 - 58
    # PayPal balance: payments 100 + 50 + 20, refund -20, fees -5.25, withdrawal -100 = 44.75, the activity
    # file's own last Balance cell.
    assert _balance(db_url, "processor_receivable:paypal") == 10000 + 5000 + 2000 - 2000 - 525 - 10000 == 4475
    # Bank: the withdrawal 100.00 in, a 2.50 fee out; opening 1000.00 + 97.50 = closing 1097.50.
    assert _balance(db_url, "cash:US-INITECH-0001") == 9750
    assert _balance(db_url, "cash_in_transit:paypal") == 0   # the withdrawal reached the bank the same day
    with tenant_connection(db_url, "initech") as conn:
        stored = stored_item_status(conn, tmp_path / "archive", "initech", DAY)
    states = {f"{source}:{ref}": status for source, ref, status in zip(
        stored["source"].to_pylist(), stored["source_ref"].to_pylist(), stored["status"].to_pylist(), strict=True)}
    assert states["payout:paypal:PPW0001"] == "matched"
    assert {k: v for k, v in states.items() if k.startswith("internal:")} == {
        f"internal:initech-T000{i}": "matched" for i in range(1, 5)}
    assert states["bank:US-INITECH-0001:BNK-2"] == "explained"   # the bank fee
