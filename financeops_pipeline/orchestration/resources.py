"""The one resource every asset uses: where the database and the landing folder are (from the environment)."""


import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import psycopg

from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.landing import discover_tenants


class FinanceopsResource(dg.ConfigurableResource):
    """Database URL, landing folder, archive and tenants: configured only through EnvVar."""

    database_url: str
    data_dir: str
    archive_dir: str
    tenants: str = ""   # comma list; empty = every tenant folder in data_dir

    def tenant_list(self) -> list[str]:
        chosen = [t.strip() for t in self.tenants.split(",") if t.strip()]
        return chosen or discover_tenants(Path(self.data_dir))

    @contextmanager
    def tenant_conn(self, tenant: str) -> Iterator[psycopg.Connection]:
        with tenant_connection(self.database_url, tenant, application_name="financeops-dagster") as conn:
            yield conn

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def archive_path(self) -> Path:
        return Path(self.archive_dir)


def partition_days(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[dt.date]:
    """Days of the run's partition range (one day for a daily run, many for a single-run backfill)."""
    window = context.partition_time_window
    day = window.start.date()
    days = []
    while day < window.end.date():
        days.append(day)
        day += dt.timedelta(days=1)
    return days


def default_resources() -> dict[str, FinanceopsResource]:
    return {
        "financeops": FinanceopsResource(
            database_url=dg.EnvVar("FINANCEOPS_DB_URL"),
            data_dir=dg.EnvVar("FINANCEOPS_DATA_DIR"),
            archive_dir=dg.EnvVar("FINANCEOPS_ARCHIVE_DIR"),
            tenants=dg.EnvVar("FINANCEOPS_TENANTS"),
        )
    }
