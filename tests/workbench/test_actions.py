"""Domain tests of the workbench on a copy of the sample run: every action, four eyes, the audit log, re-runs.

The sample's open breaks of acme on 2026-11-04 (data_samples/README.md): the Stripe line of 90.00 with no internal
record (missing_in_internal), acme-T0016 50.00 against Stripe 50.01 (amount_mismatch, difference 0.01) and the
unknown bank credit of 77.00 (bank_unmatched).
"""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from financeops_pipeline.workbench import actions, views
from financeops_pipeline.workbench.actions import ActionRefused
from financeops_pipeline.workbench.service import perform, tenant_workbench

DAY = dt.date(2026, 11, 4)


def _breaks(conn, tenant="acme", day=DAY) -> dict[str, dict]:
    return {b["break_type"]: b for b in views.open_breaks(conn, tenant, day)["breaks"]}


def _balance(conn, account: str, day=DAY) -> int:
    row = conn.execute("SELECT balance_minor FROM ledger.daily_balances WHERE account_code = %s AND business_date <= %s"
                       " ORDER BY business_date DESC LIMIT 1", (account, day)).fetchone()
    return row[0] if row else 0


def test_open_breaks_are_the_samples_with_priority_and_totals(bench):
    with tenant_workbench(bench.url, "acme") as conn:
        listed = views.open_breaks(conn, "acme", DAY)
    by_type = {b["break_type"]: b for b in listed["breaks"]}
    assert set(by_type) == {"missing_in_internal", "amount_mismatch", "bank_unmatched"}
    assert (by_type["amount_mismatch"]["amount_minor"], by_type["bank_unmatched"]["amount_minor"]) == (5000, 7700)
    # 50.00 + 90.00 + 77.00 (the break's amount is its reported item's), all low: small and at most a day old
    assert listed["totals"] == [{"currency": "USD", "count": 3, "amount_minor": 21700, "amount": "217.00"}]
    assert {b["priority"] for b in listed["breaks"]} == {"low"}
    with tenant_workbench(bench.url, "acme") as conn:
        only = views.open_breaks(conn, "acme", DAY, {"break_type": "bank_unmatched", "min_amount": "70"})["breaks"]
        none = views.open_breaks(conn, "acme", DAY, {"max_amount": "49.99"})["breaks"]
    assert [b["source_ref"] for b in only] == [by_type["bank_unmatched"]["source_ref"]] and none == []


def test_assign_comment_reference_are_audited_and_need_a_preparer(bench):
    prep, view = bench.actor("acme_prep"), bench.actor("acme_view")
    with tenant_workbench(bench.url, "acme") as conn:
        brk = _breaks(conn)["bank_unmatched"]["break_id"]
        actions.assign(conn, prep, DAY, brk, "acme_prep")
        actions.assign(conn, prep, DAY, brk, "acme_appr")
        actions.comment(conn, prep, DAY, brk, "customer JOHN SMITH paid by wire, ask AR")
        actions.attach_reference(conn, prep, DAY, brk, "https://tickets.example/FIN-12")
        with pytest.raises(ActionRefused, match="viewer"):
            actions.comment(conn, view, DAY, brk, "a viewer cannot")
        with pytest.raises(ActionRefused, match="not a preparer"):
            actions.assign(conn, prep, DAY, brk, "acme_view")
        with pytest.raises(ActionRefused, match="ticket id or an http"):
            actions.attach_reference(conn, prep, DAY, brk, "javascript:alert(1)")
        history = views.break_page(conn, "acme", DAY, brk).history
        assert _breaks(conn)["bank_unmatched"]["assignee"] == "acme_appr"
    assert [(e["kind"], e["actor_name"]) for e in history] == [
        ("assigned", "acme_prep"), ("assigned", "acme_prep"), ("commented", "acme_prep"), ("referenced", "acme_prep")]
    assert '"assignee": "acme_prep"' in history[1]["before"] and '"assignee": "acme_appr"' in history[1]["after"]


