"""Resolutions survive re-runs: the same inputs and the same resolutions give the same results, a manual match is
kept when the pipeline re-runs the day, an acceptance lapses after its `until` day, and a new file that changes a
resolved break reopens it and says why."""

from __future__ import annotations

import datetime as dt

from financeops_pipeline.workbench import actions, views
from financeops_pipeline.workbench.refresh import refresh_days
from financeops_pipeline.workbench.service import perform, tenant_workbench
from tests.reports.sample_run import evaluations, materialize

DAY = dt.date(2026, 11, 4)
STATES = ("SELECT string_agg(concat_ws('|', source, source_ref, status, rule, match_group, break_id, matched_on,"
          " details::text), ';' ORDER BY source, source_ref) FROM recon.item_status WHERE business_date = %s")
BREAKS = ("SELECT string_agg(concat_ws('|', break_id, lifecycle, first_seen, details::text), ';' ORDER BY break_id)"
          " FROM recon.breaks WHERE business_date = %s")


def _by_type(conn, tenant="acme", day=DAY) -> dict[str, dict]:
    return {b["break_type"]: b for b in views.open_breaks(conn, tenant, day)["breaks"]}


def test_a_manual_match_and_an_acceptance_are_kept_when_the_pipeline_reruns_the_day(bench):
    prep = bench.actor("acme_prep")
    with tenant_workbench(bench.url, "acme") as conn:
        b = _by_type(conn)
        items = {i["source"]: f"{i['source']}|{i['source_ref']}"
                 for i in views.break_page(conn, "acme", DAY, b["amount_mismatch"]["break_id"]).items}
        matched = perform(bench.archive, conn, prep, actions.match, DAY, [items["internal"]], [items["processor"]],
                          "same charge, 0.01 within tolerance")
        perform(bench.archive, conn, prep, actions.accept, DAY, b["bank_unmatched"]["break_id"], "timing", "tomorrow")
        states, breaks = (conn.execute(q, (DAY,)).fetchone()[0] for q in (STATES, BREAKS))
        assert f"manual:{matched.proposal_id}" in states and set(_by_type(conn)) == {"missing_in_internal"}
    # The daily job re-runs the day: imports nothing new, posts nothing, reconciles with the same resolutions
    result = materialize(bench.url, DAY.isoformat(), whole=True, tenants="acme", archive=bench.archive)
    assert result.success
    assert evaluations(result)["recon/three_way_match/recon_conservation"].passed
    with tenant_workbench(bench.url, "acme") as conn:
        assert (conn.execute(STATES, (DAY,)).fetchone()[0], conn.execute(BREAKS, (DAY,)).fetchone()[0]) == (
            states, breaks)


def test_an_acceptance_until_a_day_reopens_the_break_after_it(bench):
    prep = bench.actor("globex_prep", "globex")
    first = dt.date(2026, 11, 3)
    with tenant_workbench(bench.url, "globex") as conn:
        dup = _by_type(conn, "globex", first)["duplicate"]
        perform(bench.archive, conn, prep, actions.accept, first, dup["break_id"], "duplicate_delivery",
                "Adyen sent the row twice; support case 123", until=first)
        assert "duplicate" not in _by_type(conn, "globex", first)
        reopened = _by_type(conn, "globex", DAY)["duplicate"]
        page = views.break_page(conn, "globex", DAY, dup["break_id"])
    assert reopened["state"] == "reopened"
    assert page.reopened == ["accepted (duplicate_delivery) until 2026-11-03"]


def test_a_new_file_that_changes_an_accepted_break_reopens_it_and_says_why(bench, tmp_path):
    from financeops_pipeline.imports.loader import import_file

    prep = bench.actor("acme_prep")
    with tenant_workbench(bench.url, "acme") as conn:
        brk = _by_type(conn)["amount_mismatch"]["break_id"]
        perform(bench.archive, conn, prep, actions.accept, DAY, brk, "immaterial", "0.01, Stripe rounding")
        assert "amount_mismatch" not in _by_type(conn)
        # A late internal file adds a 0.02 record to the same Stripe charge: the break is no longer what was accepted
        late = tmp_path / "transactions_late.csv"
        late.write_text("transaction_id,created_at,type,amount,currency,processor,processor_reference,customer_id,"
                        "description\nacme-T0016-fix,2026-11-04T18:00:00+00:00,payment,0.02,USD,stripe,"
                        "ch_3Q0016AcmeSample,cus_0013,Top-up of order 1016\n", encoding="utf-8")
    with tenant_workbench(bench.url, "acme") as conn:
        conn.autocommit = False
        assert import_file(conn, "acme", late, DAY, "late-run", bench.archive).status == "loaded"
        conn.autocommit = True
        assert refresh_days(conn, bench.archive, "acme", DAY) == [DAY]
        again = _by_type(conn)["amount_mismatch"]
        why = views.break_page(conn, "acme", DAY, brk).reopened
    assert again["break_id"] == brk and again["state"] == "reopened"
    assert why == ["the break's items changed since it was accepted (immaterial): were "
                   "internal|acme-T0016|USD|5000;processor|stripe:txn_3Q0016AcmeSample|USD|5001, now "
                   "internal|acme-T0016|USD|5000;internal|acme-T0016-fix|USD|2;"
                   "processor|stripe:txn_3Q0016AcmeSample|USD|5001"]


def test_critical_breaks_past_their_deadline_warn(bench, monkeypatch, tmp_path):
    policy = tmp_path / "wb.yaml"
    policy.write_text("priorities:\n  - {name: critical, min_amount_minor: {default: 5000}, min_age_days: 99,"
                      " due_days: 0}\n  - {name: low, min_amount_minor: {default: 0}, min_age_days: 0, due_days: 9}\n")
    monkeypatch.setenv("FINANCEOPS_WORKBENCH_CONFIG", str(policy))
    result = materialize(bench.url, "2026-11-04", checks=[("recon/three_way_match", "critical_breaks_on_time")],
                         tenants="globex", archive=bench.archive)
    check = evaluations(result)["recon/three_way_match/critical_breaks_on_time"]
    # globex's two breaks of 11-03 (duplicate 90.00, payout sum 88.95 off) are critical and were due on 11-03
    assert not check.passed and check.metadata["violations"].value == 2
    assert "duplicate" in check.metadata["details"].value and "payout_sum_mismatch" in check.metadata["details"].value
