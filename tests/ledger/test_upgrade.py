"""A database whose ledger was posted by the entries + postings layout (migrations up to 0051, posted with the
SQL of that release, kept in tests/ledger/legacy/) upgrades to the transfer layout (0060) without losing a row: the
same entries, postings and trial balance after the upgrade, and the records it had posted are not posted again."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from psycopg import sql

from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.db.migrate import migrate
from financeops_pipeline.ledger.posting import post_day
from financeops_pipeline.ledger.rules import load_rules
from tests.conftest import database_at_release
from tests.ledger import test_posting_rules as planted
from tests.ledger.test_posting_rules import DAY, FILE_ID, plant_file

LEGACY = planted.__file__.rsplit("/", 1)[0] + "/legacy/"
NEXT_DAY = DAY + dt.timedelta(days=1)


def _legacy_post(conn: psycopg.Connection, tenant: str, day: dt.date) -> int:
    """The day posted as the release before 0060 posted it (ledger/posting.py's post_day, one slice)."""
    book = load_rules()
    legs = sql.SQL(", ").join(
        sql.SQL("({}, {}, {}, {}, {})").format(sql.Literal(rule.rule_id), sql.Literal(i), sql.Literal(leg.account),
                                               sql.Literal(leg.sign), sql.Literal(leg.amount))
        for rule in book.rules.values() for i, leg in enumerate(rule.legs, start=1))
    events = sql.SQL(open(LEGACY + "posting_events.sql").read())   # noqa: SIM115, PTH123
    statements = {}
    current = None
    for line in open(LEGACY + "post_staged.sql").read().splitlines():   # noqa: SIM115, PTH123
        if line.startswith("-- name:"):
            current = line.split(":", 1)[1].strip()
            statements[current] = []
        elif current:
            statements[current].append(line)
    composed = {}
    for name, lines in statements.items():
        text = "\n".join(lines).strip().rstrip(";")
        composed[name] = sql.SQL(text).format(**{k: v for k, v in {"events": events, "legs": legs}.items()
                                                 if "{" + k + "}" in text})
    params = {"tenant": tenant, "day": day, "run_id": "legacy", "code_version": "legacy",
              "rule_version": book.version, "slice": 0, "slices": 1}
    with conn.transaction():
        conn.execute(composed["stage_events"], params)
        conn.execute("ANALYZE staged_events")
        entries = conn.execute(composed["insert_entries"], params).rowcount
        conn.execute(composed["insert_postings"], params)
        for (code,) in conn.execute(composed["staged_accounts"]).fetchall():
            conn.execute("INSERT INTO ledger.accounts (tenant, account_code, name, account_type, normal_balance)"
                         " VALUES (%s, %s, %s, 'asset', 'debit') ON CONFLICT DO NOTHING", (tenant, code, code))
    return entries


def _ledger(conn: psycopg.Connection) -> dict[str, list[tuple]]:
    return {
        "entries": conn.execute("SELECT entry_id, tenant, idempotency_key, business_date, rule_id, rule_version,"
                                " source_kind, source_file_sha256, source_position, source_ref, run_id"
                                " FROM ledger.journal_entries ORDER BY entry_id").fetchall(),
        "postings": conn.execute("SELECT * FROM ledger.postings ORDER BY entry_id, line_no").fetchall(),
        "trial_balance": conn.execute("SELECT account_code, currency, balance_minor"
                                      " FROM ledger.balances_at('acme', %s) ORDER BY 1, 2", (NEXT_DAY,)).fetchall(),
        "snapshots": conn.execute("SELECT * FROM ledger.daily_balances ORDER BY 1, 2, 3, 4").fetchall(),
    }


@pytest.fixture
def old_db(pg_target):
    with database_at_release(pg_target, "fo_test_upgrade_0060", until="0051_booked_statements_index") as url:
        yield url


def test_a_ledger_posted_by_the_old_layout_upgrades_without_losing_a_row(old_db):
    with psycopg.connect(old_db) as owner:
        plant_file(owner)
        planted.internal(owner, "T1", "payment", 10_000)
        planted.internal(owner, "T2", "refund", 2_500)
        planted.processor_line(owner, "txn_1", "charge", gross=10_000, fee=320, payout_id="po_1")
        planted.processor_line(owner, "txn_po", "payout", gross=-9_680, fee=0, payout_id="po_1")
        planted.bank_line(owner, "B1", -2_500, "fee")
        owner.commit()
    with tenant_connection(old_db, "acme") as conn:
        assert _legacy_post(conn, "acme", DAY) == 5
    with psycopg.connect(old_db) as owner:
        before = _ledger(owner)
    assert len(before["postings"]) == 10 and before["trial_balance"]

    assert "0060_ledger_transfers" in migrate(old_db)
    with psycopg.connect(old_db) as owner:
        assert _ledger(owner) == before
        assert owner.execute("SELECT count(*) FROM ledger.entry_keys").fetchone() == (5,)
    # re-running the day on the new layout posts nothing it had posted
    with tenant_connection(old_db, "acme") as conn:
        again = post_day(conn, "acme", DAY, "after-upgrade")
    assert (again.entries_posted, again.entries_already_posted) == (0, 5)
    # a new day posts on the transfer layout, its snapshots carrying on from the old ones
    with psycopg.connect(old_db) as owner:
        owner.execute("INSERT INTO imports.internal_transactions (tenant, business_date, file_id, record_no,"
                      " source_position, transaction_id, created_at, type, amount_minor, currency, processor,"
                      " processor_reference) VALUES ('acme', %s, %s, 99, 'line 99', 'T3', %s, 'payment', 700,"
                      " 'USD', 'stripe', 'ch_T3')", (NEXT_DAY, FILE_ID + 1, dt.datetime(2026, 11, 3, tzinfo=dt.UTC)))
        owner.execute("INSERT INTO imports.files (tenant, sha256, business_date, source, format, original_name,"
                      " archive_path, size_bytes, status, records_loaded, records_quarantined, run_id, code_version,"
                      " file_id) VALUES ('acme', %s, %s, 'internal', 'test', 'next.csv', '-', 0, 'loaded', 0, 0,"
                      " 'test', 'test', %s)", ("c" * 64, NEXT_DAY, FILE_ID + 1))
        owner.commit()
    with tenant_connection(old_db, "acme") as conn:
        assert post_day(conn, "acme", NEXT_DAY, "after-upgrade").entries_posted == 1
    with psycopg.connect(old_db) as owner:
        after = {(a, c): b for a, c, b in before["trial_balance"]}
        after[("processor_receivable:stripe", "USD")] += 700
        after[("revenue", "USD")] -= 700
        assert dict(((a, c), b) for a, c, b in _ledger(owner)["trial_balance"]) == after
        # the postings view sums to the snapshots, old and new rows together
        assert owner.execute("SELECT account_code, sum(amount_minor) FROM ledger.postings GROUP BY 1 ORDER BY 1"
                             ).fetchall() == [(a, b) for (a, _), b in sorted(after.items())]
