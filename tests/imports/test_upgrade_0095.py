"""A database whose processor lines keep their unmodelled columns as jsonb (migrations up to 0090) upgrades to 0095
(`extra` as text) without losing a line or a key: every column reads as before, `extra` is the same JSON object,
the record a trace or the workbench shows is the same jsonb, a record file made again from Postgres holds it, and
a file imported after the upgrade keeps the parser's own JSON text."""

from __future__ import annotations

import datetime as dt
import json

import psycopg
import pyarrow.parquet as pq
import pytest

from financeops_pipeline.db import bulk
from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.db.migrate import migrate
from financeops_pipeline.imports import record_store
from financeops_pipeline.imports.detect import parse_file
from financeops_pipeline.imports.loader import import_file
from financeops_pipeline.sqlfiles import load_named_sql
from tests.conftest import SAMPLES, database_at_release

DAY = dt.date(2026, 11, 2)
FILES = [SAMPLES / "acme" / "2026-11-02" / "processor" / "adyen_settlement_2026-11-02.csv",
         SAMPLES / "acme" / "2026-11-02" / "processor" / "stripe_balance_2026-11-02.csv"]
LATER = SAMPLES / "acme" / "2026-11-03" / "processor" / "adyen_settlement_2026-11-03.csv"
COLUMNS = ("SELECT f.sha256, l.record_no, l.source_position, l.processor, l.line_id, l.category, l.processor_type,"
           " l.reference, l.merchant_reference, l.created_at, l.available_on, l.currency, l.gross_minor, l.fee_minor,"
           " l.net_minor, l.payout_id, l.payout_date, l.gross_currency, l.gross_gc_minor, l.exchange_rate")
LINES = f"{COLUMNS}, l.extra FROM imports.processor_lines l JOIN imports.files f USING (tenant, file_id) ORDER BY 1, 2"


@pytest.fixture
def old_db(pg_target):
    with database_at_release(pg_target, "fo_test_upgrade_0095", until="0090_fresh_partition_pinned_defaults") as url:
        yield url


def _old_copy(copy):
    """FreshPartition.copy as the release before 0095 called it for processor lines: `extra` sent as jsonb."""
    def old(self, rows, jsonb_columns=()):
        return copy(self, rows, ("extra",) if "processor_lines" in self.table else jsonb_columns)
    return old


def _records(conn: psycopg.Connection) -> dict[str, dict]:
    """The workbench's records of the day's processor lines (the query that shows a record whole)."""
    refs = [f"processor|{p}:{i}" for p, i in conn.execute("SELECT processor, line_id FROM imports.processor_lines")]
    found = conn.execute(load_named_sql("workbench/sql/breaks.sql")["records"],
                         {"tenant": "acme", "day": DAY, "since": DAY, "refs": refs}).fetchall()
    return {ref: record for _, ref, record in found}


def test_processor_lines_of_the_old_release_keep_their_extra_as_text(old_db, tmp_path, monkeypatch):
    archive = tmp_path / "archive"
    with monkeypatch.context() as patch:
        patch.setattr(bulk.FreshPartition, "copy", _old_copy(bulk.FreshPartition.copy))
        with tenant_connection(old_db, "acme") as conn:
            imported = [import_file(conn, "acme", path, DAY, "old-release", archive) for path in FILES]
    assert [i.status for i in imported] == ["loaded", "loaded"]
    with psycopg.connect(old_db) as owner:
        before = owner.execute(LINES).fetchall()
        assert owner.execute("SELECT count(*) FROM imports.processor_lines WHERE jsonb_typeof(extra) = 'object'"
                             ).fetchone()[0] > 0
        records = _records(owner)
        assert any(isinstance(r.get("extra"), dict) for r in records.values())
        sha, position = before[0][0], before[0][2]
        source_record = owner.execute(  # the trace's record of one line, as the old release showed it
            "SELECT jsonb_build_object('file_sha256', f.sha256) || to_jsonb(t) - 'tenant' - 'file_id'"
            " FROM imports.processor_lines t JOIN imports.files f USING (tenant, file_id)"
            " WHERE f.sha256 = %s AND t.source_position = %s", (sha, position)).fetchone()[0]
    assert len(before) > 5 and any(row[-1] for row in before)

    assert "0095_processor_extra_text" in migrate(old_db)
    with psycopg.connect(old_db) as owner:
        assert owner.execute("SELECT data_type FROM information_schema.columns WHERE table_schema = 'imports'"
                             " AND table_name = 'processor_lines' AND column_name = 'extra'").fetchone()[0] == "text"
        after = owner.execute(LINES).fetchall()
        assert [row[:-1] for row in after] == [row[:-1] for row in before]
        assert [None if row[-1] is None else json.loads(row[-1]) for row in after] == [row[-1] for row in before]
        assert _records(owner) == records
        traced = owner.execute(load_named_sql("ledger/sql/trace.sql")["source_record"],
                               {"tenant": "acme", "sha": sha, "pos": position}).fetchall()
        assert [row[3] for row in traced] == [source_record]

        # a record file made again from Postgres (a file imported before the record store) holds the same objects
        made = record_store._records_from_postgres(owner, "processor", imported[0].sha256, DAY)
        kept = pq.read_table(record_store.records_path(archive, "processor", imported[0].sha256))
        assert [None if e is None else json.loads(e) for e in made["extra"].to_pylist()] == \
            [None if e is None else json.loads(e) for e in kept["extra"].to_pylist()]

    # a file imported after the upgrade keeps the parser's own JSON text, byte for byte
    with tenant_connection(old_db, "acme") as conn:
        later = import_file(conn, "acme", LATER, DAY + dt.timedelta(days=1), "new-release", archive)
    assert later.status == "loaded"
    parsed = parse_file(LATER.read_bytes(), LATER.name).take_arrow()["extra"].to_pylist()
    with psycopg.connect(old_db) as owner:
        loaded = [e for (e,) in owner.execute(
            "SELECT l.extra FROM imports.processor_lines l JOIN imports.files f USING (tenant, file_id)"
            " WHERE f.sha256 = %s ORDER BY l.record_no", (later.sha256,))]
    assert loaded == parsed and any(loaded)
