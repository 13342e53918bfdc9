"""AuditSpec validation and preparation of labels, predictions and groups."""

import numpy as np
import pandas as pd
import pytest

from auditapp.core.audit import run_audit
from auditapp.core.errors import AuditInputError
from auditapp.core.spec import MISSING_GROUP, AuditSpec, Binning, prepare


def _frame():
    return pd.DataFrame({
        "income": [">50K", "<=50K", ">50K", "<=50K", "<=50K", ">50K"],
        "pred": [">50K", ">50K", "<=50K", "<=50K", "<=50K", ">50K"],
        "score": [0.9, 0.6, 0.4, 0.1, 0.3, 0.8],
        "raw": [9.0, 6.0, 4.0, 1.0, 3.0, 8.0],
        "sex": ["f", "m", None, "m", "f", "m"],
        "age": [22, 35, 47, 51, 64, 30],
    })


def test_string_favourable_value_and_prediction_column():
    data = prepare(_frame(), AuditSpec(target="income", favorable=">50K", prediction="pred", sensitive=("sex",)))
    assert data.y_true.tolist() == [1, 0, 1, 0, 0, 1]
    assert data.y_pred.tolist() == [1, 1, 0, 0, 0, 1]


def test_missing_sensitive_values_form_their_own_group():
    data = prepare(_frame(), AuditSpec(target="income", favorable=">50K", prediction="pred", sensitive=("sex",)))
    assert data.sensitive_features["sex"].tolist() == ["f", "m", MISSING_GROUP, "m", "f", "m"]
    assert len(data.y_true) == len(_frame())


def test_numeric_favourable_given_as_text_matches():
    frame = pd.DataFrame({"y": [1, 0, 1], "p": [1, 1, 0], "g": ["a", "b", "a"]})
    data = prepare(frame, AuditSpec(target="y", favorable="1", prediction="p", sensitive="g"))
    assert data.y_true.tolist() == [1, 0, 1]


def test_score_with_threshold():
    data = prepare(_frame(), AuditSpec(target="income", favorable=">50K", score="score", threshold=0.5,
                                       sensitive=("sex",)))
    assert data.y_pred.tolist() == [1, 1, 0, 0, 0, 1]
    assert data.threshold == 0.5


def test_score_outside_unit_interval_needs_a_threshold():
    with pytest.raises(AuditInputError, match="outside \\[0, 1\\].*Give a threshold"):
        prepare(_frame(), AuditSpec(target="income", favorable=">50K", score="raw", sensitive=("sex",)))
    data = prepare(_frame(), AuditSpec(target="income", favorable=">50K", score="raw", threshold=5,
                                       sensitive=("sex",)))
    assert data.y_pred.tolist() == [1, 1, 0, 0, 0, 1]


def test_binning_with_edges_and_quantiles():
    spec = AuditSpec(target="income", favorable=">50K", prediction="pred", sensitive=("age",),
                     bins={"age": Binning.parse("18,40,70")})
    assert prepare(_frame(), spec).sensitive_features["age"].tolist() == [
        "[18, 40)", "[18, 40)", "[40, 70]", "[40, 70]", "[40, 70]", "[18, 40)"]
    spec = AuditSpec(target="income", favorable=">50K", prediction="pred", sensitive=("age",),
                     bins={"age": Binning.parse("q2")})
    assert prepare(_frame(), spec).sensitive_features["age"].nunique() == 2


def test_bin_labels_say_which_bin_holds_each_edge():
    frame = _frame().assign(age=[19, 26, 25.5, 45, 70, 30])
    spec = AuditSpec(target="income", favorable=">50K", prediction="pred", sensitive=("age",),
                     bins={"age": Binning.parse("19,26,45,70")})
    # 26 starts the second bin and 45 the third; the last bin is closed and holds 70.
    assert prepare(frame, spec).sensitive_features["age"].tolist() == [
        "[19, 26)", "[26, 45)", "[19, 26)", "[45, 70]", "[45, 70]", "[26, 45)"]


def test_bin_labels_never_read_the_same_for_two_edges():
    from auditapp.core.spec import bin_labels

    assert bin_labels([1_000_000, 1_000_000.5, 1_000_001.25]) == ["[1000000, 1000000.5)", "[1000000.5, 1000001.25]"]
    assert bin_labels([0.1, 1 / 3, 0.5]) == ["[0.1, 0.333333)", "[0.333333, 0.5]"]


