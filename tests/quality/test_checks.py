"""Each data-quality gate passes on the sample days and fails, for the right reason, on a bad day.

Bad days are planted as the database owner in a scratch copy of the sample database (the check then runs
alone, so the planted row stays as planted), or landed as crafted files in tmp_path and run through the
assets. Every check runs through Dagster materialization with a partition key, as in production.
"""

from __future__ import annotations

import shutil
import uuid

import dagster as dg
import psycopg
import pytest

from tests.conftest import SAMPLES, query
from tests.reports.sample_run import clone_sample, drop_database, evaluations, materialize, md

D4 = "2026-11-04"
IMPORTS = ["imports/bank_records", "imports/processor_records", "imports/internal_records"]
ALL_CHECKS = {
    "imports/bank_records/expectation_suite", "imports/processor_records/expectation_suite",
    "imports/internal_records/expectation_suite", "imports/bank_records/files_fresh",
    "imports/processor_records/files_fresh", "imports/internal_records/files_fresh",
    "imports/bank_records/statement_integrity", "imports/bank_records/quarantined_records",
    "imports/processor_records/quarantined_records", "imports/internal_records/quarantined_records",
    "ledger/journal_entries/ledger_balanced", "ledger/journal_entries/snapshots_match_postings",
    "ledger/journal_entries/no_duplicate_idempotency_keys", "ledger/journal_entries/source_records_posted",
    "recon/three_way_match/recon_conservation", "ledger/journal_entries/cash_matches_bank",
}


@pytest.fixture
def scratch(sample, pg_target):
    """A throw-away copy of the sample database (all three days run) to plant bad rows in as the owner."""
    name = f"fo_q_{uuid.uuid4().hex[:8]}"
    yield clone_sample(pg_target, sample, name)
    drop_database(pg_target, name)


def test_the_sample_days_pass_every_gate(sample):
    for day, result in sample.results.items():
        ev = {k: e for k, e in evaluations(result).items() if k in ALL_CHECKS}   # other stages test their own
        assert set(ev) == ALL_CHECKS, day
        # files_fresh is about wall-clock arrival: the sample is loaded long after its days (tested below)
        failed = sorted(k for k, e in ev.items() if not e.passed and not k.endswith("files_fresh"))
        assert failed == [], (day, failed)
        suite = ev["imports/processor_records/expectation_suite"]
        assert suite.metadata["rows_validated"].value > 0 and suite.metadata["failed_expectations"].value == 0


def test_expectation_suites_name_the_failed_expectation_rows_and_samples(scratch):
    # An internal record that reuses acme-T0016, in an unknown currency, through an unknown processor, too large.
    query(scratch, "INSERT INTO imports.internal_transactions (tenant, business_date, file_id, record_no,"
                   " source_position, transaction_id, created_at, type, amount_minor, currency, processor,"
                   " processor_reference) VALUES ('acme', %s, 900001, 99, 'line 99', 'acme-T0016', now(), 'payment',"
                   " 10000000000000, 'ZZZ', 'square', 'ref') RETURNING 1", (D4,))
    query(scratch, "INSERT INTO imports.processor_lines (tenant, business_date, file_id, record_no, source_position,"
                   " processor, line_id, category, created_at, currency, gross_minor, fee_minor, net_minor)"
                   " VALUES ('acme', %s, 900002, 9, 'line 9', 'stripe', 'txn_x', 'bogus', now(), 'USD',"
                   " 100, 0, 100) RETURNING 1", (D4,))
    query(scratch, "INSERT INTO imports.bank_lines (tenant, business_date, file_id, record_no, source_position,"
                   " account_id, currency, booking_date, amount_minor, classification) VALUES ('acme', %s, 900003, 9,"
                   " 'Ntry[9]', '123456789', 'USD', '2026-01-15', 100, 'mystery') RETURNING 1", (D4,))
    result = materialize(scratch, D4, checks=[(a, "expectation_suite") for a in IMPORTS])
    ev = evaluations(result)
    assert not result.success   # the suites are blocking
    internal = ev["imports/internal_records/expectation_suite"]
    assert not internal.passed and internal.metadata["failed_expectations"].value == 4
    failures = md(internal, "failures")
    assert "| acme | expect_column_values_to_be_unique | transaction_id | 2 | acme-T0016, acme-T0016 |" in failures
    assert "| expect_column_values_to_be_in_set | currency | 1 | ZZZ |" in failures
    assert "| expect_column_values_to_be_in_set | processor | 1 | square |" in failures
    assert "| expect_column_values_to_be_between | amount_minor | 1 | 10000000000000 |" in failures
    processor = md(ev["imports/processor_records/expectation_suite"], "failures")
    assert "| expect_column_values_to_be_in_set | category | 1 | bogus |" in processor
    bank = md(ev["imports/bank_records/expectation_suite"], "failures")
    assert "| classification | 1 | mystery |" in bank and "| booking_date | 1 | 2026-01-15 |" in bank


