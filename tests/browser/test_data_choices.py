"""Data & model, as a newcomer meets it with their own files: nothing guessed, nothing silently dropped."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from auditapp.core.audit import run_audit
from auditapp.core.spec import AuditSpec, Binning
from tests.browser.helpers import (
    choose,
    percent,
    run_enabled,
    upload,
    use_suggestion,
    wait_for_text,
    wait_until_ready,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def credit(tmp_path_factory):
    """A predictions-only credit file: the columns of the upload that once got a false PASS."""
    rng = np.random.default_rng(5)
    n = 1000
    sex = rng.choice(["female", "male"], n, p=[0.35, 0.65])
    age = rng.integers(19, 76, n)
    score = np.clip(rng.beta(4, 2, n) - 0.08 * (sex == "female") + 0.002 * (age - 40), 0, 1).round(4)
    frame = pd.DataFrame({"sex": sex, "age": age, "credit_risk": np.where(rng.random(n) < score, "good", "bad"),
                          "predicted": np.where(score >= 0.6, "good", "bad"), "score_good": score})
    path = tmp_path_factory.mktemp("credit") / "credit_predictions.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_a_predictions_only_upload_reaches_no_verdict_until_the_user_chooses(page, credit):
    path, frame = credit
    page.goto("/data")
    wait_for_text(page, "#data-dataset-status", "hiring.csv")
    upload(page, "data-dataset-drop", path)
    alert = wait_for_text(page, "#data-upload-alert", "Loaded credit_predictions.csv")
    assert "Removed the model hiring_model.skops" in alert  # said plainly, with the columns it lacks
    wait_for_text(page, "#data-ready-div", "To run the audit, choose the outcome column")
    assert not run_enabled(page)
    wait_for_text(page, "#data-target-hint", "Suggestion:")  # its own callback: it may land a moment later
    assert page.input_value("#data-bins-input") == ""
    for where in ("/", "/policy"):  # no page shows an audit of guessed settings, nor a verdict
        page.goto(where)
        wait_for_text(page, "#metrics-alert" if where == "/" else "#policy-alert",
                      "No audit yet: choose what to audit on the Data & model page and press Run audit")
    assert "PASS" not in page.inner_text("#policy-overall-verdict")

    page.goto("/data")
    wait_for_text(page, "#data-dataset-status", "credit_predictions.csv")
    choose(page, "data-target-dropdown", "predicted")  # the mistake the old defaults made
    page.click("#data-source-radio >> text=A prediction column")
    choose(page, "data-prediction-dropdown", "predicted")
    refused = wait_for_text(page, "#data-ready-div", "cannot be both the outcome and the prediction column")
    assert "'predicted' cannot be both" in refused and not run_enabled(page)

    choose(page, "data-target-dropdown", "credit_risk")
    wait_for_text(page, "#data-favorable-hint", "good")
    use_suggestion(page, "data-favorable-hint")
    use_suggestion(page, "data-sensitive-hint")  # sex and age
    offer = wait_for_text(page, "#data-bin-offers", "'age' is a number with")
    assert "Quartiles" in offer and "Decades: 10–20, …, 70–80" in offer and not run_enabled(page)
    page.click("#data-bin-offers button >> text=Decades")
    wait_until_ready(page)
    assert page.input_value("#data-bins-input") == "age=10,20,30,40,50,60,70,80"
    page.click("#data-run-button")
    wait_for_text(page, "#data-run-alert", "Audit ready. 1,000 rows")

    spec = AuditSpec(target="credit_risk", favorable="good", prediction="predicted", sensitive=("sex", "age"),
                     bins={"age": Binning(edges=(10, 20, 30, 40, 50, 60, 70, 80))})
    groups = run_audit(frame, spec).result.grouping("sex").groups
    assert groups["true_positive_rate"].max() < 0.99  # the outcome is no longer the prediction
    page.goto("/")
    rates = [re.escape(percent(groups.loc[group, "true_positive_rate"])) for group in ("female", "male")]
    # Waits until the grid shows both groups' rates (a grid still being drawn may show the groups first).
    wait_for_text(page, "#metrics-table-grid .ag-body", "^(?=[^]*female)" + "".join(f"(?=[^]*{r})" for r in rates))
    assert "outcome 'credit_risk'" in page.inner_text("#metrics-context-text")


def test_the_fields_follow_the_prediction_source(page, credit):
    path, _frame = credit
    page.goto("/data")
    upload(page, "data-dataset-drop", path)
    wait_for_text(page, "#data-upload-alert", "Loaded credit_predictions.csv")
    for field in ("prediction", "score", "threshold", "model-favorable"):  # no source chosen: none of its fields
        page.wait_for_selector(f"#data-{field}-field", state="hidden")
    page.click("#data-source-radio >> text=A score column + threshold")
    page.wait_for_selector("#data-score-field", state="visible")
    assert page.is_visible("#data-threshold-field") and not page.is_visible("#data-prediction-field")
    use_suggestion(page, "data-column-hint")
    assert page.input_value("#data-threshold-input") == "0.5"
    page.click("#data-source-radio >> text=A prediction column")
    page.wait_for_selector("#data-score-field", state="hidden")
    assert not page.is_visible("#data-threshold-field") and page.is_visible("#data-prediction-field")


def test_a_new_dataset_keeps_the_model_that_fits_it_and_says_so(page, tmp_path):
    from auditapp.inputs.models import save_skops
    from datasets.hiring import generate_hiring, train_hiring_model

    frame = generate_hiring(600, seed=8)
    frame.to_csv(tmp_path / "applicants.csv", index=False)
    frame.sample(frac=1.0, random_state=1).to_csv(tmp_path / "applicants_v2.csv", index=False)
    save_skops(train_hiring_model(frame, seed=8), tmp_path / "screening.skops")
    page.goto("/data")
    upload(page, "data-dataset-drop", tmp_path / "applicants.csv")
    wait_for_text(page, "#data-upload-alert", "Loaded applicants.csv")
    upload(page, "data-model-drop", tmp_path / "screening.skops")
    wait_for_text(page, "#data-upload-alert", "Loaded the model screening.skops")
    upload(page, "data-dataset-drop", tmp_path / "applicants_v2.csv")
    alert = wait_for_text(page, "#data-upload-alert", "Kept the model screening.skops")
    assert "applicants_v2.csv has all 7 columns it needs" in alert
    wait_for_text(page, "#data-model-status", "screening.skops")
    assert "Suggestion:" in page.inner_text("#data-source-hint") and "The model" in page.inner_text("#data-source-hint")
