"""The one resource every asset uses: where the database and the landing folder are (from the environment)."""


import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import psycopg

from financeops_pipeline.db.pools import tenant_session
from financeops_pipeline.landing import discover_tenants


class FinanceopsResource(dg.ConfigurableResource):
    """Database URL, landing folder, archive and tenants: configured only through EnvVar."""

    database_url: str
    data_dir: str
    archive_dir: str
    tenants: str = ""   # comma list; empty = every tenant folder in data_dir

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        hold_storage_connections(context.instance)   # a launched run's worker (daemon, UI) too

    def tenant_list(self) -> list[str]:
        chosen = [t.strip() for t in self.tenants.split(",") if t.strip()]
        return chosen or discover_tenants(Path(self.data_dir))

    @contextmanager
    def tenant_conn(self, tenant: str) -> Iterator[psycopg.Connection]:
        """A tenant session from the posting pool (imports, ledger, reconciliation, checks)."""
        with tenant_session(self.database_url, tenant, "posting") as conn:
            yield conn

    @contextmanager
    def report_conn(self, tenant: str) -> Iterator[psycopg.Connection]:
        """A tenant session from the reports pool: capped and timed out apart from posting's."""
        with tenant_session(self.database_url, tenant, "reports") as conn:
            yield conn

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def archive_path(self) -> Path:
        return Path(self.archive_dir)


def hold_storage_connections(instance: dg.DagsterInstance | None) -> None:
    """Let the instance's storages keep one connection each for the process, as dagster-webserver's do. A run writes
    a few hundred events, and dagster-postgres opens a connection for each one (NullPool, so that a long-lived
    process holds none): 3.0 s of a 1M day's `financeops run`, 1.1 s after. statement_timeout 0: none, as before.
    Once per instance."""
    if instance is not None and not getattr(instance, "_financeops_held", False):
        instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=10)
        instance._financeops_held = True   # noqa: SLF001 - our own marker on it


def partition_days(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[dt.date]:
    """Days of the run's partition range (one day for a daily run, many for a single-run backfill)."""
    window = context.partition_time_window
    day = window.start.date()
    days = []
    while day < window.end.date():
        days.append(day)
        day += dt.timedelta(days=1)
    return days


def partition_tenants(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
                      financeops: FinanceopsResource) -> list[str]:
    """Tenants of the run's partition range (one for a tenant-day run or a one-tenant backfill), kept to the
    resource's tenants; every tenant of the resource when the asset is not partitioned."""
    from financeops_pipeline.orchestration.partitions import TENANT, tenant_day_partitions, tenant_partitions

    configured = financeops.tenant_list()
    if not (context.has_partition_key or context.has_partition_key_range):
        return configured
    keys = context.partition_key_range
    first, last = (tenant_day_partitions.get_partition_key_from_str(str(k)).keys_by_dimension[TENANT]
                   for k in (keys.start, keys.end))
    order = tenant_partitions.get_partition_keys()
    in_range = order[order.index(first):order.index(last) + 1] if first in order and last in order else [first, last]
    return [t for t in configured if t in in_range]


# Transient database errors (lost connection, serialization failure, deadlock, admin shutdown, lock timeout:
# psycopg's OperationalError family) are retried with exponential backoff; every step is idempotent, so a retry
# redoes nothing twice. Anything else fails at once (a bad file or a bug does not get better by waiting).
RETRY_POLICY = dg.RetryPolicy(max_retries=3, delay=1, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, psycopg.OperationalError)


@contextmanager
def retry_only_transient() -> Iterator[None]:
    """Inside an asset with RETRY_POLICY: let transient errors through (Dagster retries them), and turn every
    other error into a Failure that is not retried."""
    try:
        yield
    except dg.Failure:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise
        raise dg.Failure(description=f"{type(exc).__name__}: {exc}", allow_retries=False) from exc


def default_resources() -> dict[str, FinanceopsResource]:
    return {
        "financeops": FinanceopsResource(
            database_url=dg.EnvVar("FINANCEOPS_DB_URL"),
            data_dir=dg.EnvVar("FINANCEOPS_DATA_DIR"),
            archive_dir=dg.EnvVar("FINANCEOPS_ARCHIVE_DIR"),
            tenants=dg.EnvVar("FINANCEOPS_TENANTS"),
        )
    }