def test_the_suites_as_sql_find_what_gx_finds(scratch, sample):
    # The same planted rows as above, and a second record repeating a transaction id: the SQL forms of each suite
    # (what a big day runs, quality/expectations.py), in Postgres and in DuckDB, name the same expectations,
    # columns, counts and values.
    import datetime as dt

    from financeops_pipeline.db.connect import tenant_connection
    from financeops_pipeline.quality.expectations import SUITES, read_frame, validate, validate_records, validate_sql

    day = dt.date.fromisoformat(D4)
    query(scratch, "INSERT INTO imports.internal_transactions (tenant, business_date, file_id, record_no,"
                   " source_position, transaction_id, created_at, type, amount_minor, currency, processor,"
                   " processor_reference) VALUES ('acme', %s, 900001, 99, 'line 99', 'acme-T0016', now(), 'payment',"
                   " 10000000000000, 'ZZZ', 'square', 'ref'), ('acme', %s, 900001, 100, 'line 100', 'acme-T0016',"
                   " now(), 'refund', 5, 'USD', 'stripe', 'ref') RETURNING 1", (D4, D4))
    query(scratch, "INSERT INTO imports.processor_lines (tenant, business_date, file_id, record_no, source_position,"
                   " processor, line_id, category, created_at, currency, gross_minor, fee_minor, net_minor)"
                   " VALUES ('acme', %s, 900002, 9, 'line 9', 'stripe', 'txn_x', 'bogus', now(), 'USD',"
                   " 100, 0, 100), ('acme', %s, 900002, 9, 'line 9', 'stripe', 'txn_y', 'fee', now(), 'USD',"
                   " 100, 0, 100) RETURNING 1", (D4, D4))
    query(scratch, "INSERT INTO imports.bank_lines (tenant, business_date, file_id, record_no, source_position,"
                   " account_id, currency, booking_date, amount_minor, classification) VALUES ('acme', %s, 900003, 9,"
                   " 'Ntry[9]', '123456789', 'USD', '2026-01-15', 100, 'mystery') RETURNING 1", (D4,))

    def key(failures):
        return sorted((f["expectation"], f["column"], f["unexpected_count"], sorted(f["sample"].split(", ")))
                      for f in failures)

    with tenant_connection(scratch, "acme") as conn:
        for table in SUITES:
            gx = validate(read_frame(conn, table, "acme", day, day), table, day, day)
            sql = validate_sql(conn, table, "acme", day, day)
            assert (sql.rows, sql.evaluated) == (gx.rows, gx.evaluated), table
            # plain ints, as GX gives: the check's Dagster metadata refuses a Decimal (Postgres' sum of counts)
            assert type(sql.rows) is int and all(type(f["unexpected_count"]) is int for f in sql.failures), table
            assert key(sql.failures) == key(gx.failures) and sql.failures, table
            frame = read_frame(conn, table, "acme", day, day)
            in_duckdb = _duckdb_suite(frame, table, day)
            assert (in_duckdb.rows, in_duckdb.evaluated) == (gx.rows, gx.evaluated), table
            assert key(in_duckdb.failures) == key(gx.failures), table
            # rows planted behind the import's back are not in its record files: the suite goes to Postgres
            assert validate_records(conn, sample.archive, table, "acme", day, day) is None, table
            clean = dt.date(2026, 11, 2)   # a day nothing was planted in: one scan, no failures
            sql, gx = validate_sql(conn, table, "acme", clean, clean), validate(
                read_frame(conn, table, "acme", clean, clean), table, clean, clean)
            assert (sql.rows, sql.failures) == (gx.rows, gx.failures) == (gx.rows, []) and sql.rows > 0, table
            files = validate_records(conn, sample.archive, table, "acme", clean, clean)   # the record files' form
            assert files is not None and (files.rows, files.evaluated, files.failures) == (
                sql.rows, sql.evaluated, []), table


