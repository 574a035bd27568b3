"""The Dagster UI in headless Chromium (Debian's `chromium` + `chromium-driver`, driven by Selenium): the global
asset graph shows the pipeline's stage groups and assets. A screenshot is kept under test-artifacts/ui/.

`make test` installs chromium first (.ci/ensure-chromium); run directly, this test runs the same script, and
skips only when chromium cannot be installed (not root, or no apt-get).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import headless_chromium
from tests.conftest import ROOT

STAGE_GROUPS = {"imports", "ledger", "reconciliation", "reports"}
ARTIFACTS = ROOT / "test-artifacts" / "ui"
LOAD_TIMEOUT_S = 90

ASSET_NODES = "query { assetNodes { assetKey { path } groupName } }"
# Text of every node drawn in the graph (asset and group boxes are HTML inside SVG foreignObjects); textContent
# keeps the full name where the UI truncates a long one in the middle.
GRAPH_TEXT_JS = "return Array.from(document.querySelectorAll('foreignObject')).map(e => e.textContent).join('\\n');"


@pytest.fixture
def browser() -> Iterator:
    with headless_chromium("1920,3600") as driver:   # tall: the graph draws only the nodes in view
        yield driver


def _dismiss_welcome(browser, wait_s: float) -> None:
    """Skip the first-visit "Join the Dagster community" dialog, which opens a moment after the page."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        buttons = WebDriverWait(browser, wait_s, poll_frequency=0.25).until(
            lambda d: d.find_elements(By.XPATH, "//button[normalize-space()='Skip']"))
    except TimeoutException:
        return
    for button in buttons:
        button.click()


def test_asset_graph_shows_the_stage_assets(dagster_stack, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    # What the code location says the stage groups hold; the graph must show each of them.
    nodes = dagster_stack.graphql(ASSET_NODES)["assetNodes"]
    expected = {n["assetKey"]["path"][-1] for n in nodes if n["groupName"] in STAGE_GROUPS}
    assert expected >= {"bank_records", "internal_records", "processor_records", "journal_entries",
                        "three_way_match", "trial_balance", "recon_summary"}

    browser.get(f"{dagster_stack.url}/asset-groups")   # "Global asset lineage"
    wait = WebDriverWait(browser, LOAD_TIMEOUT_S, poll_frequency=0.5)
    # The React app renders the graph after its GraphQL queries: first the groups, collapsed.
    wait.until(lambda d: all(group in d.execute_script(GRAPH_TEXT_JS) for group in STAGE_GROUPS))
    _dismiss_welcome(browser, wait_s=5)
    # The UI's "Expand all groups" shortcut (⌥E), so every asset node is drawn.
    ActionChains(browser).key_down(Keys.ALT).send_keys("e").key_up(Keys.ALT).perform()
    # Expanding keeps the zoom, and nodes outside the viewport are not drawn; the graph is fitted to the window
    # when the page loads, so load the expanded graph's address again.
    wait.until(lambda d: "expanded=" in d.current_url)
    browser.refresh()
    try:
        wait.until(lambda d: all(name in d.execute_script(GRAPH_TEXT_JS) for name in expected))
    finally:
        _dismiss_welcome(browser, wait_s=1)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "asset_graph.png"
        browser.save_screenshot(str(shot))
        print(f"screenshot: {shot}")

    graph_text = browser.execute_script(GRAPH_TEXT_JS)
    assert all(group in graph_text for group in STAGE_GROUPS)
    assert "expanded=" in browser.current_url   # the groups really were expanded, not just listed
    assert shot.stat().st_size > 10_000
