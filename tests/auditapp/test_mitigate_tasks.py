"""``auditapp mitigate --task regression|multiclass``: every candidate is what scikit-learn and fairlearn give
when run by hand on the same split, through the sandbox as in this process; binary-only candidates are
refused with their reason."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import clone
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, mean_absolute_error
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from auditapp.cli.main import main
from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec
from auditapp.inputs.models import from_estimator, load_model
from auditapp.mitigation.split import stratified_split
from auditapp.mitigation.task_compare import compare_task_mitigations
from tests.builders import listings

FEATURES = ["hood", "size"]


def _listings(n=800, seed=1) -> pd.DataFrame:
    return listings(n, seed, share_a=0.6)


def _pipeline(final):
    return make_pipeline(make_column_transformer((OneHotEncoder(), ["hood"]), remainder="passthrough"), final)


def _split(frame, outcome_band):
    strata = frame["group"].astype(str) + "|" + pd.Series(outcome_band, index=frame.index).astype(str)
    return stratified_split(strata.to_numpy(), test_size=0.3, seed=0)


def test_regression_candidates_are_what_sklearn_and_fairlearn_give_by_hand():
    from fairlearn.reductions import BoundedGroupLoss, ExponentiatedGradient, GridSearch, SquareLoss

    frame = _listings()
    pipeline = _pipeline(LinearRegression()).fit(frame[FEATURES], frame["price"])
    spec = AuditSpec(target="price", sensitive=("group",))
    comparison = compare_task_mitigations(frame, spec, from_estimator(pipeline), task="regression", n_boot=200)
    train, test = _split(frame, pd.qcut(frame["price"], 4, labels=False))
    X, y, a = frame[FEATURES], frame["price"].to_numpy(), frame["group"].to_numpy()
    base = clone(pipeline).fit(X.iloc[train], y[train])
    np.testing.assert_allclose(comparison.predictions["unmitigated"], base.predict(X.iloc[test]), atol=1e-12)
    assert comparison.table.loc["unmitigated", "mae"] == pytest.approx(
        mean_absolute_error(y[test], base.predict(X.iloc[test])), abs=1e-12)
    # Reweighing: Kamiran–Calders weights with the outcome cut into quartiles, to the final step.
    band = pd.qcut(pd.Series(y[train]), 4, labels=False).to_numpy()
    cells = pd.DataFrame({"a": a[train], "y": band})
    weights = (cells["a"].map(cells["a"].value_counts(normalize=True)) * cells["y"].map(cells["y"].value_counts(
        normalize=True)) / (cells.groupby(["a", "y"])["a"].transform("size") / len(cells))).to_numpy()
    weighted = clone(pipeline).fit(X.iloc[train], y[train], linearregression__sample_weight=weights)
    np.testing.assert_allclose(comparison.predictions["reweighing"], weighted.predict(X.iloc[test]), atol=1e-9)
    # Bounded group loss: fairlearn's ExponentiatedGradient, the unmitigated training loss as the bound.
    bound = float(np.mean((base.predict(X.iloc[train]) - y[train]) ** 2))
    assert comparison.bound == pytest.approx(bound, abs=1e-12)
    by_hand = ExponentiatedGradient(clone(pipeline), BoundedGroupLoss(
        SquareLoss(y[train].min(), y[train].max()), upper_bound=bound),
        sample_weight_name="linearregression__sample_weight")
    with warnings.catch_warnings():  # fairlearn 0.15's own pandas deprecation warnings
        warnings.simplefilter("ignore")
        by_hand.fit(X.iloc[train], y[train], sensitive_features=a[train])
    # Each test row is predicted by one of fairlearn's regressors, drawn with its weight by a seeded hash of the
    # row's inputs (auditapp.mitigation.draws), not by row order as fairlearn's predict(random_state=) draws.
    from auditapp.mitigation.draws import uniform_draws

    weights = by_hand.weights_.to_numpy()
    used = np.flatnonzero(weights > 0)
    each = np.column_stack([by_hand.predictors_.iloc[t].predict(X.iloc[test]) for t in used])
    u = uniform_draws(X.iloc[test].reset_index(drop=True), FEATURES, seed=0)
    chosen = np.searchsorted(np.cumsum(weights[used]) / weights[used].sum(), u, side="right")
    np.testing.assert_allclose(comparison.predictions["bounded_group_loss"], each[np.arange(len(test)), chosen],
                               atol=1e-9)
    # GridSearch over the same bounded group loss: the single model fairlearn picks.
    search = GridSearch(clone(pipeline), BoundedGroupLoss(SquareLoss(y[train].min(), y[train].max()), upper_bound=bound),
                        grid_size=20, sample_weight_name="linearregression__sample_weight")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X.iloc[train], y[train], sensitive_features=a[train])
    np.testing.assert_allclose(comparison.predictions["grid_search"], search.predict(X.iloc[test]), atol=1e-9)
    row = comparison.table.loc["unmitigated"]
    assert row["mae_low"] < row["mae"] < row["mae_high"] and row["max_abs_smd_low"] <= row["max_abs_smd"]


def test_a_candidate_that_cannot_train_is_reported_and_the_others_run():
    frame = _listings(400)
    knn = _pipeline(KNeighborsRegressor()).fit(frame[FEATURES], frame["price"])
    comparison = compare_task_mitigations(frame, AuditSpec(target="price", sensitive=("group",)),
                                          from_estimator(knn), task="regression", n_boot=200)
    assert "does not take sample weights" in comparison.errors["reweighing"]
    assert "does not take sample weights" in comparison.errors["bounded_group_loss"]
    assert "does not take sample weights" in comparison.errors["grid_search"]
    assert set(comparison.table.index) == {"unmitigated", "correlation_remover"}


def test_multiclass_reweighs_by_group_and_class_and_refuses_binary_only_candidates():
    frame = _listings()
    pipeline = _pipeline(LogisticRegression(max_iter=2000)).fit(frame[FEATURES], frame["band"])
    spec = AuditSpec(target="band", sensitive=("group",))
    model = from_estimator(pipeline)
    for refused in ("exponentiated_gradient", "threshold_optimizer"):
        with pytest.raises(AuditInputError, match="not supported"):
            compare_task_mitigations(frame, spec, model, task="multiclass", candidates=[refused])
    comparison = compare_task_mitigations(frame, spec, model, task="multiclass")
    train, test = _split(frame, frame["band"])
    X, y, a = frame[FEATURES], frame["band"].to_numpy(), frame["group"].to_numpy()
    cells = pd.DataFrame({"a": a[train], "y": y[train]})
    weights = (cells["a"].map(cells["a"].value_counts(normalize=True)) * cells["y"].map(cells["y"].value_counts(
        normalize=True)) / (cells.groupby(["a", "y"])["a"].transform("size") / len(cells))).to_numpy()
    weighted = clone(pipeline).fit(X.iloc[train], y[train], logisticregression__sample_weight=weights)
    assert (comparison.predictions["reweighing"] == weighted.predict(X.iloc[test])).all()
    for name, predicted in comparison.predictions.items():
        assert comparison.table.loc[name, "accuracy"] == pytest.approx(accuracy_score(y[test], predicted), abs=1e-12)
        rates = pd.crosstab(a[test], predicted, normalize="index")
        assert comparison.table.loc[name, "max_class_rate_gap"] == pytest.approx(
            float((rates.max() - rates.min()).max()), abs=1e-12)


def test_the_cli_compares_a_regressor_file_in_its_sandbox_as_the_library_does_in_process(tmp_path):
    frame = _listings()
    frame.to_csv(tmp_path / "listings.csv", index=False)
    pipeline = _pipeline(LinearRegression()).fit(frame[FEATURES], frame["price"])
    (tmp_path / "price.skops").write_bytes(sio.dumps(pipeline))
    out = tmp_path / "m.json"
    assert main(["mitigate", "--data", str(tmp_path / "listings.csv"), "--model", str(tmp_path / "price.skops"),
                 "--target", "price", "--sensitive", "group", "--task", "regression", "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["task"] == "regression" and record["schema"] == "auditapp.mitigate-task/1"
    in_process = compare_task_mitigations(frame, AuditSpec(target="price", sensitive=("group",)),
                                          from_estimator(pipeline), task="regression")
    for candidate in record["candidates"]:
        for metric in ("mae", "rmse", "mae_gap", "max_abs_smd"):
            assert candidate["metrics"][metric]["value"] == pytest.approx(
                in_process.table.loc[candidate["name"], metric], abs=1e-9)
            assert len(candidate["metrics"][metric]["ci"]) == 2
    assert main(["mitigate", "--data", str(tmp_path / "listings.csv"), "--model", str(tmp_path / "price.skops"),
                 "--target", "price", "--sensitive", "group", "--task", "regression", "--json", str(out),
                 "--constraint", "equalized_odds"]) == 2


def test_a_test_table_of_the_users_own_trains_on_every_dataset_row_and_compares_on_its_rows(tmp_path, capsys):
    train_frame, test_frame = _listings(600, seed=1), _listings(300, seed=2)
    pipeline = _pipeline(LinearRegression()).fit(train_frame[FEATURES], train_frame["price"])
    spec = AuditSpec(target="price", sensitive=("group",))
    comparison = compare_task_mitigations(train_frame, spec, from_estimator(pipeline), task="regression",
                                          candidates=["unmitigated", "reweighing"], test_frame=test_frame, n_boot=100)
    # No split: the unmitigated candidate is the learner refitted on all 600 rows, scored on the 300 others.
    refit = clone(pipeline).fit(train_frame[FEATURES], train_frame["price"])
    np.testing.assert_allclose(comparison.predictions["unmitigated"], refit.predict(test_frame[FEATURES]), atol=1e-12)
    assert comparison.table.loc["unmitigated", "mae"] == pytest.approx(
        mean_absolute_error(test_frame["price"], refit.predict(test_frame[FEATURES])), abs=1e-12)
    assert (comparison.train_rows, comparison.test_rows, comparison.test_source) == (600, 300, "test table")

    # Multiclass, through the CLI and the model's sandbox: the same numbers, the record says where the rows came from.
    for table, name in ((train_frame, "train.csv"), (test_frame, "test.csv")):
        table.assign(band=pd.cut(table["price"], 3, labels=["low", "mid", "high"]).astype(str)).to_csv(
            tmp_path / name, index=False)
    labelled = pd.read_csv(tmp_path / "train.csv")
    classifier = _pipeline(LogisticRegression(max_iter=500)).fit(labelled[FEATURES], labelled["band"])
    (tmp_path / "band.skops").write_bytes(sio.dumps(classifier))
    out = tmp_path / "m.json"
    args = ["mitigate", "--data", str(tmp_path / "train.csv"), "--model", str(tmp_path / "band.skops"),
            "--target", "band", "--sensitive", "group", "--task", "multiclass", "--json", str(out)]
    assert main([*args, "--test-data", str(tmp_path / "test.csv")]) == 0
    assert "the 300 rows of the test table (trained on all 600 rows)" in capsys.readouterr().out
    record = json.loads(out.read_text())
    assert record["split"] == {"train_rows": 600, "test_rows": 300, "seed": 0, "test_source": "test table"}
    labelled_test = pd.read_csv(tmp_path / "test.csv")
    by_hand = clone(classifier).fit(labelled[FEATURES], labelled["band"]).predict(labelled_test[FEATURES])
    unmitigated = next(c for c in record["candidates"] if c["name"] == "unmitigated")
    assert unmitigated["metrics"]["accuracy"]["value"] == pytest.approx(
        accuracy_score(labelled_test["band"], by_hand), abs=1e-12)
    # A test table without a column the model needs is refused, naming it.
    labelled_test.drop(columns=["size"]).to_csv(tmp_path / "short.csv", index=False)
    assert main([*args, "--test-data", str(tmp_path / "short.csv")]) == 2
    assert "The test table lacks the column(s) size" in capsys.readouterr().err


def test_export_writes_what_the_comparison_shows_and_says_which_candidates_have_no_model_file(tmp_path):
    """``mitigate --task regression --export``: through the sandbox, each plain model's file reproduces its
    exported test predictions, which are the ones the record's numbers were computed from."""
    frame = _listings()
    frame.to_csv(tmp_path / "listings.csv", index=False)
    pipeline = _pipeline(LinearRegression()).fit(frame[FEATURES], frame["price"])
    (tmp_path / "price.skops").write_bytes(sio.dumps(pipeline))
    out, folder = tmp_path / "m.json", tmp_path / "fixes"
    assert main(["mitigate", "--data", str(tmp_path / "listings.csv"), "--model", str(tmp_path / "price.skops"),
                 "--target", "price", "--sensitive", "group", "--task", "regression", "--json", str(out),
                 "--export", str(folder)]) == 0
    record = json.loads(out.read_text())
    exports = record["exports"]
    assert set(exports) == {"unmitigated", "reweighing", "correlation_remover", "bounded_group_loss", "grid_search"}
    train, test = _split(frame, pd.qcut(frame["price"], 4, labels=False))
    for name, entry in exports.items():
        table = pd.read_csv(entry["predictions"])
        assert table["row"].tolist() == frame.index[test].tolist()
        assert np.allclose(table["price"], frame["price"].to_numpy()[test], atol=1e-12)
        # What we show is what we ship: the record's MAE is the MAE of the exported predictions.
        mae = next(c for c in record["candidates"] if c["name"] == name)["metrics"]["mae"]["value"]
        assert mean_absolute_error(table["price"], table["prediction"]) == pytest.approx(mae, abs=1e-9)
        manifest = json.loads(Path(entry["manifest"]).read_text())
        assert manifest["task"] == "regression" and manifest["candidate"] == name
        # Every candidate's model file loads back through the allow-list (in its sandbox, as an upload would)
        # and predicts exactly the exported test predictions.
        rows = frame.iloc[test]
        loaded = load_model(entry["model"])
        np.testing.assert_allclose(loaded.predict(rows), table["prediction"], rtol=0, atol=1e-9)
        assert manifest["model_sha256"] == entry["model_sha256"] and manifest["model_note"] is None
        expected_columns = FEATURES + (["group"] if name == "correlation_remover" else [])
        assert manifest["input_columns"] == expected_columns and list(loaded.feature_names) == expected_columns
        if name == "bounded_group_loss":  # a random mixture, each row's draw keyed on the row: any order
            assert "seeded hash" in manifest["how_it_predicts"] and loaded.decides_at_random
            np.testing.assert_allclose(loaded.predict(rows.iloc[::-1]), table["prediction"].to_numpy()[::-1],
                                       rtol=0, atol=1e-9)
        if name == "correlation_remover":  # the group is read from its column: without it, refused by name
            assert "group column" in manifest["how_it_predicts"]
            with pytest.raises(AuditInputError, match="group"):
                loaded.predict(rows.drop(columns=["group"]))
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []  # nothing half-written
    # --row-key is for yes/no candidates' random decisions: refused with why.
    assert main(["mitigate", "--data", str(tmp_path / "listings.csv"), "--model", str(tmp_path / "price.skops"),
                 "--target", "price", "--sensitive", "group", "--task", "regression", "--row-key", "size",
                 "--json", str(tmp_path / "refused.json")]) == 2
    assert not (tmp_path / "refused.json").exists()


