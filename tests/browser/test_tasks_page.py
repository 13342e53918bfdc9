"""The Amounts & classes page: the listing-price scenario in one click, regression charts and the cutoff view;
an uploaded multiclass dataset with confusion heatmaps; an ambiguous target that makes the page ask."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from auditapp.core.regression import compute_regression_audit
from datasets.listing_prices import generate
from tests.browser.helpers import choose, grid_text, upload, wait_for_text

pytestmark = pytest.mark.browser


def _svg_title(page, graph: str, pattern: str) -> None:
    page.wait_for_function(
        "([sel, pat]) => { const el = document.querySelector(sel); return el && new RegExp(pat).test(el.textContent); }",
        arg=[f"#{graph} .gtitle", pattern], timeout=30_000)


def test_listing_price_scenario_shows_the_underestimated_group(page):
    page.goto("/tasks")
    page.click("#task-scenario-button")
    wait_for_text(page, "#task-alert", "Loaded the listing-price scenario")
    page.click("#task-run-button")
    wait_for_text(page, "#task-context", r"Regression audit of 4,000 rows \(stated")
    _svg_title(page, "task-metric-graph", "Mean error")
    frame = generate()
    expected = compute_regression_audit(frame["price"], frame["predicted_price"], frame[["host_group"]],
                                        n_boot=100).grouping("host_group").groups
    page.locator("#task-table").scroll_into_view_if_needed()
    wait_for_text(page, "#task-table .ag-body", "B")
    assert f"{expected.loc['B', 'mean_error']:.4g}" in grid_text(page, "task-table")
    assert page.locator("#task-residual-graph .main-svg").count() > 0
    page.locator("#task-cutoff-graph").scroll_into_view_if_needed()
    _svg_title(page, "task-cutoff-graph", "Share predicted above")


def test_multiclass_upload_draws_confusion_heatmaps_and_ambiguous_targets_ask(page, tmp_path):
    rng = np.random.default_rng(5)
    n = 600
    band = rng.choice(["low", "mid", "high"], n)
    frame = pd.DataFrame({"sex": rng.choice(["f", "m"], n), "band": band,
                          "predicted_band": np.where(rng.random(n) < 0.7, band, "low"),
                          "score_1_to_5": rng.integers(1, 6, n), "guess": rng.integers(1, 6, n)})
    path = tmp_path / "bands.csv"
    frame.to_csv(path, index=False)
    page.goto("/data")
    upload(page, "data-dataset-drop", path)
    wait_for_text(page, "#data-upload-alert", "Loaded bands.csv: 600 rows")
    page.goto("/tasks")
    choose(page, "task-target-dropdown", "score_1_to_5")
    choose(page, "task-prediction-dropdown", "guess")
    choose(page, "task-sensitive-dropdown", "sex")
    page.click("#task-run-button")
    wait_for_text(page, "#task-alert", "could be classes or amounts")
    choose(page, "task-target-dropdown", "band")
    choose(page, "task-prediction-dropdown", "predicted_band")
    page.click("#task-run-button")
    wait_for_text(page, "#task-context", "Multiclass audit of 600 rows")
    _svg_title(page, "task-class-graph", "Share assigned each class")
    _svg_title(page, "task-confusion-graph", "Confusion matrix of f")


def test_mitigations_of_the_scenario_are_compared(page):
    page.goto("/tasks")
    page.click("#task-scenario-button")
    wait_for_text(page, "#task-alert", "Loaded the listing-price scenario")
    page.click("#task-run-button")
    wait_for_text(page, "#task-context", "Regression audit of 4,000 rows")
    page.locator("#task-mitigation-button").scroll_into_view_if_needed()
    page.click("#task-mitigation-button")
    wait_for_text(page, "#task-mitigation-table .ag-body", "CorrelationRemover", timeout=60_000)
    assert "Bounded group loss" in grid_text(page, "task-mitigation-table")


def test_regression_report_draws_its_charts_without_console_errors(page, tmp_path):
    from auditapp.cli.main import main

    frame = generate()
    data = tmp_path / "prices.csv"
    frame.to_csv(data, index=False)
    report = tmp_path / "report.html"
    assert main(["audit", "--data", str(data), "--target", "price", "--prediction", "predicted_price",
                 "--sensitive", "host_group,neighbourhood", "--policy", "regression-fair", "--replicates", "200",
                 "--report", str(report)]) in (1, 3)
    page.goto(report.as_uri())
    wait_for_text(page, "#verdict", "regression-fair")
    page.evaluate("() => window.auditappDrawAll()")
    page.wait_for_function("() => document.querySelectorAll('.figure .main-svg').length >= 12")
    assert page.locator("#t0-residuals .main-svg").count() > 0 and page.locator("#t2-mae .main-svg").count() > 0


def test_a_users_own_price_model_is_explained_and_its_mitigations_compared(page, tmp_path):
    """Upload a dataset and a regressor file, audit it with the model predicting, explain it, compare fixes."""
    import skops.io as sio
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(6)
    n = 500
    frame = pd.DataFrame({"group": rng.choice(["a", "b"], n), "hood": rng.choice(["x", "y", "z"], n),
                          "size": rng.normal(50, 10, n).round(1)})
    frame.loc[frame["group"] == "a", "hood"] = rng.choice(["x", "y"], int((frame["group"] == "a").sum()))
    frame["price"] = 100 + 2 * frame["size"] + np.where(frame["hood"] == "x", -20, 0) + rng.normal(0, 5, n)
    model = make_pipeline(make_column_transformer((OneHotEncoder(), ["hood"]), remainder="passthrough"),
                          LinearRegression()).fit(frame[["hood", "size"]], frame["price"])
    frame.to_csv(tmp_path / "listings.csv", index=False)
    (tmp_path / "price.skops").write_bytes(sio.dumps(model))
    page.goto("/data")
    upload(page, "data-dataset-drop", tmp_path / "listings.csv")
    wait_for_text(page, "#data-upload-alert", "Loaded listings.csv")
    upload(page, "data-model-drop", tmp_path / "price.skops")
    wait_for_text(page, "#data-upload-alert", "Loaded the model price.skops")
    page.goto("/tasks")
    choose(page, "task-target-dropdown", "price")
    choose(page, "task-sensitive-dropdown", "group")
    page.click("#task-run-button")
    wait_for_text(page, "#task-context", "Regression audit of 500 rows")
    page.locator("#task-explain-button").scroll_into_view_if_needed()
    page.click("#task-explain-button")
    wait_for_text(page, "#task-explain-text", "Explained 500 of 500 rows with the linear explainer", timeout=60_000)
    page.wait_for_selector("#task-gap-graph .main-svg .cartesianlayer g.trace", timeout=30_000)
    assert page.locator("#task-explain-class-field").is_hidden()  # an amount has no class to choose
    page.locator("#task-mitigation-button").scroll_into_view_if_needed()
    page.click("#task-mitigation-button")
    wait_for_text(page, "#task-mitigation-table .ag-body", "Bounded group loss", timeout=60_000)
    assert "test rows" in page.inner_text("#task-mitigation-text")
    # The chosen candidate's model file downloads, and loads back as a model that predicts prices.
    choose(page, "task-mitigation-candidate-dropdown", "Bounded group loss, grid search (one model)")
    with page.expect_download() as download:
        page.click("#task-mitigation-model-button")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "grid_search.skops"
    from auditapp.inputs.models import load_model

    assert load_model(saved.read_bytes(), filename=saved.name, sandbox=False).predict(frame.head(3)).shape == (3,)
    import a11y  # the page with its results and download controls shown passes axe (WCAG 2.1 A/AA)

    assert a11y.blocking(a11y.axe_violations(page)) == []
