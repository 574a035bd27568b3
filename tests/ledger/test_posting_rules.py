"""Each posting rule with a worked example: the debits and credits are written out by hand."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from functools import partial

import psycopg
import pytest

from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.ledger import rules as rules_module
from financeops_pipeline.ledger.posting import post_day, post_day_in_slices

DAY = dt.date(2026, 11, 2)
SHA = "a" * 64
FILE_ID = 900_001
RECORD_NO = itertools.count(1)   # record numbers of the planted rows


def plant_file(conn: psycopg.Connection) -> None:
    """Tenant acme and the file the records planted by hand name (they land in each table's default partition)."""
    conn.execute("SELECT ops.register_tenant('acme')")
    conn.execute("INSERT INTO imports.files (tenant, sha256, business_date, source, format, original_name,"
                 " archive_path, size_bytes, status, records_loaded, records_quarantined, run_id, code_version,"
                 " file_id) VALUES ('acme', %s, %s, 'internal', 'test', 'planted.csv', '-', 0, 'loaded', 0, 0,"
                 " 'test', 'test', %s)", (SHA, DAY, FILE_ID))


def internal(conn, tx_id: str, type_: str, amount: int, currency: str = "USD", processor: str = "stripe") -> None:
    conn.execute(
        "INSERT INTO imports.internal_transactions (tenant, business_date, file_id, record_no, source_position,"
        " transaction_id, created_at, type, amount_minor, currency, processor, processor_reference)"
        " VALUES ('acme', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (DAY, FILE_ID, next(RECORD_NO), f"line {tx_id}", tx_id, dt.datetime(2026, 11, 2, tzinfo=dt.UTC), type_,
         amount, currency, processor, "ch_" + tx_id))


def processor_line(conn, line_id: str, category: str, gross: int, fee: int, payout_id: str | None = None,
                   processor: str = "stripe", currency: str = "USD") -> None:
    conn.execute(
        "INSERT INTO imports.processor_lines (tenant, business_date, file_id, record_no, source_position, processor,"
        " line_id, category, created_at, currency, gross_minor, fee_minor, net_minor, payout_id)"
        " VALUES ('acme', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (DAY, FILE_ID, next(RECORD_NO), f"line {line_id}", processor, line_id, category,
         dt.datetime(2026, 11, 2, tzinfo=dt.UTC), currency, gross, fee, gross - fee, payout_id))


def bank_line(conn, ref: str, amount: int, classification: str, processor: str | None = None) -> None:
    conn.execute(
        "INSERT INTO imports.bank_lines (tenant, business_date, file_id, record_no, source_position, account_id,"
        " currency, booking_date, amount_minor, acct_svcr_ref, classification, processor)"
        " VALUES ('acme', %s, %s, %s, %s, 'ACC1', 'USD', %s, %s, %s, %s, %s)",
        (DAY, FILE_ID, next(RECORD_NO), f"line {ref}", DAY, amount, ref, classification, processor))


def posted(db_url: str) -> dict[str, list[tuple[str, int]]]:
    """Postings per idempotency key as (account, signed amount), debit > 0."""
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT e.idempotency_key, p.account_code, p.amount_minor FROM ledger.journal_entries e"
            " JOIN ledger.postings p USING (entry_id) ORDER BY e.idempotency_key, p.line_no").fetchall()
    out: dict[str, list[tuple[str, int]]] = {}
    for key, account, amount in rows:
        out.setdefault(key, []).append((account, amount))
    return out


def run_posting(db_url: str, run_id: str = "run-1"):
    with tenant_connection(db_url, "acme") as conn:
        return post_day(conn, "acme", DAY, run_id)


def test_posting_inside_an_open_transaction_is_refused_saying_why(owner, db_url):
    internal(owner, "T1", "payment", 10_000)
    owner.commit()
    with tenant_connection(db_url, "acme") as conn:
        conn.execute("SELECT 1")   # the caller's transaction is open
        with pytest.raises(RuntimeError, match="no open transaction"):
            post_day(conn, "acme", DAY, "run-1")
        conn.rollback()
        assert post_day(conn, "acme", DAY, "run-1").entries_posted == 1   # then it posts as usual