def test_float_groups_keep_every_digit():
    frame = _frame().assign(level=[0.1234567, 0.1234568, 2.0, 2.0, 0.5, 0.5])
    spec = AuditSpec(target="income", favorable=">50K", prediction="pred", sensitive=("level",))
    assert prepare(frame, spec).sensitive_features["level"].tolist() == [
        "0.1234567", "0.1234568", "2", "2", "0.5", "0.5"]


def test_binning_mistakes():
    with pytest.raises(AuditInputError, match="outside the bin edges"):
        prepare(_frame(), AuditSpec(target="income", favorable=">50K", prediction="pred", sensitive=("age",),
                                    bins={"age": Binning.parse("30,70")}))
    with pytest.raises(AuditInputError, match="increasing"):
        Binning.parse("5,3")
    with pytest.raises(AuditInputError, match="write numbers separated by commas"):
        Binning.parse("young,old")


@pytest.mark.parametrize("spec, message", [
    (dict(target="nope", prediction="pred", sensitive=("sex",)), "target column.*'nope'.*not in the dataset"),
    (dict(target="income", favorable=">50K", prediction="pred", sensitive=("race",)), "'race'.*not in the dataset"),
    (dict(target="income", favorable="yes", prediction="pred", sensitive=("sex",)), "favourable value 'yes' never occurs"),
    (dict(target="age", prediction="pred", sensitive=("sex",)), "6 distinct values.*needs two outcomes"),
    (dict(target="income", favorable=">50K", sensitive=("sex",)), "Say where the predictions come from"),
    (dict(target="income", favorable=">50K", prediction="age", sensitive=("sex",)), "not outcomes of the target"),
])
def test_mistakes_say_what_to_do(spec, message):
    with pytest.raises(AuditInputError, match=message):
        prepare(_frame(), AuditSpec(**spec))


def test_spec_level_mistakes():
    with pytest.raises(AuditInputError, match="at least one sensitive feature"):
        AuditSpec(target="y", prediction="p", sensitive=())
    with pytest.raises(AuditInputError, match="either a prediction column or a score column"):
        AuditSpec(target="y", prediction="p", score="s", sensitive="g")
    with pytest.raises(AuditInputError, match="not a sensitive feature"):
        AuditSpec(target="y", prediction="p", sensitive="g", reference={"h": "x"})
    with pytest.raises(AuditInputError, match="cannot also be a sensitive feature"):
        AuditSpec(target="y", prediction="p", sensitive=("y",))


def test_missing_target_values_are_refused():
    frame = _frame()
    frame.loc[2, "income"] = None
    with pytest.raises(AuditInputError, match="1 missing value"):
        prepare(frame, AuditSpec(target="income", favorable=">50K", prediction="pred", sensitive=("sex",)))


def test_too_many_groups_advises_binning():
    frame = pd.DataFrame({"y": np.arange(1000) % 2, "p": np.arange(1000) % 2, "id": np.arange(1000)})
    with pytest.raises(AuditInputError, match="1,000 distinct values.*Bin it"):
        prepare(frame, AuditSpec(target="y", prediction="p", sensitive=("id",)))


def test_spec_round_trips_through_dict():
    spec = AuditSpec(target="income", favorable=">50K", score="score", threshold=0.4, sensitive=("sex", "age"),
                     bins={"age": Binning(edges=(18, 40, 70))}, reference={"sex": "m"}, n_boot=10)
    assert AuditSpec.from_dict(spec.to_dict()) == spec


def test_run_audit_adds_auc_and_calibration_with_scores():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"y": rng.integers(0, 2, 400), "g": rng.choice(["a", "b"], 400)})
    frame["s"] = np.clip(0.3 + 0.4 * frame["y"] + rng.normal(0, 0.2, 400), 0, 1)
    audit = run_audit(frame, AuditSpec(target="y", score="s", sensitive="g", n_boot=20))
    assert set(audit.auc[("g",)].index) == {"a", "b"}
    assert audit.calibration["g"]["count"].sum() == 400
