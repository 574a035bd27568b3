"""Every report on the sample days against figures worked out by hand from data_samples/README.md.

The arithmetic is in the comments; nothing here recomputes a figure with the report's own SQL.
"""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest

from tests.conftest import query

D4 = "2026-11-04"


def rows(sample, table: str, tenant: str, day: str, columns: str, order: str = "1") -> list[tuple]:
    return query(sample.url, f"SELECT {columns} FROM reports.{table} WHERE tenant = %s AND business_date = %s"
                             f" ORDER BY {order}", (tenant, day))


def test_trial_balance_debits_equal_credits(sample):
    got = {code: (debit, credit) for code, debit, credit in rows(
        sample, "trial_balance", "acme", D4, "account_code, debit_minor, credit_minor")}
    assert got == {
        "cash:123456789": (63519, 0),                 # bank 10635.19 - first opening 10000.00
        "cash_in_transit:stripe": (33809, 0),         # payouts 802.40 - 464.31 at the bank
        "cash_in_transit:adyen": (37560, 0),          # payouts 493.25 - 117.65 at the bank
        "processor_receivable:adyen": (0, 0),         # 500.00 - 6.75 fees - 493.25 paid out
        "processor_receivable:stripe": (0, 3001),     # internal 819.99 - processor gross 850.00
        "suspense": (0, 7700),                        # the unknown 77.00 credit
        "revenue": (0, 154999),                       # payments 549.99 + 470.00 + 530.00
        "interest_income": (0, 123),
        "refunds": (13000, 0),                        # 20.00 + 80.00 + 30.00
        "chargebacks": (10000, 0),
        "processor_fees:stripe": (4760, 0),           # 8.74 + 26.94 + 11.92
        "processor_fees:adyen": (675, 0),             # 2.60 + 2.35 + 1.80
        "bank_fees": (2500, 0),
    }
    # debits 635.19 + 338.09 + 375.60 + 130.00 + 100.00 + 47.60 + 6.75 + 25.00 = 1658.23
    # credits 30.01 + 77.00 + 1549.99 + 1.23 = 1658.23
    assert sum(d for d, _ in got.values()) == sum(c for _, c in got.values()) == 165823


def test_balance_sheet_balances_and_shows_each_account_at_the_day(sample):
    got = dict((code, (section, amount)) for code, section, amount in rows(
        sample, "balance_sheet", "acme", D4, "account_code, section, amount_minor"))
    assert got == {
        # bank closing 10635.19 - first opening 10000.00 (no opening-balance posting) = 635.19
        "cash:123456789": ("assets", 63519),
        # Stripe payouts 231.25 + 233.06 + 338.09 = 802.40, of which 231.25 + 233.06 reached the bank = 338.09
        "cash_in_transit:stripe": ("assets", 33809),
        # Adyen payouts 227.40 + 117.65 + 148.20 = 493.25, of which 117.65 reached the bank = 375.60
        "cash_in_transit:adyen": ("assets", 37560),
        # Adyen: internal 80 + 150 + 200 + 110 + 40 - 80 (refund) = 500.00 - fees 6.75 - payouts 493.25 = 0
        "processor_receivable:adyen": ("assets", 0),
        # Stripe: internal 969.99 - 50.00 - 100.00 = 819.99 - processor gross 850.00 = -30.01 (the breaks)
        "processor_receivable:stripe": ("assets", -3001),
        # the unknown 77.00 credit waits in suspense
        "suspense": ("liabilities", 7700),
        # revenue 1549.99 + interest 1.23 - refunds 130.00 - chargebacks 100.00 - Stripe fees 47.60
        # - Adyen fees 6.75 - bank fees 25.00 = 1241.87
        "current_earnings": ("equity", 124187),
    }
    # assets 635.19 + 338.09 + 375.60 + 0 - 30.01 = 1318.87 = liabilities 77.00 + equity 1241.87
    assert 63519 + 33809 + 37560 + 0 - 3001 == 7700 + 124187


