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

    def open_tab(path: str, init_script: str | None = None):
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=app_url)
        contexts.append(context)
        if init_script:
            context.add_init_script(init_script)
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


# Every animation frame, which charts have been drawn (plotly's svg is in them).
FRAMES = """
window.__drawnByFrame = [];
(function frame() {
    window.__drawnByFrame.push(Array.from(document.querySelectorAll('.dash-graph'))
        .filter(graph => graph.querySelector('.js-plotly-plot .main-svg')).map(graph => graph.id));
    requestAnimationFrame(frame);
})();
"""


def test_the_first_chart_is_painted_before_the_next_is_drawn_and_plotly_loads_once(fresh_tab):
    fresh_tab("/").wait_for_selector(f"#metrics-bar-graph {DRAWN}")  # the demo's audit cached
    tab = fresh_tab("/", FRAMES)
    charts = ["metrics-bar-graph", "metrics-disparity-graph", "metrics-heatmap-graph"]
    tab.wait_for_function(f"() => {json.dumps(charts)}.every(id => document.querySelector('#' + id + ' .main-svg'))")
    tab.wait_for_timeout(100)  # a frame or two more
    frames = tab.evaluate("window.__drawnByFrame")
    # One new chart per frame, in page order: each is painted before the next one takes the main thread.
    order = []
    for drawn in frames:
        new = [chart for chart in drawn if chart not in order]
        assert len(new) <= 1, f"charts drawn in the same frame: {new}"
        order += new
    assert order[:3] == charts
    # plotly.js ran once, from the page's own request (dcc.Graph waited for it instead of fetching a copy).
    tab.wait_for_load_state("networkidle")
    loads = tab.evaluate("performance.getEntriesByType('resource').map(r => r.name).filter(n => n.includes('plotly'))")
    assert len(loads) == 1, loads
    assert tab.evaluate("typeof window.Plotly.newPlot") == "function"
    assert tab.evaluate("window.Plotly.react.name") == "wrapped"
