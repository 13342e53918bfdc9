"""Amounts & classes page callbacks, called directly on the listing-price scenario."""

import base64
import io

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from auditapp.inputs.models import load_model
from auditapp.service import workspace
from callbacks import tasks
from datasets.listing_prices import generate


def test_scenario_then_run_gives_a_regression_audit_and_charts(store, token):
    loaded = tasks.on_load_listing_scenario(1, None, token)
    state, kind, target, prediction, sensitive = (loaded[k] for k in ("state", "kind", "target", "prediction",
                                                                      "sensitive"))
    assert (kind, target, prediction, sensitive) == ("regression", "price", "predicted_price", ["host_group"])
    out = tasks.on_run_task_audit(1, kind, target, prediction, sensitive, state, token)
    choices, context, key, reg_style, mc_style, low, high = (out[k] for k in (
        "choices", "context", "grouping", "regression", "multiclass", "cutoff_min", "cutoff_max"))
    assert context.startswith("Regression audit of 4,000 rows") and reg_style is None and mc_style == {"display": "none"}
    frame = generate()
    assert (low, high) == (frame["predicted_price"].min(), frame["predicted_price"].max())
    metric, residuals, predictions = tasks.show_regression_charts(key, "mean_error", choices, state, token)
    assert metric.layout.title.text.startswith("Mean error")
    cutoff = tasks.show_cutoff_rates(150.0, key, choices, state, token)
    above = (frame.loc[frame["host_group"] == "B", "predicted_price"] > 150.0).mean()
    bar = cutoff.data[0]
    assert bar.y[list(bar.x).index("B")] == pytest.approx(above, abs=1e-12)
    rows, columns = tasks.show_task_table(key, choices, state, token)
    assert {r["group"] for r in rows} == {"A (reference)", "B"}


def test_an_ambiguous_target_makes_the_page_ask(store, token):
    state = tasks.on_load_listing_scenario(1, None, token)["state"]
    out = tasks.on_run_task_audit(1, "auto", "bedrooms", "predicted_price", ["host_group"], state, token)
    assert out["choices"] is None and "could be classes or amounts" in str(out["alert"])


def test_mitigation_comparison_of_the_scenario(store, token):
    loaded = tasks.on_load_listing_scenario(1, None, token)
    out = tasks.on_run_task_audit(1, loaded["kind"], loaded["target"], loaded["prediction"], loaded["sensitive"],
                                  loaded["state"], token)
    rows, columns, text, downloads, options, _ = tasks.on_compare_mitigations(1, out["choices"], loaded["state"], token)
    assert downloads == {"display": "none"} and options == []  # the scenario's comparison: nothing to download
    assert "last year's listings" in text
    by_name = {r["candidate"]: r for r in rows}
    assert set(by_name) == {"Unmitigated", "Reweighing (by outcome quartile)", "CorrelationRemover",
                            "Bounded group loss", "Bounded group loss, grid search (one model)"}
    smd = {name: float(r["max_abs_smd"].split()[0]) for name, r in by_name.items()}
    assert smd["CorrelationRemover"] < smd["Unmitigated"]  # the proxy's route to the discount is cut
    assert [c["field"] for c in columns] == ["candidate", "mae", "rmse", "mae_gap", "max_abs_smd"]


def test_the_page_names_the_proxy_of_the_scenario(store, token):
    """The neighbourhood stands in for the host's group: flagged in words and in the table; before a run the
    page says what to do."""
    assert tasks.show_task_proxies(None, None, token) == ("Run the audit to score the features as proxies.", [])
    loaded = tasks.on_load_listing_scenario(1, None, token)
    out = tasks.on_run_task_audit(1, loaded["kind"], loaded["target"], loaded["prediction"], loaded["sensitive"],
                                  loaded["state"], token)
    text, rows = tasks.show_task_proxies(out["choices"], loaded["state"], token)
    assert "neighbourhood for host_group" in text and "the dataset's other columns" in text
    by_feature = {r["feature"]: r for r in rows}
    assert by_feature["neighbourhood"]["flagged"] and by_feature["neighbourhood"]["auc"] >= 0.7
    assert "price" not in by_feature and "predicted_price" not in by_feature


