"""Audit facts stamped on every file import and posting: which code, which run."""

from __future__ import annotations

import subprocess
from functools import cache

from financeops_pipeline import __version__
from financeops_pipeline.settings import PROJECT_ROOT


@cache
def code_version() -> str:
    """Package version plus the git commit when running from a checkout (e.g. '0.1.0+3f2a9c1')."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
            text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__
