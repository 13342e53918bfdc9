"""What a newcomer does in the app: read the demo audit, upload data and a model, make mistakes, explore."""

from __future__ import annotations

import json
import pickle

import pandas as pd
import pytest

from auditapp.core.audit import run_audit
from auditapp.core.spec import AuditSpec
from auditapp.inputs.models import load_model
from tests.browser.helpers import (
    grid_text,
    percent,
    run_enabled,
    upload,
    use_suggestion,
    wait_for_text,
    wait_until_ready,
)

pytestmark = pytest.mark.browser


class _CreatesFile:
    """A pickle payload that would create a file when unpickled."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


@pytest.fixture(scope="module")
def small_upload(tmp_path_factory):
    """A small hiring-like CSV and its skops model, written as a user would have them."""
    from auditapp.inputs.models import save_skops
    from datasets.hiring import generate_hiring, train_hiring_model

    folder = tmp_path_factory.mktemp("upload")
    frame = generate_hiring(800, seed=3)
    frame.to_csv(folder / "applicants.csv", index=False)
    save_skops(train_hiring_model(frame, seed=3), folder / "screening.skops")
    return folder


def test_demo_audit_shows_the_engines_numbers(page, app_data_dir):
    page.goto("/")
    wait_for_text(page, "#metrics-table-grid .ag-body", "female")
    folder = app_data_dir / "scenarios" / "hiring" / "v2"
    frame = pd.read_csv(folder / "hiring.csv")
    audit = run_audit(frame, AuditSpec(target="hired", favorable=1, sensitive=("sex", "ethnicity"),
                                       reference={"sex": "male"}), load_model(folder / "hiring_model.skops"))
    table = audit.result.grouping("sex").groups
    text = grid_text(page, "metrics-table-grid")
    for group in ("female", "male"):
        assert percent(table.loc[group, "selection_rate"]) in text
    summary = page.inner_text("#metrics-summary-list")
    assert percent(table.loc["female", "selection_rate"]) in summary
    assert page.locator("#metrics-bar-graph .main-svg").count() > 0
    assert page.locator("#metrics-heatmap-graph .main-svg").count() > 0


def test_upload_csv_and_skops_model_produces_an_audit(page, small_upload):
    page.goto("/data")
    upload(page, "data-dataset-drop", small_upload / "applicants.csv")
    wait_for_text(page, "#data-upload-alert", "Loaded applicants.csv: 800 rows")
    upload(page, "data-model-drop", small_upload / "screening.skops")
    wait_for_text(page, "#data-upload-alert", "Loaded the model screening.skops")
    wait_for_text(page, "#data-model-status", "screening.skops")
    assert not run_enabled(page)  # nothing was guessed: the user chooses
    for hint in ("data-target-hint", "data-favorable-hint", "data-source-hint", "data-sensitive-hint"):
        use_suggestion(page, hint)
    wait_for_text(page, "#data-ready-div", "choose bins for 'age'")
    page.click("#data-bin-offers button >> text=Quartiles")
    wait_until_ready(page)
    assert page.input_value("#data-bins-input") == "age=q4"
    page.click("#data-run-button")
    wait_for_text(page, "#data-run-alert", "Audit ready. 800 rows")
    page.click("text=See the group metrics")
    wait_for_text(page, "#metrics-context-text", "800 rows")
    wait_for_text(page, "#metrics-table-grid .ag-body", "female")


def test_broken_file_and_pickle_get_messages_and_the_app_keeps_working(page, tmp_path, small_upload):
    (tmp_path / "broken.csv").write_bytes(b"\x00\x01\x02binary\xff\xfe junk" * 50)
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(_CreatesFile(tmp_path / "pwned")))
    page.goto("/data")
    wait_for_text(page, "#data-dataset-status", "hiring.csv")
    upload(page, "data-dataset-drop", tmp_path / "broken.csv")
    message = wait_for_text(page, "#data-upload-alert", "broken.csv")
    assert "not" in message.lower()
    bar = page.locator("#data-dataset-progress .progress-bar")
    assert "bg-danger" in bar.get_attribute("class") and bar.inner_text() == "failed"  # red, not blue
    upload(page, "data-model-drop", tmp_path / "model.pkl")
    message = wait_for_text(page, "#data-upload-alert", "[Pp]ickle")
    assert "AUDITAPP_TRUST_PICKLE" in message
    assert not (tmp_path / "pwned").exists()
    upload(page, "data-dataset-drop", small_upload / "applicants.csv")
    wait_for_text(page, "#data-upload-alert", "Loaded applicants.csv")


def test_threshold_slider_changes_the_numbers(page):
    page.goto("/thresholds")
    before = wait_for_text(page, "#threshold-table-grid .ag-body", "female")
    handle = page.locator("#threshold-value-slider [role=slider]").first
    handle.focus()
    for _ in range(15):
        page.keyboard.press("ArrowRight")
    wait_for_text(page, "#threshold-value-text", "0\\.65")
    page.wait_for_function(
        "(old) => document.querySelector('#threshold-table-grid .ag-body').innerText !== old",
        arg=before)
    assert grid_text(page, "threshold-table-grid") != before


def test_two_browsers_do_not_see_each_others_uploads(browser, app_url, small_upload):
    first = browser.new_context(base_url=app_url).new_page()
    first.goto("/data")
    upload(first, "data-dataset-drop", small_upload / "applicants.csv")
    wait_for_text(first, "#data-upload-alert", "Loaded applicants.csv")
    state = first.evaluate("() => localStorage.getItem('app-state-store')")
    assert json.loads(state)["dataset"] not in (None, "builtin:hiring")
    second = browser.new_context(base_url=app_url).new_page()
    second.goto("/data")
    wait_for_text(second, "#data-dataset-status", "hiring.csv")
    second.evaluate("(s) => localStorage.setItem('app-state-store', s)", state)  # its state, in another browser
    second.goto("/data")
    wait_for_text(second, "#data-dataset-status", "not available in this session")
    first.context.close()
    second.context.close()