def _own_model(store, token, *, classes: bool):
    """A 600-row upload and its model (a regressor of price, or a classifier of price bands), as a user gives them."""
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"group": rng.choice(["a", "b"], 600), "hood": rng.choice(["x", "y", "z"], 600),
                          "size": rng.normal(50, 10, 600).round(1)})
    frame.loc[frame["group"] == "a", "hood"] = rng.choice(["x", "y"], int((frame["group"] == "a").sum()))
    frame["price"] = 100 + 2 * frame["size"] + np.where(frame["hood"] == "x", -20, 0) + rng.normal(0, 5, 600)
    frame["band"] = pd.cut(frame["price"], [-np.inf, 180, 210, np.inf], labels=["low", "mid", "high"]).astype(str)
    final = LogisticRegression(max_iter=2000) if classes else LinearRegression()
    model = make_pipeline(make_column_transformer((OneHotEncoder(), ["hood"]), remainder="passthrough"), final)
    model.fit(frame[["hood", "size"]], frame["band" if classes else "price"])
    data = store.put(token, frame.to_csv(index=False).encode(), kind="dataset", name="listings.csv")
    saved = store.put(token, sio.dumps(model), kind="model", name="model.skops")
    state = {"dataset": data.id, "model": saved.id}
    target = "band" if classes else "price"
    out = tasks.on_run_task_audit(1, "auto", target, None, ["group"], state, token)
    assert out["choices"] is not None, out["alert"]
    return state, out["choices"]


def test_the_page_explains_and_mitigates_the_users_own_regressor(store, token):
    state, choices = _own_model(store, token, classes=False)
    assert tasks.show_explain_classes(choices, state, token)[2] == {"display": "none"}  # no class to choose
    out = tasks.on_explain_task_model(1, None, choices, state, token)
    assert out["text"].startswith("Explained 600 of 600 rows with the linear explainer, in the predicted value")
    assert {t.name for t in out["importance"].data} and out["gap"] == 0
    assert [o["label"] for o in out["gaps"]][0].startswith("a against b")
    gap = tasks.show_task_gap(0, None, choices, state, token)
    assert "hood" in {str(x) for x in gap.data[0].x}  # the neighbourhood is one of the gap's parts
    rows, columns, text, downloads, options, chosen = tasks.on_compare_mitigations(1, choices, state, token)
    assert {r["candidate"] for r in rows} == {"Unmitigated", "Reweighing (by outcome quartile)", "CorrelationRemover",
                                              "Bounded group loss", "Bounded group loss, grid search (one model)"}
    assert "test rows" in text
    assert all("[" in r["mae"] for r in rows)  # every error comes with its interval
    # Each candidate's model file and test predictions download; the file predicts the CSV's predictions, and the
    # CSV gives the table's MAE: what the page shows is what it hands out.
    assert downloads is None and chosen == "unmitigated" and len(options) == 5
    for name in ("correlation_remover", "bounded_group_loss"):
        model_file, nothing, alert = tasks.download_task_file(1, None, name, choices, state, token, what="model")
        assert alert is None and model_file["filename"] == f"{name}.skops" and nothing is tasks.no_update
        _, csv, _ = tasks.download_task_file(None, 1, name, choices, state, token, what="predictions")
        predictions = pd.read_csv(io.BytesIO(base64.b64decode(csv["content"])))
        frame = workspace.load_dataset(store, token, state["dataset"]).frame
        model = load_model(base64.b64decode(model_file["content"]), filename=model_file["filename"], sandbox=False)
        np.testing.assert_allclose(model.predict(frame.loc[predictions["row"]]), predictions["prediction"], atol=1e-9)
        mae = float(next(r for r in rows if r["candidate"] == tasks._MITIGATION_NAMES[name])["mae"].split()[0])
        assert np.mean(np.abs(predictions["prediction"] - predictions["price"])) == pytest.approx(mae, rel=1e-3)
    assert tasks.download_task_file(1, None, None, choices, state, token, what="model")[2] is not None  # said


def test_a_multiclass_model_is_explained_for_the_class_the_user_chooses(store, token):
    state, choices = _own_model(store, token, classes=True)
    options, value, style = tasks.show_explain_classes(choices, state, token)
    assert [o["value"] for o in options] == ["high", "low", "mid"] and value is None and style is None
    asked = tasks.on_explain_task_model(1, None, choices, state, token)
    assert "Choose the class to explain" in asked["text"] and asked["gaps"] == []
    out = tasks.on_explain_task_model(1, "high", choices, state, token)
    assert "in the probability of class high" in out["text"]
    rows, columns, *_ = tasks.on_compare_mitigations(1, choices, state, token)
    assert [c["field"] for c in columns] == ["candidate", "accuracy", "max_class_rate_gap", "min_impact_ratio"]
    assert {r["candidate"] for r in rows} == {"Unmitigated", "Reweighing (by outcome quartile)", "CorrelationRemover"}


def test_explanations_and_mitigations_need_the_model_not_a_prediction_column(store, token):
    loaded = tasks.on_load_listing_scenario(1, None, token)
    out = tasks.on_run_task_audit(1, loaded["kind"], loaded["target"], loaded["prediction"], loaded["sensitive"],
                                  loaded["state"], token)
    explained = tasks.on_explain_task_model(1, None, out["choices"], loaded["state"], token)
    assert "Explanations need the model itself" in explained["text"]