def test_income_statement_for_the_day_and_month_to_date(sample):
    got = {code: (section, day, mtd) for code, section, day, mtd in rows(
        sample, "income_statement", "acme", D4, "account_code, section, day_minor, mtd_minor")}
    assert got == {
        # day: payments 50 + 80 + 110 + 40 + 250 = 530.00; month: 549.99 + 470.00 + 530.00 = 1549.99
        "revenue": ("revenue", 53000, 154999),
        "interest_income": ("revenue", 0, 123),            # 1.23 on 11-02
        "refunds": ("expense", 3000, 13000),               # 30.00; 20 + 80 + 30 = 130.00
        "chargebacks": ("expense", 0, 10000),              # T0012 100.00 on 11-03
        "processor_fees:stripe": ("expense", 1192, 4760),  # 11.92; 8.74 + 26.94 + 11.92 = 47.60
        "processor_fees:adyen": ("expense", 180, 675),     # 1.80; 2.60 + 2.35 + 1.80 = 6.75
        "bank_fees": ("expense", 0, 2500),                 # 25.00 on 11-02
        # day: 530.00 - 30.00 - 11.92 - 1.80 = 486.28; month: as current earnings, 1241.87
        "net_income": ("net_income", 48628, 124187),
    }
    # globex, whose duplicated Adyen line is posted once: fees 3.65 + (7.60 - 1.05) + 2.25 = 12.45;
    # net = (530 + 605 + 410 = 1545.00 revenue) + 0.85 - 30.00 - 120.00 - 12.45 - 12.50 = 1370.90;
    # 11-04: 410.00 - 120.00 (chargeback T0015) - 2.25 = 287.75
    assert ("net_income", 28775, 137090) in rows(sample, "income_statement", "globex", D4,
                                                 "account_code, day_minor, mtd_minor")


def test_cash_position_agrees_with_the_bank(sample):
    cols = ("bank_account, currency, first_opening_minor, bank_closing_minor, bank_movement_minor,"
            " ledger_balance_minor, difference_minor, day_bank_movement_minor, day_ledger_movement_minor,"
            " day_difference_minor")
    # acme: 10635.19 - 10000.00 = 635.19 both sides; the day: 10635.19 - 10284.48 = 350.71 = 233.06 + 117.65
    assert rows(sample, "cash_position", "acme", D4, cols) == [
        ("123456789", "USD", 1000000, 1063519, 63519, 63519, 0, 35071, 35071, 0)]
    # globex: 6206.60 - 5000.00 = 1206.60; the day: 6206.60 - 5514.70 = 691.90 = 568.45 + 123.45
    assert rows(sample, "cash_position", "globex", D4, cols) == [
        ("987654321", "EUR", 500000, 620660, 120660, 120660, 0, 69190, 69190, 0)]
    # 11-02 acme: fee and interest only, 9976.23 - 10000.00 = -23.77 = -25.00 + 1.23
    assert rows(sample, "cash_position", "acme", "2026-11-02", "bank_movement_minor, ledger_balance_minor") == [
        (-2377, -2377)]


