"""Process set-up shared by every command: the server, migrations, and the environment Dagster reads."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from financeops_pipeline.db.migrate import migrate
from financeops_pipeline.db.server import PostgresTarget, export_env, postgres
from financeops_pipeline.settings import PROJECT_ROOT, Settings, load_settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    target: PostgresTarget

    @property
    def db_url(self) -> str:
        return self.target.app_url


@contextmanager
def runtime(data_dir: Path | None = None, tenants: tuple[str, ...] = ()) -> Iterator[Runtime]:
    """Start (or reach) Postgres, apply migrations, and export what Dagster's resources read (EnvVar)."""
    settings = load_settings()
    data_dir = (data_dir or settings.data_dir).resolve()
    with postgres(settings.home, settings.database_url) as target:
        migrate(target.app_url)
        export_env(target)
        dagster_home = settings.dagster_home
        dagster_home.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PROJECT_ROOT / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
        os.environ.update({
            "DAGSTER_HOME": str(dagster_home),
            "FINANCEOPS_DATA_DIR": str(data_dir),
            "FINANCEOPS_ARCHIVE_DIR": str(settings.archive_dir),
            "FINANCEOPS_TENANTS": ",".join(tenants or settings.tenants),
        })
        yield Runtime(settings=settings, target=target)