def _duckdb_suite(frame, table, day):
    """The DuckDB form of a suite over the rows of a frame (read from Postgres, planted rows and all)."""
    import duckdb

    from financeops_pipeline.quality.expectations import validate_duckdb

    con = duckdb.connect()
    con.register("frame", frame)
    # read_frame gives the dates as timestamps: back to dates, as the record files hold them
    dates = [c for c in ("business_date", "booking_date") if c in frame]
    con.execute("CREATE TABLE rows AS SELECT * REPLACE (" + ", ".join(f"CAST({c} AS DATE) AS {c}" for c in dates)
                + ") FROM frame")
    return validate_duckdb(con, "rows", table, day, day)


def test_freshness_cut_off(scratch):
    checks = [(a, "files_fresh") for a in IMPORTS]
    # Good day: every file of 11-04 imported at 07:59 on 11-05, before the 08:00 cut-off (UTC partitions).
    query(scratch, "UPDATE imports.files SET imported_at = '2026-11-05 07:59+00' WHERE business_date = %s"
                   " RETURNING 1", (D4,))
    ev = evaluations(materialize(scratch, D4, checks=checks, env={"FINANCEOPS_FRESHNESS_CUTOFF": "08:00"}))
    assert all(e.passed for e in ev.values()), {k: md(e) for k, e in ev.items()}
    assert ev["imports/bank_records/files_fresh"].metadata["deadline"].value == "2026-11-05T08:00:00+00:00"
    # Bad day: acme's bank statement lands at 09:30 and globex's settlement report never arrives.
    query(scratch, "UPDATE imports.files SET imported_at = '2026-11-05 09:30+00' WHERE business_date = %s"
                   " AND tenant = 'acme' AND source = 'bank' RETURNING 1", (D4,))
    query(scratch, "DELETE FROM imports.files WHERE business_date = %s AND tenant = 'globex' AND source = 'processor'"
                   " RETURNING 1", (D4,))
    ev = evaluations(materialize(scratch, D4, checks=checks, env={"FINANCEOPS_FRESHNESS_CUTOFF": "08:00"}))
    bank, processor = ev["imports/bank_records/files_fresh"], ev["imports/processor_records/files_fresh"]
    assert not bank.passed and "camt053_2026-11-04.xml" in md(bank) and "arrived 1:30:00 after the deadline" in md(bank)
    assert not processor.passed and "| globex |" in md(processor) and "no processor file arrived" in md(processor)
    assert ev["imports/internal_records/files_fresh"].passed
    assert bank.severity.value == "WARN"   # late files warn; they do not stop the day
    # A later cut-off (10:00) accepts the 09:30 statement.
    ev = evaluations(materialize(scratch, D4, checks=checks[:1], env={"FINANCEOPS_FRESHNESS_CUTOFF": "10:00"}))
    assert ev["imports/bank_records/files_fresh"].passed


def test_cash_at_bank_must_move_as_the_bank_statements(scratch):
    # The bank's 11-04 statement reports 1.00 more than the entries the ledger posted (and adds up by itself).
    query(scratch, "UPDATE imports.bank_statements SET closing_balance_minor = closing_balance_minor + 100,"
                   " entries_total_minor = entries_total_minor + 100 WHERE tenant = 'acme' AND business_date = %s"
                   " RETURNING 1", (D4,))
    result = materialize(scratch, D4, checks=[("ledger/journal_entries", "cash_matches_bank"),
                                              ("imports/bank_records", "statement_integrity")])
    ev = evaluations(result)
    cash = ev["ledger/journal_entries/cash_matches_bank"]
    assert not cash.passed and not result.success   # blocking
    # ledger: 233.06 + 117.65 = 350.71 on the day; the statement now says 10284.48 -> 10636.19, i.e. 351.71
    assert "| acme | 2026-11-04 | 123456789 | USD | 35071 | 35171 |" in md(cash)
    assert "day: ledger moved 35071, bank statements 35171" in md(cash)
    assert ev["imports/bank_records/statement_integrity"].passed   # only the ledger-vs-bank gate sees it


