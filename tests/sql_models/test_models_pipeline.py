"""The shipped SQL models, materialized by `financeops run` (they are in the daily_close job) after the core
graph, asserted on figures worked out by hand from data_samples/README.md (arithmetic in the comments)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.settings import load_settings
from financeops_pipeline.sql_models import load_project
from financeops_pipeline.sql_models.runner import materialize, run_test
from tests.conftest import copy_closed_days, query

D2, D3, D4 = dt.date(2026, 11, 2), dt.date(2026, 11, 3), dt.date(2026, 11, 4)


def _rows(db_url: str, sql: str) -> list[tuple]:
    return query(db_url, sql)


def test_financeops_run_materializes_the_models_with_hand_checked_figures(pg_target, closed_days, tmp_path,
                                                                         monkeypatch):
    # `financeops run --date 2026-11-02 --to 2026-11-04` on a fresh database (the session's closed_days); the
    # test re-materializes a model below, so it works on a copy of that run
    assert "succeeded" in closed_days.output and "FAILED" not in closed_days.output
    with copy_closed_days(pg_target, closed_days, tmp_path) as copy:
        for key, value in copy.env().items():
            monkeypatch.setenv(key, value)
        _check_the_models(copy.url)


def _check_the_models(db_url: str) -> None:
    # Settlement: gross / fee / net of the non-payout lines, payout = the payout line's amount.
    # acme 11-03 stripe: gross 50 + 120 + 30 - 100 + 90 + 70 = 260.00, fees 1.75 + 3.78 + 1.17 + 15.00 + 2.91 + 2.33
    # = 26.94, net 233.06, payout po_acme_20261103 233.06; adyen: 200 - 80 = 120.00, fees 2.15 + 0.20 = 2.35,
    # net 117.65 = payout AcmeUSD:102.
    # globex 11-03: gross 665.00, fees 7.60, net 657.40 but MerchantPayout 568.45 (the duplicate, break 4b).
    assert _rows(db_url, "SELECT tenant, processor, currency, lines, gross_minor, fee_minor, net_minor, payouts,"
                         " payout_minor FROM models.daily_settlement_summary WHERE business_date = '2026-11-03'"
                         " ORDER BY 1, 2") == [
        ("acme", "adyen", "USD", 2, 12000, 235, 11765, 1, 11765),
        ("acme", "stripe", "USD", 6, 26000, 2694, 23306, 1, 23306),
        ("globex", "adyen", "EUR", 7, 66500, 760, 65740, 1, 56845),
    ]
    # Every day has one row per tenant and processor: acme 2 x 3 days + globex 1 x 3 days.
    assert _rows(db_url, "SELECT count(*) FROM models.daily_settlement_summary") == [(9,)]
    # The run read the processor lines from the import's Parquet record files; read from Postgres, the same rows.
    model = load_project().models["daily_settlement_summary"]
    from_store = materialize(db_url, model, "globex", D3, archive_dir=load_settings().archive_dir)
    from_postgres = materialize(db_url, model, "globex", D3)
    assert from_store.preview == from_postgres.preview and from_store.rows == from_postgres.rows == 1

    # Fee rate (Postgres, NUMERIC): acme 11-02 stripe charges: fees 1.46 + 3.20 + 0.88 + 3.20 = 8.74 on
    # 40 + 100 + 20 + 99.99 = 259.99 -> 874 * 10000 / 25999 = 336.166.. -> 336.17 bp; adyen charges
    # 0.95 + 1.65 = 2.60 on 230.00 -> 113.04 bp; the stripe refund has no fee -> 0.00.
    assert _rows(db_url, "SELECT processor, category, gross_minor, fee_minor, fee_rate_bp FROM"
                         " models.fee_rate_by_processor WHERE tenant = 'acme' AND business_date = '2026-11-02'"
                         " ORDER BY 1, 2") == [
        ("adyen", "charge", 23000, 260, Decimal("113.04")),
        ("stripe", "charge", 25999, 874, Decimal("336.17")),
        ("stripe", "refund", -2000, 0, Decimal("0.00")),
    ]
    # acme 11-03 stripe dispute: 15.00 fee on |-100.00| = 1500.00 bp.
    assert _rows(db_url, "SELECT fee_rate_bp FROM models.fee_rate_by_processor WHERE tenant = 'acme'"
                         " AND business_date = '2026-11-03' AND category = 'dispute'") == [(Decimal("1500.00"),)]

    # Exposure on 11-04. acme breaks (all first seen 11-04, age 0): T0016 50.00 + bank 77.00 + orphan charge
    # 90.00 = 217.00; pending: payouts of 11-04 338.09 + 148.20 = 486.29 (age 0), and T0004 60.00 + payout
    # AcmeUSD:101 227.40 = 287.40 (both from 11-02, age 2). globex breaks (first seen 11-03, age 1): duplicate
    # 90.00 + payout 202 568.45 = 658.45; pending: unknown credit 123.45 + payout 203 287.75 = 411.20 (age 0).
    assert _rows(db_url, "SELECT tenant, currency, state, age_bucket, items, exposure_minor"
                         " FROM models.unreconciled_exposure_by_age WHERE business_date = '2026-11-04'"
                         " ORDER BY 1, 3, 4") == [
        ("acme", "USD", "break", "0-1d", 3, 21700),
        ("acme", "USD", "pending", "0-1d", 2, 48629),
        ("acme", "USD", "pending", "2-3d", 2, 28740),
        ("globex", "EUR", "break", "0-1d", 2, 65845),
        ("globex", "EUR", "pending", "0-1d", 2, 41120),
    ]

    # Pending payouts on 11-04 with their expected bank date (T+1): AcmeUSD:101 of 11-02 was due 11-03 (break 6,
    # overdue 1 day); the 11-04 payouts are due 11-05. GlobexEUR:202 is a break, not pending.
    assert _rows(db_url, "SELECT tenant, payout_ref, amount_minor, expected_bank_date::text, days_overdue"
                         " FROM models.pending_payouts WHERE business_date = '2026-11-04' ORDER BY 1, 2") == [
        ("acme", "adyen:AcmeUSD:101", 22740, "2026-11-03", 1),
        ("acme", "adyen:AcmeUSD:103", 14820, "2026-11-05", 0),
        ("acme", "stripe:po_acme_20261104", 33809, "2026-11-05", 0),
        ("globex", "adyen:GlobexEUR:203", 28775, "2026-11-05", 0),
    ]
    # Cash forecast for 11-05: acme 227.40 + 148.20 + 338.09 = 713.69 (one overdue), globex 287.75.
    assert _rows(db_url, "SELECT tenant, forecast_date::text, payouts, overdue_payouts, inflow_minor"
                         " FROM models.cash_forecast WHERE business_date = '2026-11-04' ORDER BY 1") == [
        ("acme", "2026-11-05", 3, 1, 71369),
        ("globex", "2026-11-05", 1, 0, 28775),
    ]
    # 11-02: acme expects po_acme_20261102 231.25 + AcmeUSD:101 227.40 = 458.65 on 11-03.
    assert _rows(db_url, "SELECT inflow_minor FROM models.cash_forecast WHERE tenant = 'acme'"
                         " AND business_date = '2026-11-02'") == [(45865,)]

    # Every test of every shipped model passes on every tenant-day, read as the tenant's role,
    # and a tenant's role sees only its own model rows.
    project = load_project()
    for tenant in ("acme", "globex"):
        with tenant_connection(db_url, tenant) as conn:
            for model in project.models.values():
                for test in model.tests:
                    for day in (D2, D3, D4):
                        assert run_test(conn, model, test, tenant, day) == (0, []), (tenant, model.name, test.name)
                assert conn.execute(f"SELECT DISTINCT tenant FROM {model.table}").fetchall() == [(tenant,)]
