"""SHAP values in the dataset's columns: additivity, agreement with shap, explainer choice."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from auditapp.explain import build_explainer, permutation_shapley
from auditapp.explain.columns import source_matrix
from auditapp.inputs.models import from_estimator

FEATURES = ["age", "colour", "income", "city"]


def _frame(n=400, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "age": rng.integers(18, 70, n),
        "colour": rng.choice(["red", "green", "blue"], n),
        "income": rng.normal(50, 15, n).round(1),
        "city": rng.choice(["north", "south", "east", "west", "centre"], n),
    })
    logit = 0.05 * (frame["age"] - 40) + (frame["colour"] == "red") * 1.0 + 0.03 * (frame["income"] - 50)
    frame["y"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


def _pipeline(final):
    encode = ColumnTransformer([
        ("onehot", OneHotEncoder(sparse_output=False, handle_unknown="ignore"), ["colour", "city"]),
        ("scale", StandardScaler(), ["age", "income"]),
    ])
    pipe = Pipeline([("encode", encode), ("model", final)])
    frame = _frame()
    return pipe.fit(frame[FEATURES], frame["y"]), frame


@pytest.fixture(scope="module")
def hgb():
    return _pipeline(HistGradientBoostingClassifier(max_iter=20, random_state=0))


def test_encoded_columns_map_back_to_their_source_column(hgb):
    pipe, _ = hgb
    matrix = source_matrix(pipe[:-1], tuple(FEATURES))
    names = pipe[:-1].get_feature_names_out()
    sources = [FEATURES[j] for j in matrix.argmax(axis=1)]
    assert matrix.sum(axis=1).tolist() == [1.0] * len(names)
    assert sources == [n.split("__")[1].split("_")[0] for n in names]


@pytest.mark.parametrize("final, method, space", [
    (HistGradientBoostingClassifier(max_iter=20, random_state=0), "tree", "log-odds"),
    (RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0), "tree", "probability"),
    (LogisticRegression(max_iter=500), "linear", "log-odds"),
])
def test_base_plus_attributions_equals_model_output_after_summing_one_hot_columns(final, method, space):
    pipe, frame = _pipeline(final)
    explainer = build_explainer(from_estimator(pipe), frame, 1, seed=0)
    values = explainer.explain(frame.iloc[:60])
    encoded = pipe[:-1].transform(frame[FEATURES].iloc[:60])
    own = pipe[-1].decision_function(encoded) if space == "log-odds" else pipe[-1].predict_proba(encoded)[:, 1]
    assert (values.method, values.output_space, values.features) == (method, space, tuple(FEATURES))
    assert values.values.shape == (60, 4)
    np.testing.assert_allclose(values.base_value + values.values.sum(axis=1), own, atol=1e-6)


def test_tree_values_agree_with_calling_shap_directly(hgb):
    import shap

    pipe, frame = hgb
    ours = build_explainer(from_estimator(pipe), frame, 1).explain(frame.iloc[:50])
    direct = shap.TreeExplainer(pipe[-1])(pipe[:-1].transform(frame[FEATURES].iloc[:50])).values
    names = list(pipe[:-1].get_feature_names_out())
    colour = [i for i, n in enumerate(names) if n.startswith("onehot__colour_")]
    np.testing.assert_allclose(ours.values[:, FEATURES.index("colour")], direct[:, colour].sum(axis=1),
                               atol=1e-10)
    np.testing.assert_allclose(ours.values[:, FEATURES.index("age")],
                               direct[:, names.index("scale__age")], atol=1e-10)


def test_explaining_the_other_class_negates_the_log_odds(hgb):
    pipe, frame = hgb
    one = build_explainer(from_estimator(pipe), frame, 1).explain(frame.iloc[:20])
    zero = build_explainer(from_estimator(pipe), frame, 0).explain(frame.iloc[:20])
    np.testing.assert_allclose(zero.values, -one.values, atol=1e-12)
    np.testing.assert_allclose(zero.output, -one.output, atol=1e-12)
    assert zero.output_label == "log-odds of the favourable class (0)"


def _exact_shapley(f, row: pd.DataFrame, background: pd.DataFrame) -> np.ndarray:
    """Shapley values by their definition: every coalition, weighted, against the background."""
    from itertools import combinations
    from math import factorial

    p = row.shape[1]

    def v(coalition):
        hybrid = background.copy()
        for j in coalition:
            hybrid.iloc[:, j] = row.iloc[0, j]
        return float(np.mean(f(hybrid)))

    out = np.zeros(p)
    for j in range(p):
        others = [k for k in range(p) if k != j]
        for size in range(p):
            for coalition in combinations(others, size):
                weight = factorial(size) * factorial(p - size - 1) / factorial(p)
                out[j] += weight * (v((*coalition, j)) - v(coalition))
    return out


def test_permutation_values_are_exact_shapley_values_for_three_features():
    rng = np.random.default_rng(1)
    data = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])

    def f(frame):
        x = frame.to_numpy()
        return np.tanh(x[:, 0] * x[:, 1]) + x[:, 2] ** 2 + 0.5 * x[:, 0]

    values, base, output = permutation_shapley(f, data.iloc[:5], data.iloc[5:25], n_permutations=10)
    expected = [_exact_shapley(f, data.iloc[[i]], data.iloc[5:25]) for i in range(5)]
    np.testing.assert_allclose(values, np.array(expected), atol=1e-10)
    np.testing.assert_allclose(base + values.sum(axis=1), output, atol=1e-12)


def test_permutation_sampling_stays_additive_with_string_columns_and_is_seeded():
    frame = _frame(120)

    def f(rows):
        return ((rows["colour"] == "red") * 1.0 + rows["age"] / 100 + (rows["city"] == "north") * 0.3
                + rows["income"] / 1000).to_numpy()

    first = permutation_shapley(f, frame[FEATURES].iloc[:15], frame[FEATURES].iloc[50:80],
                                n_permutations=6, seed=3)
    again = permutation_shapley(f, frame[FEATURES].iloc[:15], frame[FEATURES].iloc[50:80],
                                n_permutations=6, seed=3)
    values, base, output = first
    np.testing.assert_allclose(base + values.sum(axis=1), output, atol=1e-12)
    np.testing.assert_array_equal(values, again[0])
    # f is additive, so every permutation gives the same, exact answer: red adds 1 minus its mean.
    red = (frame["colour"].iloc[50:80] == "red").mean()
    np.testing.assert_allclose(values[:, 1], (frame["colour"].iloc[:15] == "red") - red, atol=1e-12)


def test_onnx_models_use_the_permutation_explainer_on_raw_columns(tmp_path):
    from skl2onnx import to_onnx

    from auditapp.inputs.models import load_model

    frame = _frame(300)
    numeric = ["age", "income"]
    pipe = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression())])
    pipe.fit(frame[numeric].astype(np.float32), frame["y"])
    onx = to_onnx(pipe, frame[numeric].astype(np.float32).iloc[:1], options={"zipmap": False})
    onx.metadata_props.add(key="feature_names", value="age,income")
    path = tmp_path / "m.onnx"
    path.write_bytes(onx.SerializeToString())
    model = load_model(path)
    explainer = build_explainer(model, frame.astype({"age": np.float32, "income": np.float32}), 1,
                                seed=0)
    values = explainer.explain(frame.iloc[:10])
    assert (values.method, values.output_space) == ("permutation", "probability")
    np.testing.assert_allclose(values.base_value + values.values.sum(axis=1),
                               model.score(frame.iloc[:10], 1), atol=1e-6)
    # Two features: every ordering is enumerated, so the values are exact Shapley values.
    rows = frame[numeric].astype(np.float32)
    expected = [_exact_shapley(lambda r: model.score(r, 1), rows.iloc[[i]], explainer.background)
                for i in range(3)]
    np.testing.assert_allclose(values.values[:3], np.array(expected), atol=1e-6)


def test_nested_pipelines_sparse_one_hot_and_remainder_map_back_exactly():
    from sklearn.impute import SimpleImputer

    frame = _frame(300)
    categorical = Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                            ("onehot", OneHotEncoder(handle_unknown="ignore"))])
    encode = ColumnTransformer([("cat", categorical, ["colour", "city"])], remainder="passthrough")
    pipe = Pipeline([("encode", encode), ("model", LogisticRegression(max_iter=500))])
    pipe.fit(frame[FEATURES], frame["y"])
    matrix = source_matrix(pipe[:-1], tuple(FEATURES))
    assert matrix.sum(axis=0).tolist() == [1.0, 3.0, 1.0, 5.0]
    values = build_explainer(from_estimator(pipe), frame, 1).explain(frame.iloc[:30])
    assert values.method == "linear"
    np.testing.assert_allclose(values.base_value + values.values.sum(axis=1),
                               pipe.decision_function(frame[FEATURES].iloc[:30]), atol=1e-6)


def test_columns_mixed_by_pca_fall_back_to_the_model_agnostic_explainer():
    from sklearn.decomposition import PCA

    frame = _frame(200)
    numeric = ["age", "income"]
    pipe = Pipeline([("scale", StandardScaler()), ("pca", PCA(n_components=2)),
                     ("model", HistGradientBoostingClassifier(max_iter=10))])
    pipe.fit(frame[numeric], frame["y"])
    assert source_matrix(pipe[:-1], tuple(numeric)) is None
    values = build_explainer(from_estimator(pipe), frame, 1).explain(frame.iloc[:5])
    assert (values.method, values.output_space) == ("permutation", "probability")
    np.testing.assert_allclose(values.base_value + values.values.sum(axis=1),
                               pipe.predict_proba(frame[numeric].iloc[:5])[:, 1], atol=1e-9)
