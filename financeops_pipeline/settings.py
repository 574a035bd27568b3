"""Settings read from the environment only: no secret or location is ever a literal in code."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Where things live; every field comes from an environment variable with a safe local default."""

    home: Path                 # FINANCEOPS_HOME: embedded Postgres data, archive, Dagster home
    database_url: str | None   # DATABASE_URL: an external Postgres; None = start the embedded one
    data_dir: Path             # FINANCEOPS_DATA_DIR: landing folder <tenant>/<YYYY-MM-DD>/{bank,processor,internal}
    tenants: tuple[str, ...]   # FINANCEOPS_TENANTS: comma list; empty = every tenant folder in data_dir

    @property
    def archive_dir(self) -> Path:
        return self.home / "archive"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster_home"


def load_settings() -> Settings:
    """Read settings from the environment."""
    home = Path(os.environ.get("FINANCEOPS_HOME", PROJECT_ROOT / ".financeops")).resolve()
    tenants = tuple(t.strip() for t in os.environ.get("FINANCEOPS_TENANTS", "").split(",") if t.strip())
    return Settings(
        home=home,
        database_url=os.environ.get("DATABASE_URL") or None,
        data_dir=Path(os.environ.get("FINANCEOPS_DATA_DIR", PROJECT_ROOT / "data_samples")).resolve(),
        tenants=tenants,
    )
