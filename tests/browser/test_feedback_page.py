"""Feedback loops page: each scenario runs from the page (as a background job) and its charts appear."""

from __future__ import annotations

import json
import re

import pytest

from auditapp.feedback.runner import run_simulation
from auditapp.service.feedback_presets import (
    CONTROLS,
    lending_params,
    policing_params,
    read_controls,
)
from tests.browser.helpers import wait_for_text

pytestmark = pytest.mark.browser


def _control(name: str) -> str:
    """CSS selector of a page control (Dash writes pattern-matching ids as sorted JSON)."""
    key = json.dumps({"name": name, "type": "feedback-control"}, separators=(",", ":"))
    return f"[id='{key}']"


def _set_slider(page, name: str, value) -> None:
    """Type a value into a slider's own number box, as a user can."""
    box = page.locator(f"{_control(name)} input")
    box.fill(str(value))
    box.press("Enter")


def _values(scenario: str, **changes) -> dict:
    raw = {c.name: c.default for c in CONTROLS[scenario]}
    return read_controls(scenario, {**raw, "seed": 0, **changes})


def _chart_text(page, graph_id: str) -> str:
    """Text drawn in a visible chart (title, axes, legend), once Plotly has drawn it."""
    page.locator(f"#{graph_id} .main-svg").first.wait_for(state="visible")  # drawn after the summary shows
    return page.locator(f"#{graph_id}").text_content()


def _choose(page, label: str) -> None:
    page.locator(f"#feedback-scenario-radio label:has-text('{label}')").click()


def test_policing_runs_both_sides_and_steps_through_time(page):
    page.goto("/feedback")
    page.fill(_control("policing:steps"), "300")
    page.fill(_control("policing:runs"), "5")
    page.click("#feedback-run-button")
    summary = wait_for_text(page, "#feedback-summary-list", "After 300 days")
    plain, corrected = (run_simulation("policing", p, seed=0)
                        for p in policing_params(_values("policing", steps=300, runs=5)))
    assert f"{plain.summary['final_mean_share'][0]:.1%} of patrols without the correction" in summary
    assert f"{corrected.summary['final_mean_share'][0]:.1%} with it" in summary
    for graph in ("feedback-left-graph", "feedback-right-graph"):
        assert "Where patrols go" in _chart_text(page, graph)
    wait_for_text(page, "#feedback-step-text", "Day 300 of 300")
    page.click("#feedback-play-button")
    wait_for_text(page, "#feedback-step-text", r"^Day ([0-9]{1,2}|[12][0-9]{2}) of 300")
    page.click("#feedback-play-button")
    wait_for_text(page, "#feedback-play-button", "Play")


def test_lending_compares_two_policies(page):
    page.goto("/feedback")
    _choose(page, "Lending with delayed impact")
    _set_slider(page, "lending:steps", 3)
    page.click("#feedback-run-button")
    summary = wait_for_text(page, "#feedback-summary-list", "After 3 rounds")
    left, right = (run_simulation("lending", p) for p in lending_params(_values("lending", steps=3)))
    group_b = right.summary["groups"][1]
    assert f"demographic parity lends to {group_b['selection_rate']:.1%}" in summary
    assert page.inner_text("#feedback-left-title") == "Policy 1: maximum profit"
    assert page.inner_text("#feedback-right-title") == "Policy 2: demographic parity"
    assert "Outcome curves" in _chart_text(page, "feedback-right-extra-graph")
    wait_for_text(page, "#feedback-step-text", "Round 3 of 3")


def test_model_loop_runs_the_demo_model_against_full_information(page):
    page.goto("/feedback")
    _choose(page, "Your model in the loop")
    wait_for_text(page, "#feedback-loop-context-text", "hiring.csv")
    # The defaults: performance revealed once selected, past decisions kept, 1,000 applicants a round.
    assert page.inner_text(f"{_control('model-loop:outcome')}").strip().startswith("performed_well")
    assert page.input_value(_control("model-loop:pool_size")) == "1000"
    _set_slider(page, "model-loop:rounds", 3)
    page.click("#feedback-run-button")
    summary = wait_for_text(page, "#feedback-summary-list", "averaged over 3 rounds", timeout=90_000)
    assert "retrained each round" in summary and "5,000 past decisions" in summary
    loop, full = (float(v) for v in re.search(r"averaged over 3 rounds: ([0-9.]+)% in the loop vs ([0-9.]+)% "
                                              "with every label seen", summary).groups())
    assert loop > full  # selective labels keep the gap that full information starts to close
    assert "Selection rate per group" in _chart_text(page, "feedback-left-graph")
    assert "Largest gap" in _chart_text(page, "feedback-left-extra-graph")
    wait_for_text(page, "#feedback-step-text", "Round 3 of 3")


def test_a_long_run_can_be_cancelled(page):
    page.goto("/feedback")
    page.fill(_control("policing:steps"), "200000")
    page.fill(_control("policing:runs"), "100")
    page.click("#feedback-run-button")
    page.wait_for_selector("#feedback-cancel-button:not([disabled])")
    assert page.locator("#feedback-run-button").is_disabled()
    page.click("#feedback-cancel-button")
    page.wait_for_selector("#feedback-run-button:not([disabled])")
    assert page.locator("#feedback-cancel-button").is_disabled()
    assert not page.locator("#feedback-results-div").is_visible()
