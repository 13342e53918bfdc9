"""Tests for auditapp.inputs.models: loading skops and ONNX models behind one AuditModel interface."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC

from auditapp.core.errors import AuditInputError, LimitExceededError
from auditapp.inputs.intake import Limits, sha256_file
from auditapp.inputs.models import (
    AuditModel,
    from_estimator,
    load_model,
    match_favorable_class,
    save_skops,
)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame({
        "age": rng.normal(40, 10, n),
        "income": rng.normal(50, 15, n),
        "group": rng.choice(["a", "b", "c"], n),
    })
    logit = 0.08 * (frame["age"] - 40) + 0.05 * (frame["income"] - 50) + (frame["group"] == "a")
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return frame, y


@pytest.fixture(scope="module")
def lr_pipeline(data):
    frame, y = data
    pre = make_column_transformer((StandardScaler(), ["age", "income"]),
                                  (OneHotEncoder(handle_unknown="ignore"), ["group"]))
    return make_pipeline(pre, LogisticRegression()).fit(frame, y)


def skops_round_trip(estimator, tmp_path, name):
    path = tmp_path / name
    sha = save_skops(estimator, path)
    model = load_model(path)
    assert sha == sha256_file(path) == model.sha256
    return model


# --- skops ---------------------------------------------------------------------------------

def test_skops_pipeline_round_trip(data, lr_pipeline, tmp_path):
    frame, _ = data
    model = skops_round_trip(lr_pipeline, tmp_path, "lr.skops")
    assert model.format == "skops"
    assert model.name == "lr.skops"
    assert model.feature_names == ("age", "income", "group")
    assert model.classes == ("no", "yes")
    assert all(type(c) is str for c in model.classes)
    assert model.can_refit
    np.testing.assert_array_equal(model.predict(frame), lr_pipeline.predict(frame))
    np.testing.assert_allclose(model.predict_proba(frame), lr_pipeline.predict_proba(frame))


@pytest.mark.parametrize("estimator", [
    HistGradientBoostingClassifier(max_iter=10, random_state=0),
    RandomForestClassifier(n_estimators=5, random_state=0, n_jobs=1),
])
def test_skops_tree_models_round_trip(data, estimator, tmp_path):
    frame, y = data
    numeric = frame[["age", "income"]]
    y01 = (y == "yes").astype(int)
    fitted = estimator.fit(numeric, y01)
    model = skops_round_trip(fitted, tmp_path, "tree.skops")
    assert model.classes == (0, 1)
    assert all(type(c) is int for c in model.classes)
    np.testing.assert_allclose(model.predict_proba(frame), fitted.predict_proba(numeric))
    scores = model.score(frame, 1)
    assert scores.dtype == np.float64
    np.testing.assert_allclose(scores, fitted.predict_proba(numeric)[:, 1])


def test_skops_detected_by_content_without_extension(lr_pipeline):
    import skops.io as sio

    model = load_model(sio.dumps(lr_pipeline), filename="upload")
    assert model.format == "skops"


def test_model_byte_limit(lr_pipeline):
    import skops.io as sio

    with pytest.raises(LimitExceededError, match="AUDITAPP_MAX_BYTES"):
        load_model(sio.dumps(lr_pipeline), filename="m.skops", limits=Limits(max_bytes=100))


# --- in-memory estimators ------------------------------------------------------------------

def test_from_estimator_wraps_a_fitted_pipeline(data, lr_pipeline):
    frame, _ = data
    model = from_estimator(lr_pipeline)
    assert model.format == "sklearn"
    assert model.sha256 is None
    assert model.estimator is lr_pipeline
    assert model.name == "in-memory model"
    assert set(model.predict(frame)) <= set(model.classes)


def test_extra_and_reordered_columns_are_ignored(data, lr_pipeline):
    frame, _ = data
    shuffled = frame[["group", "income", "age"]].assign(extra=1)
    model = from_estimator(lr_pipeline)
    np.testing.assert_array_equal(model.predict(shuffled), lr_pipeline.predict(frame))


def test_model_without_column_names_is_refused(data):
    frame, y = data
    fitted = LogisticRegression().fit(frame[["age", "income"]].to_numpy(), y)
    with pytest.raises(AuditInputError, match="does not record the column names it was trained on; "
                                              "refit it on a DataFrame"):
        from_estimator(fitted)


def test_a_regressor_has_no_classes_and_no_favourable_class(data):
    frame, y = data
    fitted = LinearRegression().fit(frame[["age"]], (y == "yes").astype(int))
    model = from_estimator(fitted)
    assert model.classes == ()
    with pytest.raises(AuditInputError, match="is a regressor: it predicts amounts, not classes"):
        match_favorable_class(model, 1)
    with pytest.raises(AuditInputError, match="is not a fitted classifier or regressor"):
        from_estimator(LinearRegression())


def test_object_without_predict_is_refused():
    with pytest.raises(AuditInputError, match="holds a dict, not a model"):
        from_estimator({"weights": [1, 2]})


def test_missing_columns_are_all_named(lr_pipeline, data):
    frame, _ = data
    model = from_estimator(lr_pipeline)
    with pytest.raises(AuditInputError, match="The model needs columns age, group that the "
                                              "dataset does not have"):
        model.predict(frame[["income"]])
    model.check_columns(frame)


def test_predict_proba_is_none_without_probabilities(data):
    frame, y = data
    model = from_estimator(SVC().fit(frame[["age", "income"]], y))
    assert model.predict_proba(frame) is None
    assert model.score(frame, "yes") is None
    assert model.predict(frame).shape == (len(frame),)


def test_score_accepts_string_form_and_refuses_unknown_class(data):
    frame, y = data
    y01 = (y == "yes").astype(int)
    fitted = LogisticRegression().fit(frame[["age"]], y01)
    model = from_estimator(fitted)
    np.testing.assert_allclose(model.score(frame, "1"), fitted.predict_proba(frame[["age"]])[:, 1])
    with pytest.raises(AuditInputError, match="'maybe' is not a class of the model"):
        model.score(frame, "maybe")


# --- favourable class ----------------------------------------------------------------------

def make_model(classes):
    return AuditModel(format="sklearn", sha256=None, name="m", feature_names=("x",),
                      classes=tuple(classes), can_refit=False, estimator=None)


def test_favorable_matches_exactly_as_string_and_as_number():
    assert match_favorable_class(make_model([0, 1]), 1) == 1
    assert type(match_favorable_class(make_model([0, 1]), "1")) is int
    assert match_favorable_class(make_model([0, 1]), np.float64(1.0)) == 1
    assert match_favorable_class(make_model(["no", "yes"]), "yes") == "yes"


def test_model_favorable_names_the_class():
    assert match_favorable_class(make_model([0, 1]), "yes", model_favorable="1") == 1


def test_unmatched_favorable_says_what_to_do():
    with pytest.raises(AuditInputError, match=r"The model predicts classes 0, 1 but the target's "
                                              r"favourable value is 'yes'\. Name the model's class "
                                              r"that means 'yes' \(--model-favorable"):
        match_favorable_class(make_model([0, 1]), "yes")


def test_unknown_model_favorable_is_refused():
    with pytest.raises(AuditInputError, match="favourable class 'hired' is not a class the model "
                                              "predicts; it predicts 0, 1"):
        match_favorable_class(make_model([0, 1]), "yes", model_favorable="hired")


# --- ONNX ----------------------------------------------------------------------------------

def onnx_bytes(model_proto, **metadata):
    for key, value in metadata.items():
        entry = model_proto.metadata_props.add()
        entry.key, entry.value = key, value
    return model_proto.SerializeToString()


def test_onnx_per_column_inputs_match_sklearn(data, lr_pipeline):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    frame, _ = data
    proto = convert_sklearn(lr_pipeline, initial_types=[
        ("age", FloatTensorType([None, 1])), ("income", FloatTensorType([None, 1])),
        ("group", StringTensorType([None, 1]))])
    model = load_model(onnx_bytes(proto), filename="lr.onnx")
    assert model.format == "onnx"
    assert model.estimator is None and not model.can_refit
    assert model.feature_names == ("age", "income", "group")
    assert model.classes == ("no", "yes")
    np.testing.assert_allclose(model.predict_proba(frame), lr_pipeline.predict_proba(frame),
                               atol=1e-5)
    assert (model.predict(frame) == lr_pipeline.predict(frame)).mean() > 0.99
    np.testing.assert_allclose(model.score(frame, "yes"),
                               lr_pipeline.predict_proba(frame)[:, 1], atol=1e-5)


def test_onnx_single_tensor_with_metadata_names(data):
    from skl2onnx import to_onnx

    frame, y = data
    y01 = (y == "yes").astype(int)
    fitted = LogisticRegression().fit(frame[["income", "age"]], y01)
    proto = to_onnx(fitted, frame[["income", "age"]].to_numpy(np.float32),
                    options={"zipmap": False})
    model = load_model(onnx_bytes(proto, feature_names="income, age"), filename="lr.onnx")
    assert model.feature_names == ("income", "age")
    assert model.classes == (0, 1)
    assert all(type(c) is int for c in model.classes)
    np.testing.assert_allclose(model.predict_proba(frame),
                               fitted.predict_proba(frame[["income", "age"]]), atol=1e-5)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(restored.predict_proba(frame), model.predict_proba(frame))


def test_onnx_single_tensor_without_names_is_refused(data):
    from skl2onnx import to_onnx

    frame, y = data
    fitted = LogisticRegression().fit(frame[["age", "income"]].to_numpy(), y)
    proto = to_onnx(fitted, frame[["age", "income"]].to_numpy(np.float32))
    with pytest.raises(AuditInputError, match="does not say which columns they are. Add the "
                                              "column names"):
        load_model(onnx_bytes(proto), filename="x.onnx")


def test_onnx_metadata_names_must_match_width(data):
    from skl2onnx import to_onnx

    frame, y = data
    fitted = LogisticRegression().fit(frame[["age", "income"]].to_numpy(), y)
    proto = to_onnx(fitted, frame[["age", "income"]].to_numpy(np.float32))
    with pytest.raises(AuditInputError, match="takes 2 features but its feature_names metadata "
                                              "lists 3"):
        load_model(onnx_bytes(proto, feature_names="a,b,c"), filename="x.onnx")


def test_onnx_tree_ensemble_with_zipmap_close_to_sklearn(data):
    # skl2onnx 1.20 cannot convert HistGradientBoosting fitted by scikit-learn 1.9 (it fails
    # building TreeEnsembleClassifier), so a random forest stands in for tree ensembles here.
    from skl2onnx import to_onnx

    frame, y = data
    numeric = frame[["age", "income"]]
    y01 = (y == "yes").astype(int)
    fitted = RandomForestClassifier(n_estimators=5, random_state=0, n_jobs=1).fit(numeric, y01)
    proto = to_onnx(fitted, numeric.to_numpy(np.float32))
    model = load_model(onnx_bytes(proto, feature_names="age,income"), filename="rf.onnx")
    assert model.classes == (0, 1)
    expected = fitted.predict_proba(numeric)
    np.testing.assert_allclose(model.predict_proba(frame), expected, atol=0.1)
    assert np.abs(model.predict_proba(frame) - expected).mean() < 0.01
    assert (model.predict(frame) == fitted.predict(numeric)).mean() > 0.95


def test_onnx_text_in_numeric_input_is_refused(data, lr_pipeline):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    frame, _ = data
    proto = convert_sklearn(lr_pipeline, initial_types=[
        ("age", FloatTensorType([None, 1])), ("income", FloatTensorType([None, 1])),
        ("group", StringTensorType([None, 1]))])
    model = load_model(onnx_bytes(proto), filename="lr.onnx")
    with pytest.raises(AuditInputError, match="Columns age must be numbers"):
        model.predict(frame.assign(age="old"))


def test_corrupted_onnx_is_refused(data, lr_pipeline):
    from skl2onnx import to_onnx

    frame, _ = data
    good = to_onnx(LogisticRegression().fit(frame[["age"]].to_numpy(), [0, 1] * 150),
                   frame[["age"]].to_numpy(np.float32)).SerializeToString()
    with pytest.raises(AuditInputError, match="bad.onnx is not a valid ONNX model"):
        load_model(good[: len(good) // 2], filename="bad.onnx")
    with pytest.raises(AuditInputError, match="junk.onnx is not a valid ONNX model"):
        load_model(b"\x00\x01 definitely not protobuf", filename="junk.onnx")


def test_unknown_model_file_is_refused():
    with pytest.raises(AuditInputError, match="notes.txt is not a model file auditapp can read"):
        load_model(b"hello, I am a text file", filename="notes.txt")


def test_empty_model_file_is_refused():
    with pytest.raises(AuditInputError, match="m.skops is empty"):
        load_model(b"", filename="m.skops")


def test_onnx_single_column_input_is_named_by_its_input(data):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    frame, y = data
    fitted = LogisticRegression().fit(frame[["age"]], y)
    proto = convert_sklearn(fitted, initial_types=[("age", FloatTensorType([None, 1]))])
    model = load_model(onnx_bytes(proto), filename="age.onnx")
    assert model.feature_names == ("age",)
    np.testing.assert_allclose(model.score(frame, "yes"),
                               fitted.predict_proba(frame[["age"]])[:, 1], atol=1e-5)


def test_onnx_classes_metadata_is_used(data):
    from skl2onnx import to_onnx

    frame, y = data
    y01 = (y == "yes").astype(int)
    fitted = LogisticRegression().fit(frame[["age", "income"]].to_numpy(), y01)
    proto = to_onnx(fitted, frame[["age", "income"]].to_numpy(np.float32))
    model = load_model(onnx_bytes(proto, feature_names="age,income", classes="0, 1"),
                       filename="m.onnx")
    assert model.classes == (0, 1)
    assert set(model.predict(frame).tolist()) <= {0, 1}


def test_onnx_missing_text_values_are_refused(data, lr_pipeline):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    frame, _ = data
    proto = convert_sklearn(lr_pipeline, initial_types=[
        ("age", FloatTensorType([None, 1])), ("income", FloatTensorType([None, 1])),
        ("group", StringTensorType([None, 1]))])
    model = load_model(onnx_bytes(proto), filename="lr.onnx")
    with_gap = frame.astype({"group": object})
    with_gap.loc[0, "group"] = None
    with pytest.raises(AuditInputError, match="Columns group have missing values"):
        model.predict_proba(with_gap)