def test_a_multiclass_model_in_this_process_exports_its_plain_models_too(tmp_path):
    from auditapp.mitigation.task_compare import export_task_candidate

    frame = _listings().assign(band=lambda f: pd.cut(f["price"], 3, labels=["low", "mid", "high"]).astype(str))
    with warnings.catch_warnings():  # lbfgs on unscaled sizes: a convergence warning, not what is tested
        warnings.simplefilter("ignore")
        classifier = _pipeline(LogisticRegression(max_iter=500)).fit(frame[FEATURES], frame["band"])
    comparison = compare_task_mitigations(frame, AuditSpec(target="band", sensitive=("group",)),
                                          from_estimator(classifier), task="multiclass", export=True)
    for name, columns in (("reweighing", FEATURES), ("correlation_remover", [*FEATURES, "group"])):
        entry = export_task_candidate(comparison, name, tmp_path)
        table = pd.read_csv(entry["predictions"])
        model = load_model(entry["model"], sandbox=False)  # through the exact allow-list
        assert list(model.feature_names) == columns
        assert (model.predict(frame.loc[table["row"]]).astype(str) == table["prediction"].to_numpy()).all()
        accuracy = comparison.table.loc[name, "accuracy"]
        assert accuracy_score(table["band"], table["prediction"]) == pytest.approx(accuracy, abs=1e-12)


