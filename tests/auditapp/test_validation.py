"""One validation module: the same text means the same number everywhere, and bad input gets a message."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from auditapp.core.audit import run_audit
from auditapp.core.errors import AuditInputError
from auditapp.core.metrics import compute_audit
from auditapp.core.spec import AuditSpec
from auditapp.core.validation import check_model, parse_number
from auditapp.service.forms import state_from_form


@pytest.mark.parametrize(("text", "message"), [
    ("nan", "must be a number, got 'nan'"),
    ("inf", "must be a number, got 'inf'"),
    ("0,8", "written with a dot, got '0,8'. Type 0.8"),
    ("1,000", "written with a dot, got '1,000'"),
    (True, "must be a number, got 'True'"),
    ("abc", "must be a number, got 'abc'"),
])
def test_text_that_is_not_a_plain_number_is_refused(text, message):
    with pytest.raises(AuditInputError, match=message):
        parse_number(text, "The threshold")


def test_whole_numbers_bounds_and_defaults():
    assert parse_number("30", "n", integer=True) == 30 and type(parse_number("30", "n", integer=True)) is int
    assert parse_number(" ", "n", integer=True, default=30) == 30
    assert parse_number(0, "n", integer=True, default=30) == 0
    with pytest.raises(AuditInputError, match="n must be a whole number, got 'nan'"):
        parse_number("nan", "n", integer=True)
    with pytest.raises(AuditInputError, match="must be between 0 and 1, got 1.5"):
        parse_number("1.5", "The share", minimum=0, maximum=1)


def _form_state():
    return {"dataset": "key"}


def _form(**changes):
    form = {"target": "y", "favorable": 1, "source": "score", "score": "s", "sensitive": ["g"]}
    return {**form, **changes}


def test_form_threshold_nan_is_a_message_not_a_crash():
    with pytest.raises(AuditInputError, match="The threshold must be a number, got 'nan'"):
        state_from_form(_form_state(), _form(threshold="nan"))


def test_form_minimum_group_size_zero_is_refused_not_turned_into_30():
    with pytest.raises(AuditInputError, match="minimum group size must be at least 1, got 0"):
        state_from_form(_form_state(), _form(min_group_size="0"))
    with pytest.raises(AuditInputError, match="The minimum group size must be a whole number, got 'nan'"):
        state_from_form(_form_state(), _form(min_group_size="nan"))
    assert state_from_form(_form_state(), _form(min_group_size=""))["spec"]["min_group_size"] == 30
    assert state_from_form(_form_state(), _form(min_group_size="7"))["spec"]["min_group_size"] == 7


def test_string_labels_get_the_engines_own_message():
    labels = pd.Series(["yes", "no", "yes"], dtype=object)
    with pytest.raises(AuditInputError, match="The labels must be 0 or 1, but contain 'yes'. Map the favourable"):
        compute_audit(labels, [1, 0, 1], pd.DataFrame({"g": ["a", "b", "a"]}))


def _frame(n=400, seed=3):
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], size=n)
    x = rng.normal(size=n) + (group == "a")
    return pd.DataFrame({"x": x, "z": rng.normal(size=n), "g": group,
                         "y": (x + rng.normal(size=n) > 0.5).astype(int)})


def test_run_audit_takes_a_fitted_estimator_and_pipeline():
    frame = _frame()
    spec = AuditSpec(target="y", sensitive=("g",))
    for fitted in (LogisticRegression().fit(frame[["x", "z"]], frame["y"]),
                   make_pipeline(StandardScaler(), LogisticRegression()).fit(frame[["x", "z"]], frame["y"])):
        audit = run_audit(frame, spec, fitted)
        expected = (fitted.predict_proba(frame[["x", "z"]])[:, 1] >= 0.5).astype(int)
        by_column = run_audit(frame.assign(p=expected), AuditSpec(target="y", sensitive=("g",), prediction="p"))
        got = audit.result.grouping("g").groups["selection_rate"]
        assert np.abs(got - by_column.result.grouping("g").groups["selection_rate"]).max() == 0
        assert audit.data.source == "model"


def test_an_unfitted_or_non_classifier_is_refused_by_name():
    with pytest.raises(AuditInputError, match="LogisticRegression passed in .* is not a fitted classifier"):
        check_model(LogisticRegression())
    with pytest.raises(AuditInputError, match="not a model with a predict method"):
        check_model(object())
    with pytest.raises(AuditInputError, match="does not record the column names"):
        check_model(LogisticRegression().fit(np.eye(4)[:, :2], [0, 1, 0, 1]))