def test_statement_continuity_names_account_and_day(scratch):
    # The 11-04 statement opens 0.01 below the 11-03 closing 10284.48 (and closes 0.01 lower, so it adds up).
    query(scratch, "UPDATE imports.bank_statements SET opening_balance_minor = opening_balance_minor - 1,"
                   " closing_balance_minor = closing_balance_minor - 1 WHERE tenant = 'acme' AND business_date = %s"
                   " RETURNING 1", (D4,))
    ev = evaluations(materialize(scratch, D4, checks=[("imports/bank_records", "statement_integrity")]))
    check = ev["imports/bank_records/statement_integrity"]
    assert not check.passed
    assert "| 123456789 | USD | ACME-STMT-20261104 | 2026-11-04 | error | opening 1028447 <> previous closing " \
           "1028448 of 2026-11-03 |" in md(check)
    assert check.severity == dg.AssetCheckSeverity.ERROR


def test_a_statement_that_does_not_add_up_fails(scratch):
    # The 11-04 statement's closing balance is 0.01 above opening 10284.48 + entries 350.71 = 10635.19.
    query(scratch, "UPDATE imports.bank_statements SET closing_balance_minor = closing_balance_minor + 1"
                   " WHERE tenant = 'acme' AND business_date = %s RETURNING 1", (D4,))
    ev = evaluations(materialize(scratch, D4, checks=[("imports/bank_records", "statement_integrity")]))
    check = ev["imports/bank_records/statement_integrity"]
    assert not check.passed and check.metadata["violations"].value == 1
    assert "| error | opening 1028448 + entries 35071 <> closing 1063520 |" in md(check)