def test_the_audit_log_is_append_only_even_for_the_owner(bench):
    prep = bench.actor("acme_prep")
    with tenant_workbench(bench.url, "acme") as conn:
        brk = _breaks(conn)["bank_unmatched"]["break_id"]
        actions.comment(conn, prep, DAY, brk, "first")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE workbench.events SET note = 'edited'")
    with psycopg.connect(bench.url) as owner:
        for statement in ("UPDATE workbench.events SET note = 'edited'", "DELETE FROM workbench.events",
                          "TRUNCATE workbench.events", "TRUNCATE workbench.day_signoffs"):
            with pytest.raises(psycopg.errors.RestrictViolation, match="append-only"):
                owner.execute(statement)
            owner.rollback()


def test_write_off_posts_only_after_a_second_persons_approval(bench):
    prep, appr = bench.actor("acme_prep"), bench.actor("acme_appr")
    with tenant_workbench(bench.url, "acme") as conn:
        brk = _breaks(conn)["amount_mismatch"]["break_id"]
        receivable = _balance(conn, "processor_receivable:stripe")
        proposed = perform(bench.archive, conn, prep, actions.adjust, DAY, brk, "write_offs",
                           "Stripe charged 0.01 more")
        assert not proposed.effective and _breaks(conn)["amount_mismatch"]["state"] == "awaiting approval"
        assert conn.execute("SELECT count(*) FROM ledger.journal_entries WHERE source_kind = 'workbench'"
                            ).fetchone()[0] == 0
        with pytest.raises(ActionRefused, match="approver role"):
            actions.approve(conn, prep, proposed.proposal_id)
        appr_self = bench.actor("acme_appr")
        with pytest.raises(ActionRefused, match="awaiting approval"):
            actions.accept(conn, appr_self, DAY, brk, "immaterial", "a second proposal on the same break")
        approved = perform(bench.archive, conn, appr, actions.approve, proposed.proposal_id, "ok, within policy")
        assert approved.effective and approved.extra["refreshed"] == [DAY]
        # The processor paid 0.01 more than the internal record: Dr receivable 0.01, Cr write-offs 0.01
        assert _balance(conn, "processor_receivable:stripe") - receivable == 1
        assert _balance(conn, "write_offs") == -1
        assert "amount_mismatch" not in _breaks(conn)
        tb = dict(conn.execute("SELECT account_code, credit_minor FROM reports.trial_balance WHERE business_date = %s"
                               " AND account_code = 'write_offs'", (DAY,)).fetchall())
        assert tb == {"write_offs": 1}
        item_states = conn.execute("SELECT status, rule FROM recon.item_status WHERE business_date = %s"
                                   " AND break_id = %s", (DAY, brk)).fetchall()
        assert set(item_states) == {("explained", "written_off")}
        history = views.break_page(conn, "acme", DAY, brk).history
        entry = conn.execute("SELECT description, source_ref FROM ledger.journal_entries WHERE idempotency_key = %s",
                             (approved.entry_key,)).fetchone()
    assert [(e["kind"], e["actor_name"]) for e in history] == [("proposed", "acme_prep"), ("approved", "acme_appr")]
    assert entry[1] == brk and '"approved_by": "acme_appr"' in entry[0] and '"proposed_by": "acme_prep"' in entry[0]


def test_nobody_approves_their_own_proposal_not_even_past_the_code(bench):
    appr = bench.actor("acme_appr")
    with tenant_workbench(bench.url, "acme") as conn:
        brk = _breaks(conn)["bank_unmatched"]["break_id"]
        proposed = actions.adjust(conn, appr, DAY, brk, "suspense", "clear it")
        with pytest.raises(psycopg.errors.CheckViolation, match="nobody approves or rejects their own"):
            actions.approve(conn, appr, proposed.proposal_id)
        with pytest.raises(psycopg.errors.CheckViolation, match="nobody approves"):
            conn.execute("INSERT INTO workbench.decisions (proposal_id, tenant, decision, decided_by) VALUES"
                         " (%s, 'acme', 'approved', %s)", (proposed.proposal_id, appr.user_id))


