"""The report carries the charts of the pages that have results."""

import json

import pytest

from tests.browser.helpers import wait_for_text

pytestmark = pytest.mark.browser


def _control(name: str) -> str:
    key = json.dumps({"name": name, "type": "feedback-control"}, separators=(",", ":"))
    return f"[id='{key}']"


def test_a_finished_simulation_appears_in_the_downloaded_report(page, tmp_path):
    page.goto("/feedback")
    page.fill(_control("policing:steps"), "300")
    page.fill(_control("policing:runs"), "5")
    page.click("#feedback-run-button")
    wait_for_text(page, "#feedback-summary-list", "After 300 days")
    with page.expect_download() as download:
        page.click("#app-report-button")
    path = tmp_path / "report.html"
    download.value.save_as(path)
    text = path.read_text(encoding="utf-8")
    assert "<h2>Feedback loops</h2>" in text
    assert "Where patrols go" in text