def test_a_statement_without_its_closing_balance_loads_and_warns(scratch):
    # As if the 11-04 statement had come without CLBD: the parser derives opening 10284.48 + entries 350.71
    # = 10635.19 and marks it derived; the check warns (the bank did not vouch for it), it does not fail.
    query(scratch, "UPDATE imports.bank_statements SET closing_type = NULL, closing_derived = true,"
                   " available_type = 'CLAV', available_balance_minor = 1063519"
                   " WHERE tenant = 'acme' AND business_date = %s RETURNING 1", (D4,))
    ev = evaluations(materialize(scratch, D4, checks=[("imports/bank_records", "statement_integrity")]))
    check = ev["imports/bank_records/statement_integrity"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert ("| 123456789 | USD | ACME-STMT-20261104 | 2026-11-04 | warn | no closing balance given: derived 1063519 "
            "= opening 1028448 (OPBD) + entries 35071; available balance CLAV 1063519 |") in md(check)


def test_a_failed_blocking_check_stops_the_downstream_reports(scratch):
    """Good day: the ledger and its trial balance are published. Bad day (a one-legged posting): the ledger
    asset runs, its blocking check fails, and the report of that partition is not built."""
    assets = ["ledger/journal_entries", "reports/trial_balance"]
    checks = [("ledger/journal_entries", "ledger_balanced")]
    published = "SELECT count(*) FROM reports.trial_balance WHERE business_date = %s"
    query(scratch, "DELETE FROM reports.trial_balance WHERE business_date = %s RETURNING 1", (D4,))
    good = materialize(scratch, D4, assets=assets, checks=checks)
    assert good.success and evaluations(good)["ledger/journal_entries/ledger_balanced"].passed
    assert "reports/trial_balance" in {m.asset_key.to_user_string() for m in good.get_asset_materialization_events()}
    assert query(scratch, published, (D4,))[0][0] > 0

    query(scratch, "DELETE FROM reports.trial_balance WHERE business_date = %s RETURNING 1", (D4,))
    with psycopg.connect(scratch) as conn:
        conn.execute("ALTER TABLE ledger.postings_legacy DISABLE TRIGGER postings_balanced")
    query(scratch, "INSERT INTO ledger.journal_entries_legacy (entry_id, tenant, idempotency_key, business_date,"
                   " rule_id, rule_version, source_kind, run_id, code_version)"
                   " VALUES (999999, 'acme', 'test:one-legged', %s,"
                   " 'manual', 't', 'manual', 'test', 't') RETURNING 1", (D4,))
    query(scratch, "INSERT INTO ledger.postings_legacy VALUES (999999, 1, 'acme', %s, 'cash:123456789', 'USD', 100)"
                   " RETURNING 1", (D4,))
    bad = materialize(scratch, D4, assets=assets, checks=checks)
    assert not bad.success and not evaluations(bad)["ledger/journal_entries/ledger_balanced"].passed
    materialized = {m.asset_key.to_user_string() for m in bad.get_asset_materialization_events()}
    assert "ledger/journal_entries" in materialized and "reports/trial_balance" not in materialized
    # the checks' step failed; the report's step never ran
    assert {e.step_key for e in bad.get_step_failure_events()} == {"ledger_checks"}
    assert not any("trial_balance" in e.step_key for e in bad.get_step_success_events())
    assert query(scratch, published, (D4,))[0][0] == 0   # nothing published for the bad day


def test_a_source_record_without_its_journal_entry_fails(scratch):
    # A bank line of 11-04 that no posting run has seen (loaded behind the pipeline's back).
    query(scratch, "INSERT INTO imports.bank_lines (tenant, business_date, file_id, record_no, source_position,"
                   " account_id, currency, booking_date, amount_minor, acct_svcr_ref, classification)"
                   " VALUES ('acme', %s, 900004, 3, 'Ntry[3]', '123456789', 'USD', %s, 500, 'ACME-BANK-20261104-099',"
                   " 'other') RETURNING 1", (D4, D4))
    ev = evaluations(materialize(scratch, D4, checks=[("ledger/journal_entries", "source_records_posted"),
                                                      ("ledger/journal_entries", "no_duplicate_idempotency_keys")]))
    posted = ev["ledger/journal_entries/source_records_posted"]
    assert not posted.passed and posted.metadata["violations"].value == 1
    assert "| bank |" in md(posted) and "bank:123456789:ACME-BANK-20261104-099 | no journal entry |" in md(posted)
    assert ev["ledger/journal_entries/no_duplicate_idempotency_keys"].passed


@pytest.mark.parametrize("resent_amount, bad", [("41.00", True), ("40.00", False)])
def test_an_id_reused_for_other_money_fails_a_known_duplicate_passes(db_url, tmp_path, resent_amount, bad):
    """acme-T0001 (40.00 on 11-02) arrives again on 11-03: with 41.00 it is another movement under a taken key
    (posting skips it, money is lost); with 40.00 it is the same record delivered twice (a known duplicate)."""
    landing = tmp_path / "landing"
    shutil.copytree(SAMPLES / "acme" / "2026-11-02" / "internal", landing / "acme" / "2026-11-02" / "internal")
    lines = (SAMPLES / "acme" / "2026-11-02" / "internal" / "transactions.csv").read_text().splitlines()
    resent = lines[1].replace(",40.00,", f",{resent_amount},")
    (landing / "acme" / "2026-11-03" / "internal").mkdir(parents=True)
    (landing / "acme" / "2026-11-03" / "internal" / "resent.csv").write_text(f"{lines[0]}\n{resent}\n")
    assets = ["imports/internal_records", "ledger/journal_entries"]
    assert materialize(db_url, "2026-11-02", assets=assets, data_dir=landing, archive=tmp_path / "a").success
    checks = [("ledger/journal_entries", "no_duplicate_idempotency_keys"),
              ("ledger/journal_entries", "source_records_posted")]
    result = materialize(db_url, "2026-11-03", assets=assets, checks=checks, data_dir=landing,
                         archive=tmp_path / "a")
    ev = evaluations(result)
    dup, posted = (ev[f"ledger/journal_entries/{c}"] for _, c in checks)
    if not bad:
        assert result.success and dup.passed and posted.passed
        return
    assert not result.success and not dup.passed and not posted.passed
    assert "| internal:acme-T0001 | record USD 4100 but the key was posted as USD 4000 |" in md(dup)
    assert "resent.csv" in md(posted) and "the key was posted from transactions.csv" in md(posted)
    assert "as USD 4000, this record is USD 4100" in md(posted)


def test_existing_ledger_and_recon_gates_fail_on_a_bad_day(scratch):
    # As the owner, bypass the balance and snapshot triggers of the entries + postings tables (kept, as *_legacy,
    # by migration 0060; a transfer cannot be one-legged) and post a one-legged 1.00 to cash; lose one
    # reconciled item.
    with psycopg.connect(scratch) as conn:
        conn.execute("ALTER TABLE ledger.postings_legacy DISABLE TRIGGER postings_balanced,"
                     " DISABLE TRIGGER postings_snapshot")
    query(scratch, "INSERT INTO ledger.journal_entries_legacy (entry_id, tenant, idempotency_key, business_date,"
                   " rule_id, rule_version, source_kind, run_id, code_version)"
                   " VALUES (999999, 'acme', 'test:one-legged', %s,"
                   " 'manual', 't', 'manual', 'test', 't') RETURNING 1", (D4,))
    query(scratch, "INSERT INTO ledger.postings_legacy VALUES (999999, 1, 'acme', %s, 'cash:123456789', 'USD', 100)"
                   " RETURNING 1", (D4,))
    # lose acme-T0021 (250.00, matched) from the day's reconciliation totals
    query(scratch, "UPDATE recon.day_totals SET items = items - 1, amount_minor = amount_minor - 25000"
                   " WHERE tenant = 'acme' AND business_date = %s AND source = 'internal' AND currency = 'USD'"
                   " AND scope = 'day' AND status = 'matched' RETURNING 1", (D4,))
    ev = evaluations(materialize(scratch, D4, checks=[
        ("ledger/journal_entries", "ledger_balanced"), ("ledger/journal_entries", "snapshots_match_postings"),
        ("recon/three_way_match", "recon_conservation")]))
    assert "| acme | 2026-11-04 | USD | 100 |" in md(ev["ledger/journal_entries/ledger_balanced"])
    # snapshot 635.19 (the triggers were off) vs postings 635.19 + 1.00
    assert "| cash:123456789 | USD | 63519 | 63619 |" in md(ev["ledger/journal_entries/snapshots_match_postings"])
    # internal inputs of 11-04: 6 items, 50 + 80 + 30 + 110 + 40 + 250 = 560.00; states without T0021 (250.00)
    assert "| internal | USD | 6 | 5 | 56000 | 31000 |" in md(ev["recon/three_way_match/recon_conservation"])
    assert not any(e.passed for e in ev.values())


@pytest.mark.parametrize("day, shown", [(D4, "| cash:123456789 | USD | 63619 | 63519 |"),
                                         ("2026-11-03", "| cash:123456789 | USD | 63519 | 63619 |")])
def test_a_snapshot_that_moved_without_postings_fails(scratch, day, shown):
    """The check reads only the day (the snapshot before it + the day's postings): a snapshot moved by 1.00 that no
    posting moved is caught on its own day, and on the next day through the snapshot before it."""
    query(scratch, "UPDATE ledger.daily_balances SET balance_minor = balance_minor + 100 WHERE tenant = 'acme'"
                   " AND account_code = 'cash:123456789' AND business_date = %s RETURNING 1", (day,))
    checks = [("ledger/journal_entries", "snapshots_match_postings")]
    key = "ledger/journal_entries/snapshots_match_postings"
    for checked in sorted({day, D4}):
        ev = evaluations(materialize(scratch, checked, checks=checks))[key]
        assert not ev.passed and ev.metadata["violations"].value == 1, checked
    assert shown in md(ev)   # the 11-04 check: the snapshot at the day, the snapshot before it + the day's postings
    assert materialize(scratch, "2026-11-02", checks=checks).success   # the day before is untouched


def test_quarantined_records_warn(db_url, tmp_path):
    landing = tmp_path / "landing" / "acme" / "2026-11-02" / "internal"
    landing.mkdir(parents=True)
    lines = (SAMPLES / "acme" / "2026-11-02" / "internal" / "transactions.csv").read_text().splitlines()
    (landing / "transactions.csv").write_text("\n".join([lines[0], lines[1], lines[2].replace(",100.00,", ",1e2,")])
                                              + "\n")
    result = materialize(db_url, "2026-11-02", assets=["imports/internal_records"],
                         checks=[("imports/internal_records", "quarantined_records"),
                                 ("imports/bank_records", "quarantined_records")],
                         data_dir=tmp_path / "landing", archive=tmp_path / "a")
    check = evaluations(result)["imports/internal_records/quarantined_records"]
    assert not check.passed and check.severity.value == "WARN" and result.success
    assert "| acme | 2026-11-02 | internal | transactions.csv |" in md(check) and "| amount |" in md(check)
    # each import asset shows only its own source's quarantine
    assert evaluations(result)["imports/bank_records/quarantined_records"].passed