def test_a_rejection_needs_a_note_and_leaves_the_break_open(bench):
    prep, appr = bench.actor("acme_prep"), bench.actor("acme_appr")
    with tenant_workbench(bench.url, "acme") as conn:
        brk = _breaks(conn)["bank_unmatched"]["break_id"]
        proposed = actions.adjust(conn, prep, DAY, brk, "write_offs", "write it off")
        with pytest.raises(ActionRefused, match="needs a note"):
            actions.reject(conn, appr, proposed.proposal_id, "  ")
        actions.reject(conn, appr, proposed.proposal_id, "find the customer first")
        with pytest.raises(ActionRefused, match="already rejected"):
            actions.approve(conn, bench.actor("appr2"), proposed.proposal_id)
        assert _breaks(conn)["bank_unmatched"]["state"] == "open"
        assert conn.execute("SELECT count(*) FROM ledger.journal_entries WHERE source_kind = 'workbench'"
                            ).fetchone()[0] == 0


def test_accept_below_the_four_eyes_amount_applies_at_once_and_survives_a_rerun(bench):
    prep = bench.actor("acme_prep")
    with tenant_workbench(bench.url, "acme") as conn:
        brk = _breaks(conn)["bank_unmatched"]["break_id"]
        with pytest.raises(ActionRefused, match="needs a note"):
            actions.accept(conn, prep, DAY, brk, "timing", "")
        with pytest.raises(ActionRefused, match="reason must be one of"):
            actions.accept(conn, prep, DAY, brk, "because", "no such reason")
        done = perform(bench.archive, conn, prep, actions.accept, DAY, brk, "customer_dispute", "JOHN SMITH disputes")
        assert done.effective and "bank_unmatched" not in _breaks(conn)
        states = conn.execute("SELECT status, rule, details->'accepted'->>'reason' FROM recon.item_status"
                              " WHERE business_date = %s AND break_id = %s", (DAY, brk)).fetchall()
        assert states == [("explained", "accepted", "customer_dispute")]
        before = conn.execute("SELECT source, source_ref, status, rule, details::text FROM recon.item_status"
                              " WHERE business_date = %s ORDER BY 1, 2", (DAY,)).fetchall()
        from financeops_pipeline.workbench.refresh import refresh_days

        assert refresh_days(conn, bench.archive, "acme", DAY) == [DAY]
        after = conn.execute("SELECT source, source_ref, status, rule, details::text FROM recon.item_status"
                             " WHERE business_date = %s ORDER BY 1, 2", (DAY,)).fetchall()
    assert before == after


def test_closing_a_large_break_needs_an_approver(bench, monkeypatch, tmp_path):
    policy = tmp_path / "wb.yaml"
    policy.write_text("four_eyes_above_minor: {default: 5000}\n")
    monkeypatch.setenv("FINANCEOPS_WORKBENCH_CONFIG", str(policy))
    prep, appr = bench.actor("acme_prep"), bench.actor("acme_appr")
    with tenant_workbench(bench.url, "acme") as conn:
        brk = _breaks(conn)["bank_unmatched"]["break_id"]   # 77.00 > 50.00
        proposed = actions.accept(conn, prep, DAY, brk, "timing", "expected to be identified tomorrow",
                                  until=DAY + dt.timedelta(days=1))
        assert not proposed.effective
        assert [p["proposal_id"] for p in views.waiting_for(conn, appr)] == [proposed.proposal_id]
        assert views.waiting_for(conn, prep) == []
        perform(bench.archive, conn, appr, actions.approve, proposed.proposal_id)
        assert "bank_unmatched" not in _breaks(conn)


