"""The workbench in headless Chromium, as two people use it: a preparer writes off a break with an adjusting
entry, the break shows as awaiting approval, the preparer cannot approve it; an approver signs in and approves;
the trial balance then shows the entry and the history lists both people. Screenshots go to
test-artifacts/workbench/ (git-ignored; the README's are copies in docs/workbench/)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from tests.browser import headless_chromium
from tests.conftest import ROOT
from tests.webserver.processes import free_port
from tests.workbench.conftest import PASSWORD

ARTIFACTS = ROOT / "test-artifacts" / "workbench"
DAY = "2026-11-04"


@pytest.fixture
def served(bench) -> Iterator[str]:
    """The workbench app on a free loopback port, in this process (uvicorn in a thread)."""
    import uvicorn

    from financeops_pipeline.workbench.web.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(bench.url, bench.archive), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the workbench did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _shot(browser, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def _submit(browser, send) -> tuple[str, str]:
    """Send a form (`send()`), wait for the page it leads to, and return that page's message and error."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = browser.find_element(By.TAG_NAME, "html")
    send()
    wait = WebDriverWait(browser, 30, poll_frequency=0.1)
    wait.until(expected_conditions.staleness_of(old))
    wait.until(lambda d: d.find_elements(By.ID, "flash") or d.find_elements(By.ID, "error"))
    texts = {i: " ".join(e.text for e in browser.find_elements(By.ID, i)) for i in ("flash", "error")}
    return texts["flash"], texts["error"]


def _sign_in(browser, url: str, username: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{url}/login")
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "sign-in").click()
    WebDriverWait(browser, 30, poll_frequency=0.1).until(lambda d: d.find_elements(By.ID, "whoami"))
    assert browser.find_element(By.ID, "whoami").text == username


def _sign_out(browser) -> None:
    from selenium.webdriver.common.by import By

    browser.find_element(By.CSS_SELECTOR, "form[action='/logout'] button").click()


def test_preparer_writes_off_approver_approves_in_the_browser(served, bench, monkeypatch):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    with headless_chromium("1400,1100") as browser:
        _sign_in(browser, served, "acme_prep")
        browser.get(f"{served}/t/acme/day/{DAY}")
        rows = browser.find_elements(By.CSS_SELECTOR, "#breaks tbody tr[data-break]")
        assert sorted(r.get_attribute("data-type") for r in rows) == ["amount_mismatch", "bank_unmatched",
                                                                      "missing_in_internal"]
        assert browser.find_element(By.ID, "total-USD").text == "217.00 USD"
        _shot(browser, "breaks")
        mismatch = next(r for r in rows if r.get_attribute("data-type") == "amount_mismatch")
        break_id = mismatch.get_attribute("data-break")
        mismatch.find_element(By.TAG_NAME, "a").click()
        assert "acme-T0016" in browser.find_element(By.ID, "items").text
        Select(browser.find_element(By.ID, "adjust-account")).select_by_visible_text("write_offs")
        browser.find_element(By.ID, "adjust-note").send_keys("Stripe settled 50.01 for a 50.00 charge")
        flash, error = _submit(browser, browser.find_element(By.ID, "propose-adjust").click)
        assert not error and "awaits an approver" in flash, error
        assert "awaiting approval" in browser.find_element(By.ID, "break-state").text
        _shot(browser, "break_awaiting_approval")
        # The preparer is offered no approval, and one forced through the form is refused
        assert not browser.find_elements(By.CSS_SELECTOR, "button.approve")
        proposal = browser.find_element(By.CSS_SELECTOR, "#proposals tr[data-proposal]").get_attribute("data-proposal")
        _, error = _submit(browser, lambda: browser.execute_script(
            "const f = document.createElement('form'); f.method = 'post';"
            f"f.action = '/t/acme/proposal/{proposal}/approve';"
            "const t = document.querySelector('input[name=csrf_token]').cloneNode(); f.appendChild(t);"
            "document.body.appendChild(f); f.submit();"))
        assert "approver role" in error
        browser.get(f"{served}/t/acme/day/{DAY}")
        row = browser.find_element(By.CSS_SELECTOR, f"tr[data-break='{break_id}']")
        assert row.find_element(By.CLASS_NAME, "state").text == "awaiting approval"
        _sign_out(browser)

        _sign_in(browser, served, "acme_appr")
        browser.find_element(By.ID, "approvals-link").click()
        waiting = browser.find_element(By.CSS_SELECTOR, f"#waiting tr[data-proposal='{proposal}']")
        assert "acme_prep" in waiting.text and "posts an entry" in waiting.text
        _shot(browser, "approvals")
        flash, _ = _submit(browser, waiting.find_element(By.CSS_SELECTOR, "button.approve").click)
        assert f"entry workbench:proposal:{proposal} booked on {DAY}" in flash
        browser.get(f"{served}/t/acme/day/{DAY}/break/{break_id}")
        history = browser.find_element(By.ID, "history")
        actors = [e.text for e in history.find_elements(By.CLASS_NAME, "actor")]
        assert actors == ["acme_prep", "acme_appr"]
        assert "explained (written_off)" in browser.find_element(By.ID, "items").text
        browser.execute_script("document.getElementById('history').scrollIntoView()")
        _shot(browser, "break_history")
        browser.get(f"{served}/t/acme/day/{DAY}/signoff")
        _shot(browser, "signoff")

    # The trial balance published for the day (the workbench republished it) shows the entry
    from financeops_pipeline.cli import main

    monkeypatch.setenv("DATABASE_URL", bench.url)
    report = CliRunner().invoke(main, ["report", "trial-balance", "--date", DAY, "--tenant", "acme"],
                                catch_exceptions=False)
    assert report.exit_code == 0, report.output
    lines = {line.split(",")[0]: line for line in report.output.splitlines()}
    assert lines["write_offs"].endswith(",expense,USD,0.00,0.01"), lines["write_offs"]   # a credit of 0.01