def test_the_correlation_removers_model_groups_new_rows_at_the_comparisons_bin_edges(tmp_path):
    """Grouped by a binned column (quantiles resolved on the dataset), the exported model bins each new row at
    those same edges: it predicts the comparison's test rows exactly, with only the raw column given."""
    from auditapp.core.spec import Binning, bin_edges
    from auditapp.mitigation.task_compare import export_task_candidate

    frame = _listings().assign(age=lambda f: np.random.default_rng(3).integers(18, 80, len(f)))
    frame["price"] += np.where(frame["age"] > 50, -8.0, 0.0)
    regressor = _pipeline(LinearRegression()).fit(frame[FEATURES], frame["price"])
    spec = AuditSpec(target="price", sensitive=("age",), bins={"age": Binning(quantiles=3)})
    comparison = compare_task_mitigations(frame, spec, from_estimator(regressor), task="regression",
                                          candidates=["correlation_remover"], export=True, n_boot=100)
    model = comparison.models["correlation_remover"]
    assert model.bin_edges == {"age": list(bin_edges(frame, spec)["age"])}  # resolved on the whole dataset
    entry = export_task_candidate(comparison, "correlation_remover", tmp_path)
    table = pd.read_csv(entry["predictions"])
    loaded = load_model(entry["model"], sandbox=False)
    np.testing.assert_allclose(loaded.predict(frame.loc[table["row"], [*FEATURES, "age"]]), table["prediction"],
                               rtol=0, atol=1e-9)
    assert table["age"].nunique() == 3  # the exported rows carry the group label (the bin), not the age