def test_manual_match_n_to_m_with_tolerance_and_with_an_adjusting_entry(bench):
    prep, appr = bench.actor("acme_prep"), bench.actor("acme_appr")
    with tenant_workbench(bench.url, "acme") as conn:
        items = {(i["source"], i["break_type"]): f"{i['source']}|{i['source_ref']}"
                 for i in views.break_page(conn, "acme", DAY, _breaks(conn)["amount_mismatch"]["break_id"]).items}
        internal, processor = items[("internal", "amount_mismatch")], items[("processor", "amount_mismatch")]
        # 50.00 against 50.01: within the USD tolerance of 0.01, no entry; 50.00 vs 90.00 + 50.01 is not
        with pytest.raises(ActionRefused, match="more than the tolerance"):
            other = _breaks(conn)["missing_in_internal"]
            actions.match(conn, prep, DAY, [internal], [processor, f"{other['source']}|{other['source_ref']}"], "n")
        done = perform(bench.archive, conn, prep, actions.match, DAY, [internal], [processor],
                       "same charge, 0.01 rounding")
        assert done.effective and "amount_mismatch" not in _breaks(conn)
        states = set(conn.execute("SELECT status, rule, match_group FROM recon.item_status WHERE business_date = %s"
                                  " AND source || '|' || source_ref IN (%s, %s)", (DAY, internal, processor)))
        assert states == {("matched", "manual_match", f"manual:{done.proposal_id}")}
        with pytest.raises(ActionRefused, match="already matched"):
            actions.match(conn, prep, DAY, [internal], [processor], "again")
        # Unmatch: the items are the engine's again (the amount mismatch comes back)
        perform(bench.archive, conn, prep, actions.unmatch, DAY, done.proposal_id, "matched the wrong pair")
        assert "amount_mismatch" in _breaks(conn)
        # The 90.00 Stripe line against the 77.00 bank credit: 13.00 apart, taken to write-offs with approval
        line, credit = _breaks(conn)["missing_in_internal"], _breaks(conn)["bank_unmatched"]
        proposed = actions.match(conn, prep, DAY, [f"{credit['source']}|{credit['source_ref']}"],
                                 [f"{line['source']}|{line['source_ref']}"], "customer paid the charge by wire, short",
                                 adjust_account="write_offs")
        assert not proposed.effective
        approved = perform(bench.archive, conn, appr, actions.approve, proposed.proposal_id)
        assert approved.entry_key and {"missing_in_internal", "bank_unmatched"}.isdisjoint(_breaks(conn))
        legs = conn.execute("SELECT account_code, amount_minor FROM ledger.postings p JOIN ledger.journal_entries e"
                            " USING (entry_id) WHERE e.idempotency_key = %s ORDER BY 1",
                            (approved.entry_key,)).fetchall()
    # difference = right - left = 9000 - 7700 = 1300: Dr write_offs 13.00, Cr the bank break's account (suspense)
    assert legs == [("suspense", -1300), ("write_offs", 1300)]


def test_signoff_needs_every_material_break_explained(bench):
    prep, appr = bench.actor("acme_prep"), bench.actor("acme_appr")
    with tenant_workbench(bench.url, "acme") as conn:
        status = views.signoff_status(conn, "acme", DAY)
        assert not status["can_sign_off"] and len(status["blockers"]) == 3
        with pytest.raises(ActionRefused, match="3 break.s. above materiality"):
            views.sign_off(conn, appr, DAY)
        b = _breaks(conn)
        waiting = actions.adjust(conn, prep, DAY, b["amount_mismatch"]["break_id"], "rounding", "0.01 rounding")
        for kind in ("missing_in_internal", "bank_unmatched"):
            perform(bench.archive, conn, prep, actions.accept, DAY, b[kind]["break_id"], "timing",
                    "identified tomorrow")
        with pytest.raises(ActionRefused, match="1 break.s. above materiality"):   # the write-off is undecided
            views.sign_off(conn, appr, DAY)
        perform(bench.archive, conn, appr, actions.reject, waiting.proposal_id, "accept it instead, it is rounding")
        perform(bench.archive, conn, prep, actions.accept, DAY, b["amount_mismatch"]["break_id"], "immaterial", "0.01")
        with pytest.raises(ActionRefused, match="approver role"):
            views.sign_off(conn, prep, DAY)
        views.sign_off(conn, appr, DAY, "all explained")
        assert views.is_locked(conn, "acme", DAY)
        with pytest.raises(ActionRefused, match="already signed off"):
            views.sign_off(conn, bench.actor("appr2"), DAY)
        events = conn.execute("SELECT kind, actor_name FROM workbench.events WHERE kind = 'signed_off'").fetchall()
    assert events == [("signed_off", "acme_appr")]


