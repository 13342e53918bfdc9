"""Amounts & classes page callbacks, called directly on the listing-price scenario."""

import pytest

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
    rows, columns = tasks.on_compare_mitigations(1)
    by_name = {r["candidate"]: r for r in rows}
    assert set(by_name) == {"Unmitigated", "Reweighing (by outcome quartile)", "CorrelationRemover",
                            "Bounded group loss"}
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
