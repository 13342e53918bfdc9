"""Pages open drawn: the first chart comes with the page, callbacks do not draw it again, and a browser holding
another state than the one drawn sees its own (issue 14: first chart in a second, never a stale view)."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import ConsoleWatcher
from tests.browser.helpers import wait_for_text

pytestmark = pytest.mark.browser

DRAWN = ".main-svg .cartesianlayer g.trace"
# The upper whisker of the first bar of the rates chart.
WHISKER = "() => document.querySelector('#metrics-bar-graph .js-plotly-plot').data[0].error_y.array[0]"


class Callbacks:
    """The page's callback requests: which outputs each asked for and how the server answered."""

    def __init__(self, page):
        self.calls: list[tuple[str, int]] = []
        page.on("requestfinished", self._finished)

    def _finished(self, request):
        if "_dash-update-component" in request.url:
            outputs = json.loads(request.post_data or "{}").get("output", "")
            self.calls.append((outputs, request.response().status))

    def answered(self, output_id: str) -> list[int]:
        return [status for outputs, status in self.calls if output_id in outputs]


@pytest.fixture
def fresh_tab(browser, app_url):
    contexts, tabs = [], []

    def open_tab(path: str):
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=app_url)
        contexts.append(context)
        tab = context.new_page()
        tab.set_default_timeout(30_000)
        tab.console = ConsoleWatcher(tab)
        tab.callbacks = Callbacks(tab)
        tabs.append(tab)
        tab.goto(path)
        return tab

    yield open_tab
    errors = [e for tab in tabs for e in tab.console.errors]
    for context in contexts:
        context.close()
    assert errors == [], f"browser console errors: {errors}"


def test_a_page_opens_drawn_and_switching_pages_draws_each_once(fresh_tab):
    warm = fresh_tab("/")  # the demo's audit is cached once any page asked for it
    warm.wait_for_selector(f"#metrics-bar-graph {DRAWN}")
    tab = fresh_tab("/")
    tab.wait_for_selector(f"#metrics-bar-graph {DRAWN}")
    tab.wait_for_load_state("networkidle")
    assert "5,000 rows" in tab.inner_text("#metrics-context-text")
    assert tab.callbacks.answered("_pages_content") == []  # the router did not render the page a second time
    # The page's own callbacks had nothing to do: the figures came with it (204: no update).
    for output in ("metrics-bar-graph", "metrics-disparity-graph", "metrics-heatmap-graph", "metrics-summary-list"):
        assert set(tab.callbacks.answered(output)) <= {204}, output

    tab.get_by_role("link", name="Threshold explorer", exact=True).click()
    tab.wait_for_selector(f"#threshold-curves-graph {DRAWN}")
    tab.wait_for_load_state("networkidle")
    assert tab.callbacks.answered("_pages_content") == [200]  # the router drew the page with its figures
    assert set(tab.callbacks.answered("threshold-curves-graph")) <= {204}
    assert tab.locator("#threshold-table-grid .ag-row").count() > 0  # the grid is built after the charts

    # A choice on the page still draws as before.
    tab.get_by_role("link", name="Group metrics", exact=True).click()
    tab.wait_for_selector(f"#metrics-bar-graph {DRAWN}")
    tab.locator("#metrics-disparity-radio").get_by_text("Difference", exact=True).click()
    tab.wait_for_function("() => document.querySelector('#metrics-disparity-graph').innerText.includes('points')")
    assert 200 in tab.callbacks.answered("metrics-disparity-graph")


def test_a_browser_holding_another_state_sees_its_own_not_the_one_drawn(fresh_tab):
    tab = fresh_tab("/")
    wait_for_text(tab, "#metrics-context-text", "95% confidence")
    tab.wait_for_selector(f"#metrics-bar-graph {DRAWN}")
    before = tab.evaluate(WHISKER)
    # Another tab of this browser changed the settings (the state every tab shares lives in localStorage).
    tab.evaluate("""() => {
        const state = JSON.parse(localStorage.getItem('app-state-store'));
        state.spec.confidence = 0.99;
        localStorage.setItem('app-state-store', JSON.stringify(state));
    }""")
    tab.reload()
    wait_for_text(tab, "#metrics-context-text", "99% confidence")
    tab.wait_for_selector(f"#metrics-bar-graph {DRAWN}")
    tab.wait_for_function(f"() => ({WHISKER})() > {before} * 1.2")  # the chart shows 99% intervals: wider
    assert 200 in tab.callbacks.answered("metrics-bar-graph")  # redrawn for the browser's state
