"""Mitigations of a regression model on the listing-price story: each on the same held-out rows."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from auditapp.core.errors import AuditInputError
from auditapp.mitigation.regression import (
    check_multiclass_mitigation,
    compare_regression_mitigations,
)


def _split(n=1200, seed=2):
    rng = np.random.default_rng(seed)
    a = np.where(rng.random(n) < 0.35, "B", "A")
    east = ((a == "B") & (rng.random(n) < 0.8)) | ((a == "A") & (rng.random(n) < 0.1))
    X = pd.DataFrame({"bedrooms": rng.integers(1, 5, n).astype(float), "east": east.astype(float)})
    y = 50 + 30 * X["bedrooms"] + rng.normal(0, 8, n) + 12 * (a == "B")  # B's listings are worth more...
    y_hist = y - 20 * (a == "B")  # ...but were discounted in the history the model learns from
    half = n // 2
    return (X.iloc[:half], y_hist.iloc[:half], a[:half], X.iloc[half:].reset_index(drop=True),
            y.iloc[half:].to_numpy(), a[half:])


def test_candidates_are_audited_on_the_same_held_out_rows():
    X_tr, y_tr, a_tr, X_te, y_te, a_te = _split()
    result = compare_regression_mitigations(LinearRegression(), X_tr, y_tr, a_tr, X_te, y_te, a_te, n_boot=200)
    table = result.table
    assert list(table.index) == ["unmitigated", "reweighing", "correlation_remover", "bounded_group_loss",
                                 "grid_search"]
    unmitigated = LinearRegression().fit(X_tr, y_tr).predict(X_te)
    np.testing.assert_allclose(result.predictions["unmitigated"], unmitigated)
    assert table.loc["unmitigated", "mae"] == pytest.approx(np.mean(np.abs(unmitigated - y_te)), rel=1e-12)
    for name in table.index:
        assert table.loc[name, "mae_low"] <= table.loc[name, "mae"] <= table.loc[name, "mae_high"]
    # removing the proxy's correlation with the group removes the learned discount's route
    assert table.loc["correlation_remover", "max_abs_smd"] < table.loc["unmitigated", "max_abs_smd"]


def test_bounded_group_loss_lowers_the_worst_group_training_loss():
    X_tr, y_tr, a_tr, *_ = _split()
    base = LinearRegression().fit(X_tr, y_tr)
    worst = max(np.mean((base.predict(X_tr[a_tr == g]) - y_tr[a_tr == g]) ** 2) for g in ("A", "B"))
    result = compare_regression_mitigations(LinearRegression(), X_tr, y_tr, a_tr, X_tr.reset_index(drop=True),
                                            y_tr.to_numpy(), a_tr, candidates=("bounded_group_loss",), n_boot=100)
    pred = result.predictions["bounded_group_loss"]
    mitigated = max(np.mean((pred[a_tr == g] - y_tr.to_numpy()[a_tr == g]) ** 2) for g in ("A", "B"))
    assert mitigated <= worst + 1e-9 and result.upper_bound > 0


def test_multiclass_in_processing_is_refused_plainly():
    with pytest.raises(AuditInputError, match="defined for binary classification"):
        check_multiclass_mitigation("exponentiated_gradient")
    check_multiclass_mitigation("reweighing")


def test_the_correlation_remover_reads_the_group_labels_given_even_beside_an_input_of_the_same_name():
    """Called with group labels only, the remover's model takes them as a column of its own, never in place of
    a model input that happens to carry the column's name."""
    from auditapp.mitigation.regression import LABEL_COLUMN

    X_tr, y_tr, a_tr, X_te, y_te, a_te = _split()
    plain = compare_regression_mitigations(LinearRegression(), X_tr, y_tr, a_tr, X_te, y_te, a_te,
                                           candidates=("correlation_remover",), n_boot=100)
    named = {"east": LABEL_COLUMN}  # an input named like the labels' column, holding the same numbers
    clash = compare_regression_mitigations(LinearRegression(), X_tr.rename(columns=named), y_tr, a_tr,
                                           X_te.rename(columns=named), y_te, a_te, candidates=("correlation_remover",),
                                           n_boot=100)
    np.testing.assert_allclose(clash.predictions["correlation_remover"], plain.predictions["correlation_remover"],
                               rtol=0, atol=1e-9)