def test_internal_payment_refund_and_chargeback(owner, db_url):
    internal(owner, "T1", "payment", 10_000)    # customer pays 100.00 through Stripe
    internal(owner, "T2", "refund", 2_500)      # 25.00 refunded
    internal(owner, "T3", "chargeback", 4_000)  # 40.00 charged back
    owner.commit()
    run_posting(db_url)
    assert posted(db_url) == {
        # Dr receivable from Stripe 100.00 / Cr revenue 100.00
        "internal:T1": [("processor_receivable:stripe", 10_000), ("revenue", -10_000)],
        # Dr refunds 25.00 / Cr receivable 25.00
        "internal:T2": [("refunds", 2_500), ("processor_receivable:stripe", -2_500)],
        # Dr chargebacks 40.00 / Cr receivable 40.00
        "internal:T3": [("chargebacks", 4_000), ("processor_receivable:stripe", -4_000)],
    }


def test_processor_fee_and_payout(owner, db_url):
    processor_line(owner, "txn_1", "charge", gross=10_000, fee=320, payout_id="po_1")   # fee 3.20 on 100.00
    processor_line(owner, "txn_2", "refund", gross=-2_500, fee=0, payout_id="po_1")     # no fee on refunds
    processor_line(owner, "txn_po", "payout", gross=-7_180, fee=0, payout_id="po_1")    # 100 - 3.20 - 25 = 71.80
    owner.commit()
    run_posting(db_url)
    assert posted(db_url) == {
        # Dr processor fees 3.20 / Cr receivable 3.20 (the gross itself comes from the internal record)
        "processor_fee:stripe:txn_1": [("processor_fees:stripe", 320), ("processor_receivable:stripe", -320)],
        # Dr payouts in transit 71.80 / Cr receivable 71.80
        "payout:stripe:po_1": [("cash_in_transit:stripe", 7_180), ("processor_receivable:stripe", -7_180)],
    }


def test_payout_without_payout_row_is_the_sum_of_its_lines(owner, db_url):
    processor_line(owner, "txn_1", "charge", gross=5_000, fee=175, payout_id="po_2")   # net 48.25
    processor_line(owner, "txn_2", "charge", gross=2_000, fee=88, payout_id="po_2")    # net 19.12
    owner.commit()
    run_posting(db_url)
    # 48.25 + 19.12 = 67.37 in transit
    assert posted(db_url)["payout:stripe:po_2"] == [("cash_in_transit:stripe", 6_737),
                                                    ("processor_receivable:stripe", -6_737)]


def test_bank_payout_credit_fee_interest_and_unidentified(owner, db_url):
    bank_line(owner, "B1", 7_180, "payout", "stripe")   # Stripe payout 71.80 arrives
    bank_line(owner, "B2", -2_500, "fee")                # bank charges 25.00
    bank_line(owner, "B3", 123, "interest")              # interest 1.23
    bank_line(owner, "B4", 7_700, "other")               # unknown credit 77.00
    owner.commit()
    run_posting(db_url)
    assert posted(db_url) == {
        # Dr cash 71.80 / Cr payouts in transit 71.80
        "bank:ACC1:B1": [("cash:ACC1", 7_180), ("cash_in_transit:stripe", -7_180)],
        # Cr cash 25.00 / Dr bank fees 25.00 (the bank amount is negative)
        "bank:ACC1:B2": [("cash:ACC1", -2_500), ("bank_fees", 2_500)],
        # Dr cash 1.23 / Cr interest income 1.23
        "bank:ACC1:B3": [("cash:ACC1", 123), ("interest_income", -123)],
        # Dr cash 77.00 / Cr suspense 77.00 until explained
        "bank:ACC1:B4": [("cash:ACC1", 7_700), ("suspense", -7_700)],
    }


def test_multi_currency_events_balance_per_currency(owner, db_url):
    internal(owner, "E1", "payment", 5_000, currency="EUR", processor="adyen")
    internal(owner, "J1", "payment", 1_200, currency="JPY", processor="adyen")   # JPY has no minor digits
    owner.commit()
    run_posting(db_url)
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT currency, sum(amount_minor), count(*) FROM ledger.postings GROUP BY 1 ORDER BY 1")
        assert rows.fetchall() == [("EUR", 0, 2), ("JPY", 0, 2)]


def test_rerun_posts_nothing_twice(owner, db_url):
    internal(owner, "T1", "payment", 10_000)
    owner.commit()
    first = run_posting(db_url, "run-1")
    second = run_posting(db_url, "run-2")
    assert (first.entries_posted, second.entries_posted, second.entries_already_posted) == (1, 0, 1)
    assert len(posted(db_url)) == 1


def test_two_concurrent_runs_of_the_same_day_leave_one_set_of_entries(owner, db_url):
    for i in range(200):
        internal(owner, f"T{i}", "payment", 1_000 + i)
    owner.commit()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(run_id: str) -> None:
        try:
            with tenant_connection(db_url, "acme") as conn:
                barrier.wait()
                post_day(conn, "acme", DAY, run_id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"run-{n}",)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT idempotency_key), count(DISTINCT run_id)"
                            " FROM ledger.journal_entries").fetchone() == (200, 200, 1)


