"""Issue 14 as a newcomer meets it: an honest demo, mitigation on groups that can bear it, calibration that
follows the chosen grouping, and a report that holds every page's tables and opens offline."""

from __future__ import annotations

import re

import pytest

from auditapp.mitigation.costs import accuracy_change, recommended_candidate
from auditapp.mitigation.describe import points
from auditapp.service.mitigation_jobs import comparison_key
from auditapp.service.scenarios import scenario_state
from auditapp.service.store import ArtifactStore
from tests.browser.helpers import choose_only, grid_text, wait_for_text, wait_until_ready

pytestmark = pytest.mark.browser

CANDIDATES = ("baseline", "baseline_refit", "reweighing")


def _run_mitigation(page, names=CANDIDATES) -> None:
    page.wait_for_selector("#mitigation-candidates-checklist input[value=reweighing]:checked")
    choose_only(page, names)
    page.click("#mitigation-run-button")
    page.wait_for_selector("#mitigation-results-container", state="visible", timeout=90_000)
    wait_for_text(page, "#mitigation-table-grid .ag-body", "Reweighing")


def test_mitigation_groups_by_one_feature_and_costs_against_the_refitted_baseline(page, app_data_dir):
    page.goto("/mitigation")
    wait_for_text(page, "#mitigation-context-text", "groups: sex ·")
    assert page.inner_text("#mitigation-grouping-dropdown").strip().startswith("sex")
    _run_mitigation(page)
    groups = grid_text(page, "mitigation-group-sizes-grid")
    assert "female" in groups and "male" in groups and "small" not in groups
    text = page.inner_text("#mitigation-tradeoff-text")
    assert "costs below are measured against it" in text

    store = ArtifactStore(app_data_dir)
    state = scenario_state(store, "hiring")
    comparison = store.peek(comparison_key(store, store.new_session(), state, constraint="demographic_parity",
                                           candidates=CANDIDATES))
    # The demo model never saw these rows; the refitted learner is the point of comparison.
    best = recommended_candidate(comparison)
    assert best == "reweighing" and f"Recommended: {comparison.candidate(best).title}" in text
    cost = points(accuracy_change(comparison, "reweighing", "baseline_refit"))
    assert cost in text
    grid = grid_text(page, "mitigation-table-grid")
    assert cost in grid and "the point of comparison" in grid
    assert "Uploaded model refitted on the training part" in grid  # wrapped, not cut off


def test_an_intersection_flags_its_small_groups_and_claims_nothing_about_them(page):
    page.goto("/data")
    wait_for_text(page, "#data-dataset-status", "hiring.csv")
    wait_until_ready(page)  # the form is filled from the workspace first (it would overwrite the 50)
    page.fill("#data-min-group-input", "50")
    page.click("#data-run-button")
    wait_for_text(page, "#data-run-alert", "Audit ready")
    page.get_by_role("link", name="Mitigation", exact=True).click()
    wait_for_text(page, "#mitigation-context-text", "groups: sex ·")
    page.locator("#mitigation-grouping-dropdown").click()
    page.get_by_text("sex × ethnicity (intersection", exact=False).click()
    wait_for_text(page, "#mitigation-context-text", "groups: sex × ethnicity")
    _run_mitigation(page, ("baseline", "reweighing"))
    groups = wait_for_text(page, "#mitigation-group-sizes-grid .ag-body", "female & asian")
    assert "small: fewer than 50 test rows" in groups
    assert "too uncertain to act on" in page.inner_text("#mitigation-tradeoff-text")
    assert re.search(r"female & asian \(\d+ test rows, small\)", grid_text(page, "mitigation-table-grid"))


def test_calibration_follows_compare_groups_by(page):
    page.goto("/thresholds")
    page.wait_for_selector("#threshold-calibration-graph .main-svg")
    wait_for_text(page, "#threshold-calibration-graph", "female")
    assert "asian" not in page.locator("#threshold-calibration-graph").text_content()
    page.locator("#threshold-grouping-dropdown").click()
    page.get_by_role("option", name="ethnicity", exact=True).click()
    wait_for_text(page, "#threshold-calibration-graph", "asian")
    assert "female" not in page.locator("#threshold-calibration-graph").text_content()


def test_the_report_of_a_demo_session_has_the_proxy_and_mitigation_tables_and_opens_offline(page, browser,
                                                                                            tmp_path):
    page.goto("/explain")
    page.fill("#explain-rows-input", "80")
    page.click("#explain-compute-button")
    wait_for_text(page, "#explain-proxy-text", "womens_club for sex", timeout=90_000)
    page.get_by_role("link", name="Mitigation", exact=True).click()
    _run_mitigation(page)
    with page.expect_download() as download:
        page.click("#app-report-button")
    path = tmp_path / "report.html"
    download.value.save_as(path)
    text = path.read_text(encoding="utf-8")
    proxies = re.search(r'<table class="proxy-table">(.*?)</table>', text, re.S).group(1)
    assert re.search(r"<td>womens_club</td><td>sex</td>.*?<strong>flagged</strong>", proxies)
    table = re.search(r'<table class="mitigation-table">(.*?)</table>', text, re.S).group(1)
    assert "Reweighing (Kamiran &amp; Calders) <strong>(recommended)</strong>" in table
    assert '<div class="recommended">' in text and "Legal note." in text
    toc = re.search(r'<nav class="toc"[^>]*>(.*?)</nav>', text, re.S).group(1)
    assert '<a href="#explanations">Explanations</a>' in toc and '<a href="#mitigations">Mitigations</a>' in toc
    assert "Feedback loops</a> (not run in this session)" in toc

    # Opened as a reviewer would: offline, no request beyond the file, no console error.
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    reader = context.new_page()
    requests, errors = [], []
    reader.on("request", lambda r: requests.append(r.url))
    reader.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    reader.on("pageerror", lambda e: errors.append(str(e)))
    reader.goto(path.as_uri())
    reader.evaluate("document.querySelector('#mitigations .figure').scrollIntoView()")
    reader.wait_for_selector("#mitigations .js-plotly-plot .main-svg")
    context.close()
    assert requests == [path.as_uri()] and errors == []