def test_processor_fees_by_processor_and_category(sample):
    cols = "processor, category, currency, lines, gross_minor, fee_minor, net_minor"
    assert rows(sample, "processor_fees", "acme", D4, cols, "1, 2") == [
        ("adyen", "charge", "USD", 2, 15000, 180, 14820),     # 110 + 40; 1.25 + 0.55; 108.75 + 39.45
        ("stripe", "charge", "USD", 3, 38001, 1192, 36809),   # 50.01 + 80 + 250; 1.75 + 2.62 + 7.55; 368.09
        ("stripe", "refund", "USD", 1, -3000, 0, -3000),      # T0018 -30.00, no fee
    ]
    # acme 11-03: Stripe charges 50 + 120 + 30 + 90 + 70 = 360.00 with 1.75 + 3.78 + 1.17 + 2.91 + 2.33 = 11.94,
    # the dispute -100.00 with 15.00 (11.94 + 15.00 = 26.94 as the README); Adyen Settled 200.00 / 2.15,
    # Refunded -80.00 / 0.20 (2.35)
    assert rows(sample, "processor_fees", "acme", "2026-11-03", "processor, category, lines, gross_minor, fee_minor",
                "1, 2") == [("adyen", "charge", 1, 20000, 215), ("adyen", "refund", 1, -8000, 20),
                            ("stripe", "charge", 5, 36000, 1194), ("stripe", "dispute", 1, -10000, 1500)]
    # globex 11-03 as the processor reported it, the duplicated line included: 90 + 90 + 40 + 150 + 25 + 300
    # = 695.00, fees 1.05 + 1.05 + 0.25 + 1.65 + 0.25 + 3.15 = 7.40; refund -30.00 / 0.20 (7.60 in all)
    assert rows(sample, "processor_fees", "globex", "2026-11-03", "category, lines, gross_minor, fee_minor",
                ) == [("charge", 6, 69500, 740), ("refund", 1, -3000, 20)]


def test_recon_summary_match_rates_and_breaks_by_type(sample):
    cols = "source, items, matched_items, amount_minor, matched_minor, count_rate, amount_rate"
    assert rows(sample, "recon_match_rate", "acme", D4, cols) == [
        # camt 233.06 + 117.65 matched, 77.00 (11-03) in a break: 2 of 3; 350.71 / 427.71 = 0.81998 -> 0.8200
        ("bank", 3, 2, 42771, 35071, Decimal("0.6667"), Decimal("0.8200")),
        # T0017..T0021 matched (80 + 30 + 110 + 40 + 250 = 510.00), T0016 50.00 break, T0004 60.00 pending:
        # 5 / 7 = 0.7143; 510.00 / 620.00 = 0.822580 -> 0.8226
        ("internal", 7, 5, 62000, 51000, Decimal("0.7143"), Decimal("0.8226")),
        # payouts 101 (227.40), 103 (148.20), po_acme_20261104 (338.09) all pending: 713.69, none matched
        ("payout", 3, 0, 71369, 0, Decimal("0"), Decimal("0")),
        # 5 matched lines (510.00) + 50.01 mismatch + 90.00 orphan: 5 / 7; 510.00 / 650.01 = 0.78460 -> 0.7846
        ("processor", 7, 5, 65001, 51000, Decimal("0.7143"), Decimal("0.7846")),
    ]
    cols = "break_type, currency, open_breaks, open_minor, new_breaks, persisting_breaks, resolved_breaks"
    assert rows(sample, "recon_breaks", "acme", D4, cols) == [
        ("amount_mismatch", "USD", 1, 5000, 1, 0, 0),       # T0016 50.00 vs 50.01
        ("bank_unmatched", "USD", 1, 7700, 1, 0, 0),        # the unknown 77.00 after its 1-day grace
        ("missing_in_internal", "USD", 1, 9000, 1, 0, 0),   # ch_3Q9001 90.00 after its 1-day grace
    ]
    assert rows(sample, "recon_breaks", "globex", D4, cols) == [
        ("duplicate", "EUR", 1, 9000, 0, 1, 0),              # the line delivered twice on 11-03
        ("payout_sum_mismatch", "EUR", 1, 56845, 0, 1, 0),   # batch 202: 568.45 paid vs 657.40 of lines
    ]