def test_a_day_posted_in_slices_at_once_posts_every_event_once_and_reruns_post_nothing(owner, db_url):
    for i in range(120):
        internal(owner, f"T{i}", "payment", 1_000 + i)
        processor_line(owner, f"ch_T{i}", "charge", 1_000 + i, 30 + i % 7, payout_id="po_1")
    bank_line(owner, "B1", 7_180, "payout", "stripe")
    owner.commit()
    connect = partial(tenant_connection, db_url, "acme")

    first = post_day_in_slices(connect, "acme", DAY, "run-1", slices=3)
    entries = posted(db_url)
    assert first.entries_posted == len(entries) == 120 + 120 + 1 + 1   # payments, fees, the payout, the bank credit
    assert first.postings_posted == 2 * first.entries_posted and first.entries_already_posted == 0
    assert all(sum(amount for _, amount in legs) == 0 for legs in entries.values())
    with psycopg.connect(db_url) as conn:   # the three slices' snapshots add up to the postings
        assert conn.execute(
            "SELECT account_code, balance_minor FROM ledger.daily_balances ORDER BY 1").fetchall() == conn.execute(
            "SELECT account_code, sum(amount_minor) FROM ledger.postings GROUP BY 1 ORDER BY 1").fetchall()
    for slices in (1, 2, 3):   # sliced another way or not at all, a re-run finds every key posted
        again = post_day_in_slices(connect, "acme", DAY, f"rerun-{slices}", slices=slices)
        assert (again.entries_posted, again.entries_already_posted) == (0, first.entries_posted)
    assert posted(db_url) == entries


def test_a_slice_outside_the_slices_is_refused(owner, db_url):
    with tenant_connection(db_url, "acme") as conn, pytest.raises(ValueError, match="slice 2 is not one of 0..1"):
        post_day(conn, "acme", DAY, "run-1", slice=2, slices=2)


def test_a_failure_mid_batch_leaves_nothing_posted_and_the_next_run_completes(owner, db_url, monkeypatch):
    internal(owner, "T1", "payment", 10_000)
    bank_line(owner, "B1", 7_180, "payout", "stripe")
    owner.commit()

    def broken_chart(code: str):
        raise KeyError(f"account {code!r} is not in the chart of accounts")

    monkeypatch.setattr("financeops_pipeline.ledger.posting.describe_account", broken_chart)
    with pytest.raises(KeyError):
        run_posting(db_url)
    assert posted(db_url) == {}
    monkeypatch.setattr("financeops_pipeline.ledger.posting.describe_account", rules_module.describe_account)
    result = run_posting(db_url)
    assert result.entries_posted == 2 and set(posted(db_url)) == {"internal:T1", "bank:ACC1:B1"}


def test_rules_that_do_not_balance_are_refused_at_load(tmp_path):
    bad = tmp_path / "rules.yaml"
    bad.write_text("version: x\nrules:\n  r:\n    transfers:\n      - {debit: cash, amount: amount_minor}\n")
    with pytest.raises(ValueError, match="does not balance"):
        rules_module.load_rules(bad)


def test_a_key_another_transaction_posts_meanwhile_rolls_the_batch_back(owner, db_url):
    """The keys were found unposted, then another writer (one that did not take the tenant's posting lock)
    registered one before our batch: the unique index of ledger.entry_keys refuses the batch whole (nothing of it
    is posted, the key is not posted twice)."""
    internal(owner, "T01", "payment", 5_000)
    owner.commit()
    run_posting(db_url, "run-0")   # the day's key partition of T1's slice (its last character) exists from now on
    internal(owner, "T1", "payment", 10_000)
    internal(owner, "T2", "payment", 20_000)
    owner.commit()
    other = psycopg.connect(db_url)
    other.execute(   # uncommitted: our batch finds T1 unposted, then waits on the index for this row
        "INSERT INTO ledger.entry_keys (tenant, key_date, key_slice, idempotency_key, entry_id) VALUES ('acme', %s,"
        " 1, 'internal:T1', -1)", (DAY,))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            run_posting(db_url)
        except BaseException as exc:  # noqa: BLE001 - checked below
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=2)
    assert thread.is_alive()   # blocked on the other transaction's key
    other.commit()
    other.close()
    thread.join(timeout=60)
    assert len(errors) == 1 and isinstance(errors[0], psycopg.errors.UniqueViolation)
    assert set(posted(db_url)) == {"internal:T01"}
