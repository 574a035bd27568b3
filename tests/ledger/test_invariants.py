"""The ledger's invariants hold in the database itself: each test tries to break one with raw SQL.

These are the entries + postings tables of before migration 0060 (renamed *_legacy, keeping their rows and
triggers, read through the ledger.journal_entries / ledger.postings views); test_transfers.py tries the same on the
transfer layout that everything posts to now."""

from __future__ import annotations

import psycopg
import pytest

from financeops_pipeline.db.connect import tenant_connection

ENTRY = (
    "INSERT INTO ledger.journal_entries_legacy (entry_id, tenant, idempotency_key, business_date, rule_id,"
    " rule_version, source_kind, run_id, code_version)"
    " VALUES (%s, %s, %s, '2026-11-02', 'manual', 't', 'manual', 'test', 't')"
)
POSTING = ("INSERT INTO ledger.postings_legacy (entry_id, line_no, tenant, business_date, account_code, currency,"
           " amount_minor) VALUES ")


def _entry(conn: psycopg.Connection, entry_id: int, tenant: str = "acme", key: str | None = None) -> None:
    conn.execute(ENTRY, (entry_id, tenant, key or f"k{entry_id}"))


@pytest.fixture
def owner(db_url):
    with psycopg.connect(db_url) as conn:
        conn.execute("SELECT ops.register_tenant('acme'), ops.register_tenant('globex')")
        conn.commit()
        yield conn


def test_balanced_entry_is_accepted_and_snapshots_follow(owner):
    _entry(owner, 1)
    owner.execute(POSTING + "(1, 1, 'acme', '2026-11-02', 'cash:A', 'USD', 1500),"
                            "(1, 2, 'acme', '2026-11-02', 'revenue', 'USD', -1500)")
    owner.commit()
    rows = owner.execute("SELECT account_code, balance_minor FROM ledger.daily_balances ORDER BY 1").fetchall()
    assert rows == [("cash:A", 1500), ("revenue", -1500)]


def test_unbalanced_entry_is_refused(owner):
    _entry(owner, 1)
    with pytest.raises(psycopg.errors.CheckViolation, match="does not balance in USD"):
        owner.execute(POSTING + "(1, 1, 'acme', '2026-11-02', 'cash:A', 'USD', 1500),"
                                "(1, 2, 'acme', '2026-11-02', 'revenue', 'USD', -1499)")


def test_balance_is_per_currency(owner):
    _entry(owner, 1)
    with pytest.raises(psycopg.errors.CheckViolation, match="does not balance"):
        owner.execute(POSTING + "(1, 1, 'acme', '2026-11-02', 'cash:A', 'USD', 1500),"
                                "(1, 2, 'acme', '2026-11-02', 'revenue', 'EUR', -1500)")


def test_postings_and_entries_are_append_only(owner):
    _entry(owner, 1)
    owner.execute(POSTING + "(1, 1, 'acme', '2026-11-02', 'cash:A', 'USD', 100),"
                            "(1, 2, 'acme', '2026-11-02', 'revenue', 'USD', -100)")
    owner.commit()
    for statement in ("UPDATE ledger.postings_legacy SET amount_minor = 200 WHERE line_no = 1",
                      "DELETE FROM ledger.postings_legacy", "UPDATE ledger.journal_entries_legacy SET rule_id = 'x'",
                      "DELETE FROM ledger.journal_entries_legacy", "TRUNCATE ledger.postings_legacy"):
        with pytest.raises(psycopg.errors.RestrictViolation, match="append-only"):
            owner.execute(statement)
        owner.rollback()


def test_adding_lines_to_a_posted_entry_is_refused(owner):
    _entry(owner, 1)
    owner.execute(POSTING + "(1, 1, 'acme', '2026-11-02', 'cash:A', 'USD', 100),"
                            "(1, 2, 'acme', '2026-11-02', 'revenue', 'USD', -100)")
    owner.commit()
    with pytest.raises(psycopg.errors.RestrictViolation, match="earlier transaction"):
        owner.execute(POSTING + "(1, 3, 'acme', '2026-11-02', 'cash:A', 'USD', 5),"
                                "(1, 4, 'acme', '2026-11-02', 'revenue', 'USD', -5)")


def test_idempotency_key_is_unique_per_tenant(owner):
    _entry(owner, 1, key="internal:T1")
    _entry(owner, 2, tenant="globex", key="internal:T1")   # another tenant may use the same key
    with pytest.raises(psycopg.errors.UniqueViolation):
        _entry(owner, 3, key="internal:T1")


@pytest.mark.parametrize("amount, currency, error", [
    ("'12.5'", "'USD'", psycopg.errors.InvalidTextRepresentation),   # not an integer of minor units
    ("100", "'usd'", psycopg.errors.CheckViolation),                  # not an ISO 4217 code
    ("100", "'US'", psycopg.errors.CheckViolation),
    ("0", "'USD'", psycopg.errors.CheckViolation),                    # a zero posting carries nothing
])
def test_amounts_are_integer_minor_units_with_a_currency(owner, amount, currency, error):
    _entry(owner, 1)
    with pytest.raises(error):
        owner.execute(POSTING + f"(1, 1, 'acme', '2026-11-02', 'cash:A', {currency}, {amount}),"
                                f"(1, 2, 'acme', '2026-11-02', 'revenue', {currency}, -{amount})")