def test_break_aging_on_the_sample(sample):
    cols = "currency, bucket, breaks, amount_minor, oldest_first_seen::text"
    # globex 11-04: both breaks first seen 11-03, age 1 -> bucket 0-1: 90.00 + 568.45 = 658.45
    assert rows(sample, "break_aging", "globex", D4, cols, "bucket_order") == [
        ("EUR", "0-1", 2, 65845, "2026-11-03"), ("EUR", "2-3", 0, 0, None), ("EUR", "4-7", 0, 0, None),
        ("EUR", "8-30", 0, 0, None), ("EUR", ">30", 0, 0, None)]
    # oldest first; same age and day, larger amount first
    assert rows(sample, "break_aging_items", "globex", D4, "rank, break_type, amount_minor, age_days", "1") == [
        (1, "payout_sum_mismatch", 56845, 1), (2, "duplicate", 9000, 1)]
    # no open break on 11-02: no rows
    assert rows(sample, "break_aging", "acme", "2026-11-02", "bucket") == []


def test_break_aging_buckets_at_their_edges(sample, pg_target):
    """Breaks aged 0..45 days planted on a scratch copy: each edge falls in the bucket the issue names."""
    from financeops_pipeline.db.connect import tenant_connection
    from financeops_pipeline.reports.build import build_sections
    from tests.reports.sample_run import clone_sample, drop_database

    url = clone_sample(pg_target, sample, "fo_reports_aging")
    try:
        ages = [0, 1, 2, 3, 4, 7, 8, 30, 31, 45]
        query(url, "INSERT INTO recon.breaks (tenant, business_date, break_id, break_type, source, source_ref,"
                   " currency, amount_minor, first_seen, age_days, lifecycle)"
                   " SELECT 'acme', '2026-12-31', 'b' || a, 'bank_unmatched', 'bank', 'ref' || a, 'USD', 100 * a,"
                   " DATE '2026-12-31' - a, a, CASE WHEN a = 0 THEN 'new' ELSE 'persisting' END"
                   " FROM unnest(%s::int[]) AS a RETURNING 1", (ages,))
        with tenant_connection(url, "acme") as conn:
            built = build_sections(conn, "break_aging", "acme", __import__("datetime").date(2026, 12, 31))
        buckets = [(r["bucket"], r["breaks"], r["amount_minor"]) for r in built["break_aging"]]
        # 0-1: ages 0, 1 (0 + 100); 2-3: 2, 3 (200 + 300); 4-7: 4, 7 (400 + 700); 8-30: 8, 30 (800 + 3000);
        # >30: 31, 45 (3100 + 4500)
        assert buckets == [("0-1", 2, 100), ("2-3", 2, 500), ("4-7", 2, 1100), ("8-30", 2, 3800), (">30", 2, 7600)]
        assert [r["age_days"] for r in built["break_aging_items"]][:3] == [45, 31, 30]
    finally:
        drop_database(pg_target, "fo_reports_aging")


def report_metadata(sample, asset: str) -> dict:
    """Metadata of the report asset's materialization on 11-04 (a run over several tenant-day partitions
    reports the same metadata for each)."""
    mats = [m.materialization.metadata for m in sample.results[D4].get_asset_materialization_events()
            if m.asset_key.to_user_string() == f"reports/{asset}"]
    assert mats and all(m == mats[0] for m in mats)
    return mats[0]


@pytest.mark.parametrize("asset", ["trial_balance", "balance_sheet", "income_statement", "cash_position",
                                   "processor_fees", "recon_summary", "break_aging"])
def test_each_report_asset_shows_a_table_and_a_png_chart(sample, asset):
    metadata = report_metadata(sample, asset)
    assert metadata["preview"].value.startswith("**") and "|---|" in metadata["preview"].value
    chart = metadata["chart"].value
    prefix = "data:image/png;base64,"
    assert chart.startswith("![") and prefix in chart
    png = base64.b64decode(chart.split(prefix, 1)[1].rstrip(")"))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_money_in_previews_is_exact_decimal_text(sample):
    preview = report_metadata(sample, "cash_position")["preview"].value
    assert "| 1206.60 |" in preview and "| 635.19 |" in preview   # globex and acme movement since the start
