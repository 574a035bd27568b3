"""Loading files: idempotent by content, archived, COPYed, and bad records quarantined with their position."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from financeops_pipeline.cli import main
from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.imports.loader import import_file
from financeops_pipeline.quality.checks import run_check
from tests.conftest import SAMPLES, shared_sample_path

DAY = dt.date(2026, 11, 2)
INTERNAL = SAMPLES / "acme" / "2026-11-02" / "internal" / "transactions.csv"


def _import(db_url: str, path: Path, archive: Path, day: dt.date = DAY):
    with tenant_connection(db_url, "acme") as conn:
        return import_file(conn, "acme", path, day, "test-run", archive)


def _count(db_url: str, table: str) -> int:
    with psycopg.connect(db_url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_a_file_is_loaded_once_whatever_its_name(db_url, tmp_path):
    first = _import(db_url, INTERNAL, tmp_path / "archive")
    assert (first.status, first.records_loaded, first.amount_totals) == ("loaded", 8, {"USD": 56999})
    renamed = tmp_path / "export-copy.csv"
    shutil.copyfile(INTERNAL, renamed)
    again = _import(db_url, renamed, tmp_path / "archive")
    assert again.status == "already_imported" and "already imported" in again.summary()
    assert _count(db_url, "imports.internal_transactions") == 8
    archived = tmp_path / "archive" / first.sha256[:2] / first.sha256
    assert archived.read_bytes() == INTERNAL.read_bytes()


def test_a_corrected_file_under_the_same_name_is_rejected_not_added(db_url, tmp_path):
    _import(db_url, INTERNAL, tmp_path / "archive")
    corrected = tmp_path / "transactions.csv"
    corrected.write_text(INTERNAL.read_text().replace("40.00", "41.00", 1))
    outcome = _import(db_url, corrected, tmp_path / "archive")
    assert outcome.status == "rejected"
    assert "already imported for 2026-11-02" in str(outcome.errors[0])
    assert _count(db_url, "imports.internal_transactions") == 8


def test_bad_records_are_quarantined_and_the_valid_ones_loaded(db_url, tmp_path):
    lines = INTERNAL.read_text().splitlines()
    lines[2] = lines[2].replace("100.00", "10O.00")          # line 3: unparseable amount
    lines[4] = lines[4].replace(",USD,", ",XYZ,")             # line 5: unknown currency
    bad = tmp_path / "transactions.csv"
    bad.write_text("\n".join(lines) + "\n")
    outcome = _import(db_url, bad, tmp_path / "archive")
    assert (outcome.status, outcome.records_loaded, outcome.records_quarantined) == ("partial", 6, 2)
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT file_name, position, field, raw_text FROM imports.quarantine ORDER BY position")
        quarantined = rows.fetchall()
    assert [(r[0], r[1], r[2]) for r in quarantined] == [
        ("transactions.csv", "line 3", "amount"), ("transactions.csv", "line 5", "currency")]
    assert "10O.00" in quarantined[0][3]
    with tenant_connection(db_url, "acme") as conn:
        assert len(run_check(conn, "quarantined_records", "acme", DAY)) == 2


def test_an_unreadable_file_is_rejected_with_a_clear_error(db_url, tmp_path):
    junk = tmp_path / "statement.xml"
    junk.write_bytes(b"\x00\x01 not a statement")
    outcome = _import(db_url, junk, tmp_path / "archive")
    assert outcome.status == "rejected"
    assert "statement.xml" in str(outcome.errors[0])
    assert _count(db_url, "imports.quarantine") == 1


def test_statement_integrity_names_the_account_and_day(db_url, tmp_path):
    sample = shared_sample_path("camt053/oca__test-camt053.xml")
    outcome = _import(db_url, sample, tmp_path / "archive")
    assert outcome.status == "loaded"
    with tenant_connection(db_url, "acme") as conn:
        problems = run_check(conn, "statement_integrity", "acme", DAY)
    # The file's own figures: opening 15568.27 + entries -12.99 = 15555.28, but its closing says 15121.12.
    assert len(problems) == 1 and problems[0]["business_date"] == DAY
    assert problems[0]["problem"] == "opening 1556827 + entries -1299 <> closing 1512112"
    assert problems[0]["account_id"]


def test_import_command_prints_a_line_per_file_and_fails_on_quarantine(pipeline_env, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["import", str(INTERNAL), "--tenant", "acme", "--date", "2026-11-02"])
    assert result.exit_code == 0, result.output
    assert "transactions.csv: internal_csv, 8 loaded, 0 quarantined" in result.output
    again = runner.invoke(main, ["import", str(INTERNAL), "--tenant", "acme", "--date", "2026-11-02"])
    assert again.exit_code == 0 and "already imported" in again.output
    bad = tmp_path / "other.csv"
    bad.write_text(INTERNAL.read_text().replace("40.00", "40.001", 1))
    failed = runner.invoke(main, ["import", str(bad), "--tenant", "acme", "--date", "2026-11-03"])
    assert failed.exit_code == 1
    assert "other.csv: internal_csv, 7 loaded, 1 quarantined; first error: other.csv: line 2: field 'amount'" \
        in failed.output


def test_every_imported_file_keeps_its_records_as_parquet(db_url, tmp_path):
    import pyarrow.parquet as pq

    from financeops_pipeline.imports.record_store import day_record_paths

    archive = tmp_path / "archive"
    paths = sorted((SAMPLES / "acme" / "2026-11-02").rglob("*.*"))
    with tenant_connection(db_url, "acme") as conn:
        outcomes = {p.parent.name: import_file(conn, "acme", p, DAY, "run-1", archive) for p in paths}
        internal = day_record_paths(conn, archive, "acme", "internal", DAY)
        processor = day_record_paths(conn, archive, "acme", "processor", DAY)
        in_postgres = conn.execute("SELECT transaction_id, amount_minor, source_position FROM"
                                   " imports.internal_transactions ORDER BY source_position").fetchall()
    assert len(internal) == 1 and len(processor) == 2
    kept = pq.read_table(internal[0]).sort_by("source_position")
    # The same rows as the COPY wrote, with the file's day and hash stamped on each.
    assert list(zip(kept["transaction_id"].to_pylist(), kept["amount_minor"].to_pylist(),
                    kept["source_position"].to_pylist(), strict=True)) == in_postgres
    assert set(kept["file_sha256"].to_pylist()) == {outcomes["internal"].sha256}
    assert set(kept["business_date"].to_pylist()) == {DAY}


@pytest.mark.parametrize("budget", [3 * 2**30, 0], ids=["read-ahead", "no-room-to-read-ahead"])
def test_a_sources_files_load_in_order_while_the_next_is_read(db_url, tmp_path, budget):
    # import_files reads and parses the next file while one loads (when the read-ahead budget has room for its
    # records): the files still load one after the other, in the order given (file ids, the order the
    # reconciliation reads them in), each with its own outcome; a bad file in the middle is rejected without
    # stopping the others, and a repeat is already imported.
    from financeops_pipeline.imports.loader import ReadAheadBudget, import_files

    room = ReadAheadBudget(budget)

    landed = sorted((SAMPLES / "acme" / "2026-11-02" / "processor").iterdir())
    bad = tmp_path / "b_unreadable.csv"
    bad.write_bytes(b"\x00\x01 not a report")
    paths = [landed[0], bad, *landed[1:], landed[0]]
    with tenant_connection(db_url, "acme") as conn:
        outcomes = list(import_files(conn, "acme", paths, DAY, "test-run", tmp_path / "archive", budget=room))
    assert room.held == 0   # every reservation given back
    assert [Path(o.path).name for o in outcomes] == [p.name for p in paths]
    assert [o.status for o in outcomes] == ["loaded", "rejected", *["loaded"] * (len(landed) - 1), "already_imported"]
    assert all({"read", "parse", "copy", "commit"} <= set(o.timings) for o in outcomes if o.status == "loaded")
    with psycopg.connect(db_url) as conn:
        order = [name for (name,) in conn.execute("SELECT original_name FROM imports.files ORDER BY file_id")]
        loaded = conn.execute("SELECT count(*) FROM imports.processor_lines").fetchone()[0]
    assert order == [p.name for p in paths[:-1]]
    assert loaded == sum(o.records_loaded for o in outcomes) > 0
