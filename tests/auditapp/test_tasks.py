"""Task detection never guesses: it decides from the target and the model, or asks."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from auditapp.core.errors import AuditInputError
from auditapp.core.tasks import check_classes, detect_task, numeric_target


def _fitted(kind, n_classes=3):
    X = pd.DataFrame({"x": np.arange(30.0)})
    if kind == "regressor":
        return LinearRegression().fit(X, np.arange(30.0))
    return LogisticRegression().fit(X, np.arange(30) % n_classes)


def test_auto_detects_from_the_target():
    assert detect_task(pd.Series([0, 1, 1, 0], name="y")).task == "binary"
    assert detect_task(pd.Series(["a", "b", "c", "a"], name="y")).task == "multiclass"
    assert detect_task(pd.Series([1.5, 2.25, 3.0, 9.75], name="price")).task == "regression"
    assert detect_task(pd.Series(np.arange(100), name="amount")).task == "regression"


def test_auto_asks_when_whole_numbers_could_be_classes_or_amounts():
    with pytest.raises(AuditInputError, match=r"'band' has 5 distinct whole numbers \(1, 2, 3, 4, 5\).*--task"):
        detect_task(pd.Series([1, 2, 3, 4, 5, 1], name="band"))


def test_auto_follows_the_model():
    target = pd.Series([1, 2, 3, 4, 5, 1], name="band")
    assert detect_task(target, model=_fitted("classifier")).task == "multiclass"
    assert detect_task(pd.Series([0, 1, 1], name="y"), model=_fitted("classifier")).task == "binary"
    assert detect_task(target, model=_fitted("regressor")).task == "regression"
    assert detect_task(pd.Series([0, 1], name="y"), model=_fitted("classifier", 2)).task == "binary"


def test_stated_tasks_are_checked_against_target_and_model():
    with pytest.raises(AuditInputError, match=r"numbers in the target 'price'.*'cheap'"):
        detect_task(pd.Series([1.0, "cheap", 3.0], name="price"), requested="regression")
    with pytest.raises(AuditInputError, match="model is a classifier with classes 0, 1, 2"):
        detect_task(pd.Series([1.0, 2.0, 3.5], name="price"), model=_fitted("classifier"), requested="regression")
    with pytest.raises(AuditInputError, match="it is a regressor"):
        detect_task(pd.Series([0, 1], name="y"), model=_fitted("regressor"), requested="multiclass")
    with pytest.raises(AuditInputError, match="Unknown task 'ordinal'"):
        detect_task(pd.Series([0, 1], name="y"), requested="ordinal")


def test_numeric_target_names_missing_and_infinite_rows():
    with pytest.raises(AuditInputError, match="'price' has 1 missing values \\(first at row 2\\)"):
        numeric_target(pd.Series([1.0, None, 2.0], name="price"))
    with pytest.raises(AuditInputError, match="infinite values \\(first at row 3\\)"):
        numeric_target(pd.Series([1.0, 2.0, np.inf], name="price"))


def test_class_labels_must_match_the_models_classes():
    y = pd.Series(["low", "high", "medium"], name="band")
    with pytest.raises(AuditInputError, match="'band' has values medium that are not classes of the model"):
        check_classes(y, pd.Series(["low", "high", "low"], name="pred"), ("high", "low"))
    assert check_classes(y, pd.Series(["low", "high", "low"], name="pred")) == ("high", "low", "medium")


def test_task_audits_bound_their_work():
    from auditapp.core.regression import compute_regression_audit

    n = 3000
    many = pd.DataFrame({"a": [str(i % 60) for i in range(n)], "b": [str(i % 53) for i in range(n)]})
    with pytest.raises(AuditInputError, match=r"a × b has 3,000 groups; .* at most 2,000 per grouping"):
        compute_regression_audit(np.arange(n, dtype=float), np.arange(n, dtype=float), many, n_boot=100)
    five = pd.DataFrame({k: ["x", "y"] * 5 for k in "abcde"})
    with pytest.raises(AuditInputError, match="5 sensitive features give 31 groupings"):
        compute_regression_audit(np.arange(10.0), np.arange(10.0), five, n_boot=100)
