"""A database posted by the release before 0097 (the key slice CHECKed as ascii(right(key, 1)) % 4) upgrades to 0097
without losing a key: every partition, attached before or fresh after, CHECKs the slice from the key's last byte,
which gives every key, of one-byte or longer last characters, the slice it had; a key in another slice is refused."""

from __future__ import annotations

import psycopg
import pytest

from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.db.migrate import migrate
from financeops_pipeline.ledger.posting import key_slice, post_day
from tests.conftest import database_at_release
from tests.ledger.test_upgrade_0091 import DAY1, _plant_files, _record, post_the_next_day

CHECKS = ("SELECT c.conrelid::regclass::text, pg_get_constraintdef(c.oid) FROM pg_constraint c"
          " WHERE c.contype = 'c' AND (c.conrelid = 'ledger.entry_keys'::regclass OR c.conrelid IN ("
          " SELECT inhrelid FROM pg_inherits WHERE inhparent = 'ledger.entry_keys'::regclass))"
          " AND pg_get_constraintdef(c.oid) LIKE '%key_slice = %idempotency_key%' ORDER BY 1")
KEYS = ["internal:aé", "internal:x€", "internal:y😀", "internal:zß", "internal:q"]   # 2, 3 and 4-byte last characters


@pytest.fixture
def old_db(pg_target):
    with database_at_release(pg_target, "fo_test_upgrade_0097",
                             until="0096_fresh_partitions_unique_on_what_varies") as url:
        yield url


def _register(owner: psycopg.Connection, key: str, slice_: int) -> None:
    owner.execute("INSERT INTO ledger.entry_keys (tenant, key_date, key_slice, idempotency_key, entry_id)"
                  " VALUES ('acme', %s, %s, %s, -1)", (DAY1, slice_, key))


def test_the_key_slice_checked_from_the_last_byte_gives_every_key_its_slice(old_db):
    with psycopg.connect(old_db) as owner:
        _plant_files(owner)
        for n, tx in enumerate(["O1", "O2", "O3", "O4"], start=1):
            _record(owner, DAY1, n, f"line {n + 1}", tx)
        owner.commit()
    with tenant_connection(old_db, "acme") as conn:
        assert post_day(conn, "acme", DAY1, "day-1").entries_posted == 4
    with psycopg.connect(old_db) as owner:
        keys = owner.execute("SELECT * FROM ledger.entry_keys ORDER BY idempotency_key").fetchall()
        before = owner.execute(CHECKS).fetchall()
        assert before and all("right\"(idempotency_key, 1)" in d for _, d in before)

    assert "0097_key_slice_check_by_last_byte" in migrate(old_db)
    with psycopg.connect(old_db) as owner:
        assert owner.execute("SELECT * FROM ledger.entry_keys ORDER BY idempotency_key").fetchall() == keys
        after = owner.execute(CHECKS).fetchall()
        # the parent and each partition, once, by the last byte (no copy of the old CHECK left on a partition)
        assert [t for t, _ in after] == ["ledger.entry_keys"] + [t for t, _ in before if t != "ledger.entry_keys"]
        assert all("get_byte(convert_to(idempotency_key, 'UTF8'::name)" in d for _, d in after)
        # keys of longer last characters keep their slice (the code point's, as posting computes it), in the
        # partitions attached before; the same keys in another slice are refused
        for key in KEYS:
            _register(owner, key, key_slice(key))
            for wrong in {0, 1, 2, 3} - {key_slice(key)}:
                with pytest.raises(psycopg.errors.CheckViolation), owner.transaction():
                    _register(owner, key, wrong)
        owner.rollback()

    # a re-run posts nothing; the next day's fresh key partitions CHECK the slice the same way
    post_the_next_day(old_db)
    with psycopg.connect(old_db) as owner:
        fresh = owner.execute(CHECKS).fetchall()
        assert len(fresh) == len(after) + 1 and all("get_byte(convert_to(" in d for _, d in fresh)
