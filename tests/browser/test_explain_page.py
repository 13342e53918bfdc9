"""The Explanations page on the hiring demo: compute, read the gap and proxies, pick rows."""

from __future__ import annotations

import re

import pytest

from tests.browser.helpers import grid_text, wait_for_text

pytestmark = pytest.mark.browser

ROWS_PER_GROUP = "100"  # small, so the background job takes a few seconds (the cache serves later tests)


def _compute(page) -> None:
    """Open the page and compute the explanations with a small sample, as a user would."""
    page.goto("/explain")
    page.fill("#explain-rows-input", ROWS_PER_GROUP)
    page.click("#explain-compute-button")
    wait_for_text(page, "#explain-status-text", f"computed with {ROWS_PER_GROUP} rows per group", timeout=60_000)
    wait_for_text(page, "#explain-gap-text", "The biggest step is")


def _svg_text(page, selector: str, pattern: str) -> str:
    """Wait until an SVG element's text (plotly titles, hover labels) matches ``pattern``."""
    page.wait_for_function(
        "([sel, pat]) => { const el = document.querySelector(sel); return el && new RegExp(pat).test(el.textContent); }",
        arg=[selector, pattern])
    return page.text_content(selector)


def test_the_demo_shows_the_planted_proxy_driving_the_gap(page):
    _compute(page)
    gap = page.inner_text("#explain-gap-text")
    assert "for female and" in gap and "The biggest step is womens_club" in gap and "widens the gap" in gap
    assert "womens_club for sex" in page.inner_text("#explain-proxy-text")
    page.locator("#explain-proxy-grid").scroll_into_view_if_needed()  # the grid draws rows once seen
    wait_for_text(page, "#explain-proxy-grid .ag-body", "womens_club")
    assert "alone predicts sex" in grid_text(page, "explain-proxy-grid")
    assert "of 5,000 rows" in page.inner_text("#explain-sample-text")
    for graph in ("importance", "group-importance", "gap", "dependence", "local"):
        assert page.locator(f"#explain-{graph}-graph .main-svg").count() > 0
    # Another pair of groups redraws the waterfall.
    page.click("#explain-pair-grouping-dropdown")
    page.get_by_role("option", name="ethnicity", exact=True).click()
    wait_for_text(page, "#explain-gap-text", "for (asian|black|hispanic) and [-+0-9.]+ for white")


def test_the_row_picker_updates_the_local_waterfall(page):
    _compute(page)
    first = wait_for_text(page, "#explain-local-text", r"^Row \d+ starts")
    page.fill("#explain-row-input", "17")
    page.press("#explain-row-input", "Enter")
    wait_for_text(page, "#explain-local-text", "^Row 17 starts from the average output")
    _svg_text(page, "#explain-local-graph .gtitle", "^Why row 17 gets")
    assert first != page.inner_text("#explain-local-text")
    # Clicking a point of the dependence plot explains the row its hover label names.
    page.locator("#explain-dependence-graph").scroll_into_view_if_needed()
    point = page.evaluate("""() => {
        const gd = document.querySelector('#explain-dependence-graph .js-plotly-plot');
        const trace = gd._fullData[0], layout = gd._fullLayout;
        const box = gd.getBoundingClientRect();
        return {x: box.left + layout._size.l + layout.xaxis.d2p(trace.x[0]),
                y: box.top + layout._size.t + layout.yaxis.d2p(trace.y[0])};
    }""")
    page.mouse.move(point["x"], point["y"])
    hover = _svg_text(page, "#explain-dependence-graph .hoverlayer", r"row \d+")
    row = re.search(r"row (\d+)", hover).group(1)
    page.mouse.click(point["x"], point["y"])
    wait_for_text(page, "#explain-local-text", rf"^Row {row} starts")
    assert page.input_value("#explain-row-input") == row

def test_a_bad_row_id_gets_a_clear_message(page):
    _compute(page)
    page.fill("#explain-row-input", "999999")
    page.press("#explain-row-input", "Enter")
    wait_for_text(page, "#explain-local-alert", "Row 999999 is not in the dataset")


def test_without_a_model_the_page_says_what_it_needs(page):
    page.goto("/data")
    page.click("#data-model-clear-button")
    page.get_by_role("link", name="Explanations").click()
    wait_for_text(page, "#explain-alert", "Upload the model on Data & model: explanations need the model itself")
    assert page.is_disabled("#explain-compute-button")
    assert not page.is_visible("#explain-gap-graph .main-svg")
