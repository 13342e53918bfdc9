"""Mitigation page: run a small comparison on the demo, watch progress, read the results, download a model."""

from __future__ import annotations

import pandas as pd
import pytest

from auditapp.core.spec import AuditSpec
from auditapp.inputs.models import load_model
from auditapp.service.mitigation_jobs import cached_comparison, comparison_key
from auditapp.service.scenarios import scenario_state
from auditapp.service.store import ArtifactStore
from tests.browser.helpers import choose_only, percent, wait_for_text

pytestmark = pytest.mark.browser

SMALL = ("baseline", "reweighing", "threshold_optimizer")


def test_small_comparison_shows_progress_results_and_a_loadable_model(page, app_data_dir, tmp_path):
    page.goto("/mitigation")
    wait_for_text(page, "#mitigation-context-text", "hiring.csv: 5,000 rows")
    page.wait_for_selector("#mitigation-candidates-checklist input[value=grid_search]:checked")
    choose_only(page, SMALL)
    page.click("#mitigation-run-button")
    page.wait_for_selector("#mitigation-status-list [data-status]", timeout=20_000)
    assert page.is_enabled("#mitigation-cancel-button")
    page.wait_for_selector("#mitigation-results-container", state="visible", timeout=30_000)
    assert page.is_disabled("#mitigation-cancel-button") and page.is_enabled("#mitigation-run-button")

    # The comparison the app cached server-side for these choices (the browser holds only the choices);
    # read as the server does (``peek``): another session would find nothing (``cached_comparison``).
    store = ArtifactStore(app_data_dir)
    state = scenario_state(store, "hiring")
    outsider = store.new_session()
    key = comparison_key(store, outsider, state, constraint="demographic_parity", candidates=SMALL)
    expected = store.peek(key)
    assert cached_comparison(store, outsider, state, constraint="demographic_parity", candidates=SMALL) is None
    assert [c.name for c in expected.candidates] == list(SMALL)
    assert all(c.error is None for c in expected.candidates)
    frame = pd.read_csv(app_data_dir / "scenarios" / "hiring" / "v2" / "hiring.csv")
    spec = AuditSpec.from_dict(state["spec"])
    text = wait_for_text(page, "#mitigation-table-grid .ag-body", "ThresholdOptimizer")
    for result in expected.candidates:
        assert result.title in text and percent(result.accuracy.value) in text
    assert page.locator("#mitigation-tradeoff-graph .main-svg").count() > 0
    assert page.locator("#mitigation-run-summary [data-status=done]").count() == 3
    baseline = expected.candidate("baseline")
    assert f"{baseline.disparity.value:.3f}" in page.inner_text("#mitigation-tradeoff-text")
    assert "disparate treatment" in page.inner_text("body")

    page.locator("#mitigation-candidate-dropdown").click()
    page.get_by_role("option", name="ThresholdOptimizer", exact=True).click()
    text = wait_for_text(page, "#mitigation-candidate-text", "Needs the sensitive attribute")
    # A randomised candidate says its numbers are expectations, with the spread of single draws.
    draws = expected.candidate("threshold_optimizer").draws.criteria["demographic_parity_difference"]
    assert "expectations over its random decisions" in text and f"{draws[0]:.3f}–{draws[1]:.3f}" in text
    with page.expect_download() as download:
        page.click("#mitigation-model-button")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name == "threshold_optimizer.skops"
    model = load_model(path)
    # Fair between the groups of the first sensitive feature (the default), so it needs sex to decide.
    assert expected.grouping == (spec.sensitive[0],) and set(expected.grouping) <= set(model.feature_names)
    predicted = model.predict(frame[list(model.feature_names)].head(50))
    assert set(pd.unique(predicted)) <= {0, 1}


def test_grid_search_warning_is_shown_next_to_the_candidate(page):
    page.goto("/mitigation")
    wait_for_text(page, "#mitigation-context-text", "hiring.csv: 5,000 rows")
    page.wait_for_selector("#mitigation-candidates-checklist input[value=grid_search]:checked")
    choose_only(page, ("baseline", "grid_search"))
    page.locator("#mitigation-grouping-dropdown").click()
    page.get_by_text("sex × ethnicity (intersection", exact=False).click()
    wait_for_text(page, "#mitigation-context-text", "groups: sex × ethnicity")
    page.click("#mitigation-run-button")
    page.wait_for_selector("#mitigation-run-summary [data-name=grid_search][data-status=done]", timeout=180_000)
    page.locator("#mitigation-candidate-dropdown").click()
    page.get_by_role("option", name="GridSearch", exact=True).click()
    # sex × ethnicity: 8 groups, 7 constraint dimensions, so 2^7 = 128 grid points and fairlearn's warning.
    text = wait_for_text(page, "#mitigation-candidate-text", "Warnings while fitting")
    assert "128 grid points over 7 constraint dimension(s)" in text
    assert "fairlearn: The grid has 7 dimensions" in text