def test_a_locked_day_keeps_what_it_reported_and_adjustments_go_to_the_next_open_day(bench, monkeypatch, tmp_path):
    from financeops_pipeline.ledger.adjustments import Adjustment, post_adjustments
    from financeops_pipeline.workbench.refresh import refresh_days

    policy = tmp_path / "wb.yaml"
    policy.write_text("materiality_minor: {default: 100000}\n")   # the sample's breaks are all below 1000.00
    monkeypatch.setenv("FINANCEOPS_WORKBENCH_CONFIG", str(policy))
    prep, appr = bench.actor("acme_prep"), bench.actor("acme_appr")
    snapshot = ("SELECT (SELECT string_agg(concat_ws('|', source, source_ref, status, break_id, details::text), ';'"
                " ORDER BY source, source_ref) FROM recon.item_status WHERE business_date = %(d)s),"
                " (SELECT string_agg(concat_ws('|', break_id, lifecycle), ';' ORDER BY break_id) FROM recon.breaks"
                " WHERE business_date = %(d)s), (SELECT run_id FROM recon.runs WHERE business_date = %(d)s),"
                " (SELECT string_agg(concat_ws('|', account_code, currency, debit_minor, credit_minor), ';'"
                " ORDER BY account_code) FROM reports.trial_balance WHERE business_date = %(d)s)")
    with tenant_workbench(bench.url, "acme") as conn:
        views.sign_off(conn, appr, DAY, "open breaks are below materiality")
        reported = conn.execute(snapshot, {"d": DAY}).fetchone()
        # The database refuses a posting dated on the locked day, whichever path posts it
        with pytest.raises(psycopg.errors.RestrictViolation, match="signed off and locked"):
            post_adjustments(conn, "acme", [Adjustment("t:locked", "recon_adjustment", DAY, "USD", 100,
                                                       {"adjust_account": "write_offs", "counter_account": "suspense"},
                                                       "into a locked day", "workbench", "x")], "run")
        # A write-off of a break of the locked day is booked on the next open day
        brk = _breaks(conn)["bank_unmatched"]["break_id"]
        proposed = actions.adjust(conn, prep, DAY, brk, "write_offs", "unidentified, write off")
        approved = perform(bench.archive, conn, appr, actions.approve, proposed.proposal_id)
        booked = conn.execute("SELECT business_date FROM ledger.journal_entries WHERE idempotency_key = %s",
                              (approved.entry_key,)).fetchone()[0]
        assert booked == DAY + dt.timedelta(days=1)
        # Re-running the locked day (the reconciliation and the reports) changes nothing it reported
        assert refresh_days(conn, bench.archive, "acme", DAY) == []
        from financeops_pipeline.reports.build import build_sections

        build_sections(conn, "trial_balance", "acme", DAY)
        assert conn.execute(snapshot, {"d": DAY}).fetchone() == reported
    from tests.reports.sample_run import materialize

    result = materialize(bench.url, "2026-11-04", whole=True, tenants="acme", archive=bench.archive)
    assert result.success
    with tenant_workbench(bench.url, "acme") as conn:
        assert conn.execute(snapshot, {"d": DAY}).fetchone() == reported
