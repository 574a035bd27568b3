"""Debian's chromium and chromedriver, driven by Selenium, for the UI tests (Selenium downloads nothing).

`make test` installs them first (.ci/ensure-chromium); run directly, a test runs the same script, and skips only
when chromium cannot be installed (not root, or no apt-get)."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import ROOT


def browser_paths() -> tuple[str, str]:
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        # one installer at a time (pytest-xdist workers, other checkouts): apt-get takes a lock and fails beside
        # another; the next one finds chromium there
        with open(Path(tempfile.gettempdir()) / "financeops-ensure-chromium.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (shutil.which("chromium") and shutil.which("chromedriver")):
                subprocess.run([str(ROOT / ".ci" / "ensure-chromium")], check=False, timeout=600)
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("Debian's chromium and chromium-driver are not installed and could not be installed "
                    "(.ci/ensure-chromium needs root and apt-get)")
    return chromium, driver


@contextmanager
def headless_chromium(window: str) -> Iterator:
    """A headless Chromium of the given window size ("1920,3600"), quit afterwards."""
    chromium, driver_path = browser_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium   # the system browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={window}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()
