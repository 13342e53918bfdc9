"""Data & model: 'None' and 'NA' are groups of their own until the user lists them as missing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.browser.helpers import upload, use_suggestion, wait_for_text, wait_until_ready

pytestmark = pytest.mark.browser


def test_none_and_na_are_groups_until_read_as_missing(page, tmp_path):
    rng = np.random.default_rng(0)
    nationality = rng.choice(["None", "NA", "", "UK"], 400, p=[0.2, 0.3, 0.1, 0.4])
    label = rng.integers(0, 2, 400)
    frame = pd.DataFrame({"nationality": nationality, "label": label,
                          "score": np.clip(0.3 + 0.4 * label + rng.normal(0, 0.2, 400), 0, 1).round(3)})
    frame.to_csv(tmp_path / "people.csv", index=False)
    page.goto("/data")
    upload(page, "data-dataset-drop", tmp_path / "people.csv")
    notice = wait_for_text(page, "#data-upload-alert", "Kept as values")
    assert "'nationality' " in notice and "'None' ×" in notice and "'NA' ×" in notice
    wait_for_text(page, "#data-sensitive-hint", "nationality")  # suggested from the column's name
    for hint in ("data-target-hint", "data-favorable-hint", "data-source-hint", "data-column-hint",
                 "data-sensitive-hint"):
        use_suggestion(page, hint)
    wait_for_text(page, "#data-reference-container", "Reference group for nationality")
    wait_until_ready(page)
    page.click("#data-run-button")
    wait_for_text(page, "#data-run-alert", "Audit ready")
    page.goto("/")
    table = wait_for_text(page, "#metrics-table-grid .ag-body", "UK")
    assert "None" in table and "NA" in table and "(missing)" in table

    page.goto("/data")
    wait_for_text(page, "#data-dataset-status", "people.csv")
    page.fill("#data-missing-input", "None, NA")
    page.click("#data-missing-button")
    text = wait_for_text(page, "#data-missing-alert", "Words read as missing")
    assert "Words read as missing: None, NA." in text and "(listed as missing)" in text
    page.click("#data-run-button")
    wait_for_text(page, "#data-run-alert", "Audit ready")
    page.goto("/")
    table = wait_for_text(page, "#metrics-table-grid .ag-body", "UK")
    assert "(missing)" in table and "None" not in table.split() and "NA" not in table.split()
