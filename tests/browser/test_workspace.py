"""One workspace per browser: its tabs share uploads, settings, policy and report; other browsers see none."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.browser.conftest import ConsoleWatcher
from tests.browser.helpers import upload, wait_for_text

pytestmark = pytest.mark.browser


@pytest.fixture
def two_browsers(browser, app_url):
    """Two browsers (each its own cookie jar and storage); yields a function opening a tab in one of them."""
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=app_url) for _ in range(2)]
    tabs = []

    def open_tab(which: int, path: str):
        tab = contexts[which].new_page()
        tab.set_default_timeout(30_000)
        tab.console = ConsoleWatcher(tab)
        tab.goto(path)
        tabs.append(tab)
        return tab

    yield open_tab
    errors = [e for tab in tabs for e in tab.console.errors]
    for context in contexts:
        context.close()
    assert errors == [], f"browser console errors: {errors}"


def _workspace_cookie(tab) -> str:
    return next(c["value"] for c in tab.context.cookies() if c["name"] == "auditapp_workspace")


def test_tabs_of_one_browser_share_one_workspace_and_another_browser_stays_apart(two_browsers, tmp_path):
    (tmp_path / "people.csv").write_text("sex,label,pred\n" + "f,1,1\nm,0,1\nf,0,0\nm,1,1\n" * 50)
    first = two_browsers(0, "/data")
    wait_for_text(first, "#data-dataset-status", "hiring.csv")
    second = two_browsers(0, "/data")  # another tab of the same browser, already open
    wait_for_text(second, "#data-dataset-status", "hiring.csv")
    upload(first, "data-dataset-drop", tmp_path / "people.csv")
    wait_for_text(first, "#data-upload-alert", "Loaded people.csv")
    wait_for_text(second, "#data-dataset-status", "people.csv")  # the open tab follows at once
    third = two_browsers(0, "/data")  # a tab opened later starts from the workspace, not the demo
    wait_for_text(third, "#data-dataset-status", "people.csv")
    assert _workspace_cookie(first) == _workspace_cookie(third)

    other = two_browsers(1, "/data")  # another browser: its own workspace, the demo, none of these files
    wait_for_text(other, "#data-dataset-status", "hiring.csv")
    assert _workspace_cookie(other) != _workspace_cookie(first)
    assert "people.csv" not in other.inner_text("#data-dataset-status")


def test_a_report_from_one_tab_holds_what_another_tab_checked(two_browsers):
    setup = two_browsers(0, "/data")
    setup.click("#data-scenario-button")  # a clean demo workspace
    wait_for_text(setup, "#data-upload-alert", "Loaded the scenario")
    metrics = two_browsers(0, "/")
    wait_for_text(metrics, "#metrics-table-grid .ag-body", "female")
    policy = two_browsers(0, "/policy")
    policy.click("#policy-preset-dropdown")
    policy.click("text=equalized-odds")
    wait_for_text(policy, "#policy-description-text", "Checking: equalized-odds")
    with metrics.expect_download(timeout=60_000) as download:
        metrics.click("#app-report-button")  # the report from the other tab
    text = Path(download.value.path()).read_text(encoding="utf-8")
    record = json.loads(re.search(r'id="audit-record">(.*?)</script>', text, re.S).group(1))
    assert record["policy"]["name"] == "equalized-odds"
    elsewhere = two_browsers(1, "/policy")  # another browser keeps its own checked policy
    wait_for_text(elsewhere, "#policy-description-text", "Checking: four-fifths")
