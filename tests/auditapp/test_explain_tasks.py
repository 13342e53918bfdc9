"""``auditapp explain --task regression|multiclass``: SHAP of a regressor's prediction or of one class's
probability, in the dataset's columns, agreeing with shap run on the model directly; through the sandbox."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.compose import make_column_transformer
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from auditapp.cli.main import main
from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec
from auditapp.explain.task_explain import explain_task_model
from auditapp.inputs.models import from_estimator
from tests.builders import listings

FEATURES = ["hood", "size"]


def _listings(n=600, seed=0) -> pd.DataFrame:
    """Prices where the neighbourhood (which differs by group) lowers the price."""
    return listings(n, seed)


def _pipeline(final):
    return make_pipeline(make_column_transformer((OneHotEncoder(), ["hood"]), remainder="passthrough"), final)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("explain_tasks")
    frame = _listings()
    frame.to_csv(root / "listings.csv", index=False)
    regressor = _pipeline(GradientBoostingRegressor(random_state=0, n_estimators=50)).fit(frame[FEATURES],
                                                                                          frame["price"])
    classifier = _pipeline(LogisticRegression(max_iter=1000)).fit(frame[FEATURES], frame["band"])
    (root / "price.skops").write_bytes(sio.dumps(regressor))
    (root / "band.skops").write_bytes(sio.dumps(classifier))
    return root, frame, regressor, classifier


@pytest.mark.parametrize("final", [GradientBoostingRegressor(random_state=0, n_estimators=50), Ridge()])
def test_a_regressor_is_explained_as_shap_explains_its_final_step_summed_back_to_the_columns(final):
    import shap

    frame = _listings()
    pipeline = _pipeline(final).fit(frame[FEATURES], frame["price"])
    explanation = explain_task_model(frame, AuditSpec(target="price", sensitive=("group",)),
                                     from_estimator(pipeline), task="regression", n_boot=0)
    rows = frame.loc[explanation.shap.data.index, FEATURES]
    encoded = pipeline[:-1].transform(rows)
    if isinstance(final, Ridge):
        background = pipeline[:-1].transform(frame[FEATURES].iloc[explanation.explainer.background.index
                                                                   if explanation.explainer.background is not None
                                                                   else slice(None)])
        direct = shap.LinearExplainer(pipeline[-1], shap.maskers.Independent(background, max_samples=100))(encoded)
        assert explanation.shap.method == "linear"
    else:
        direct = shap.TreeExplainer(pipeline[-1])(encoded)
        assert explanation.shap.method == "tree"
    # One-hot columns of 'hood' summed back into 'hood'; 'size' passes through.
    names = list(pipeline[:-1].get_feature_names_out())
    hood = [i for i, n in enumerate(names) if "hood" in n]
    size = [i for i, n in enumerate(names) if n.endswith("size")]
    expected = np.column_stack([direct.values[:, hood].sum(axis=1), direct.values[:, size].sum(axis=1)])
    if isinstance(final, Ridge):
        # The linear explainer's background is the seeded sample auditapp chose: compare additivity and
        # the exact linear attribution of 'size' (β · (x − mean of the background)).
        beta = pipeline[-1].coef_[size[0]]
        mean = explanation.explainer.explainer.masker.data[:, size[0]].mean()
        np.testing.assert_allclose(explanation.shap.values[:, 1], beta * (encoded[:, size[0]] - mean), atol=1e-9)
    else:
        np.testing.assert_allclose(explanation.shap.values, expected, atol=1e-9)
    np.testing.assert_allclose(explanation.shap.output, pipeline.predict(rows), atol=1e-9)
    assert explanation.shap.additivity_error < 1e-9 and explanation.shap.output_label == "predicted value"
    gap = explanation.gap("a")
    assert gap.contributions["value"].sum() == pytest.approx(gap.total, abs=1e-9)
    assert gap.contributions.index[0] == "hood"  # the neighbourhood carries the gap, not the size


def test_the_cli_explains_a_regressor_file_in_its_sandbox(files):
    root, frame, regressor, _ = files
    out = root / "price.json"
    code = main(["explain", "--data", str(root / "listings.csv"), "--model", str(root / "price.skops"),
                 "--target", "price", "--sensitive", "group", "--task", "regression", "--bootstrap", "0",
                 "--json", str(out)])
    assert code == 0
    record = json.loads(out.read_text())
    assert record["task"] == "regression" and record["output_space"] == "predicted value"
    assert record["explainer"] == "tree" and record["sample"]["additivity_error"] < 1e-9
    predicted = pd.Series(regressor.predict(frame[FEATURES]), index=frame.index)
    means = predicted.groupby(frame["group"]).mean()  # every row is explained (under 1,000 per group)
    gap = next(g for g in record["gap"] if g["group"] == {"group": "a"})
    assert gap["total"] == pytest.approx(means["a"] - means["b"], abs=1e-9)
    assert sum(c["value"] for c in gap["contributions"]) == pytest.approx(gap["total"], abs=1e-9)


def test_a_multiclass_model_is_explained_for_the_class_chosen_and_never_a_guessed_one(files, capsys):
    root, frame, _, classifier = files
    args = ["explain", "--data", str(root / "listings.csv"), "--model", str(root / "band.skops"),
            "--target", "band", "--sensitive", "group", "--bootstrap", "0", "--rows-per-group", "40"]
    assert main(args) == 2
    assert "Choose the class to explain (--class): the model predicts high, low, mid" in capsys.readouterr().err
    assert main([*args, "--class", "top"]) == 2
    assert "'top' is not a class of the model" in capsys.readouterr().err
    out = root / "band.json"
    assert main([*args, "--class", "high", "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["task"] == "multiclass" and record["class"] == "high"
    assert record["output_space"] == "probability of class high" and record["explainer"] == "permutation"
    local = record["local"]
    proba = classifier.predict_proba(frame.loc[[local["row"]], FEATURES])[0, list(classifier.classes_).index("high")]
    assert local["output"] == pytest.approx(proba, abs=1e-9)
    assert local["base_value"] + sum(c["shap"] for c in local["contributions"]) == pytest.approx(proba, abs=1e-9)


def test_a_classifier_is_not_explained_as_a_regression_nor_a_regressor_given_a_class(files):
    _, frame, regressor, classifier = files
    spec = AuditSpec(target="price", sensitive=("group",))
    with pytest.raises(AuditInputError, match="drop --class"):
        explain_task_model(frame, spec, from_estimator(regressor), task="regression", target_class="x")
    with pytest.raises(AuditInputError, match="needs a model that predicts amounts"):
        explain_task_model(frame, spec, from_estimator(classifier), task="regression")
    with pytest.raises(AuditInputError, match="model itself"):
        explain_task_model(frame, spec, None, task="regression")
