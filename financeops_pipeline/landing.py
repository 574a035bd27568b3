"""The landing folder: <data_dir>/<tenant>/<YYYY-MM-DD>/{bank,processor,internal}/<files>."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

SOURCES = ("internal", "processor", "bank")
_TENANT = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


def validate_tenant(tenant: str) -> str:
    """Tenant names become Postgres role names: lower-case letters, digits and '_' only."""
    if not _TENANT.fullmatch(tenant):
        raise ValueError(f"invalid tenant name {tenant!r}: use lower-case letters, digits and '_'")
    return tenant


def discover_tenants(data_dir: Path) -> list[str]:
    """Tenant folders present in the landing folder."""
    if not data_dir.is_dir():
        return []
    return sorted(p.name for p in data_dir.iterdir() if p.is_dir() and _TENANT.fullmatch(p.name))


def day_files(data_dir: Path, tenant: str, day: dt.date, source: str) -> list[Path]:
    """Files landed for one tenant, day and source, in a stable order."""
    folder = data_dir / tenant / day.isoformat() / source
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


READY_MARKER = "_READY"


def day_landed(data_dir: Path, tenant: str, day: dt.date) -> bool:
    """A tenant-day has landed when its sender put a `_READY` marker in the day folder (the file transfer is
    complete, whatever sources it holds), or when every source (internal, processor, bank) has at least one file."""
    folder = data_dir / tenant / day.isoformat()
    return (folder / READY_MARKER).is_file() or all(day_files(data_dir, tenant, day, s) for s in SOURCES)