def test_money_columns_are_never_floating_point(db_url):
    rows = psycopg.connect(db_url).execute(
        "SELECT table_schema || '.' || table_name || '.' || column_name FROM information_schema.columns"
        " WHERE table_schema IN ('ops', 'imports', 'ledger', 'recon', 'reports')"
        " AND data_type IN ('real', 'double precision')").fetchall()
    assert rows == []
    amount_columns = psycopg.connect(db_url).execute(
        "SELECT DISTINCT data_type FROM information_schema.columns"
        " WHERE table_schema IN ('imports', 'ledger', 'recon', 'reports') AND column_name LIKE '%%minor'").fetchall()
    assert amount_columns == [("bigint",)]


def test_a_tenant_role_cannot_read_or_write_another_tenants_rows(owner, db_url):
    for entry_id, tenant in ((1, "acme"), (2, "globex")):
        _entry(owner, entry_id, tenant=tenant)
        owner.execute(POSTING + f"({entry_id}, 1, '{tenant}', '2026-11-02', 'cash:A', 'USD', 100),"
                                f"({entry_id}, 2, '{tenant}', '2026-11-02', 'revenue', 'USD', -100)")
    owner.commit()
    with tenant_connection(db_url, "acme") as conn:
        assert conn.execute("SELECT DISTINCT tenant FROM ledger.postings").fetchall() == [("acme",)]
        assert conn.execute("SELECT count(*) FROM ledger.journal_entries WHERE tenant = 'globex'").fetchone() == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):   # nothing writes the legacy tables now
            conn.execute(ENTRY, (3, "globex", "sneaky"))
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM imports.bank_lines_unfiled")   # partitions: no direct access
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE ledger.x (a int)")


@pytest.mark.parametrize("posting", [
    "(9, 1, 'acme', '2026-11-02', 'cash:A', 'USD', 100), (9, 2, 'acme', '2026-11-02', 'revenue', 'USD', -100)",
    "(1, 1, 'acme', '2026-11-03', 'cash:A', 'USD', 100), (1, 2, 'acme', '2026-11-03', 'revenue', 'USD', -100)",
    "(1, 1, 'globex', '2026-11-02', 'cash:A', 'USD', 100), (1, 2, 'globex', '2026-11-02', 'revenue', 'USD', -100)",
    # balanced, but one line of the entry's two carries another date / tenant
    "(1, 1, 'acme', '2026-11-02', 'cash:A', 'USD', 100), (1, 2, 'acme', '2026-11-03', 'revenue', 'USD', -100)",
    "(1, 1, 'acme', '2026-11-02', 'cash:A', 'USD', 100), (1, 2, 'globex', '2026-11-02', 'revenue', 'USD', -100)",
], ids=["no such entry", "another date", "another tenant", "one line another date", "one line another tenant"])
def test_postings_must_belong_to_an_entry_of_the_same_tenant_and_date(owner, posting):
    _entry(owner, 1)   # acme, 2026-11-02
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="no journal entry with the same tenant and date"):
        owner.execute(POSTING + posting)


def test_batches_of_one_tenant_queue_for_the_snapshots_and_other_tenants_do_not(owner, db_url):
    # Two open batches upserting the same balance rows in different orders could deadlock: the snapshot step
    # takes a per-tenant lock (0017), so a second acme batch waits for the first's commit, even one of a later day
    # that touches no row of the first; globex does not wait.
    later = ENTRY.replace("'2026-11-02'", "'2026-11-03'")
    _entry(owner, 1)
    owner.execute(POSTING + "(1, 1, 'acme', '2026-11-02', 'cash:A', 'USD', 100),"
                            "(1, 2, 'acme', '2026-11-02', 'revenue', 'USD', -100)")   # open: holds acme's lock

    def post_later(conn: psycopg.Connection, entry_id: int, tenant: str, amount: int) -> None:
        with conn.transaction():
            conn.execute(later, (entry_id, tenant, f"k{entry_id}"))
            conn.execute(POSTING + "(%s, 1, %s, '2026-11-03', 'revenue', 'USD', %s),"
                                   "(%s, 2, %s, '2026-11-03', 'cash:A', 'USD', %s)",
                         (entry_id, tenant, amount, entry_id, tenant, -amount))

    with psycopg.connect(db_url, autocommit=True) as other:
        post_later(other, 3, "globex", 7)   # no wait
        other.execute("SET lock_timeout = '300ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            post_later(other, 2, "acme", 40)
    owner.commit()
    with psycopg.connect(db_url, autocommit=True) as other:
        post_later(other, 2, "acme", 40)
        assert other.execute("SELECT business_date::text, account_code, balance_minor FROM ledger.daily_balances"
                             " WHERE tenant = 'acme' ORDER BY 1, 2").fetchall() == [
            ("2026-11-02", "cash:A", 100), ("2026-11-02", "revenue", -100),
            ("2026-11-03", "cash:A", 60), ("2026-11-03", "revenue", -60)]
