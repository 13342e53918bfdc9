"""Regressor model files: loaded in the sandbox like classifiers, audited as regressions, refused for yes/no audits."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_absolute_error
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from auditapp.cli.main import main
from auditapp.core.errors import AuditInputError
from auditapp.inputs.models import load_model, match_favorable_class, save_skops


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("regressor")
    rng = np.random.default_rng(3)
    n = 800
    frame = pd.DataFrame({"area": rng.choice(["north", "south", "east"], n), "rooms": rng.integers(1, 6, n),
                          "g": rng.choice(["a", "b"], n, p=[0.6, 0.4])})
    frame["price"] = 50 + 20 * frame["rooms"] + 15 * (frame["area"] == "north") + rng.normal(0, 8, n)
    pipe = make_pipeline(ColumnTransformer([("area", OneHotEncoder(), ["area"])], remainder="passthrough"),
                         Ridge(alpha=1.0))
    pipe.fit(frame[["area", "rooms"]], frame["price"])
    save_skops(pipe, root / "price.skops")
    frame.to_csv(root / "listings.csv", index=False)
    return root, frame, pipe


def test_a_regressor_file_runs_in_the_sandbox_and_predicts_what_it_predicts_in_process(files):
    root, frame, pipe = files
    model = load_model(root / "price.skops")
    assert model.sandboxed and model.classes == () and not model.has_proba
    got = model.predict(frame)
    assert got.dtype.kind == "f"
    np.testing.assert_array_equal(got, pipe.predict(frame[["area", "rooms"]]))


def test_the_cli_audits_a_regressor_file_as_a_regression_equal_to_fairlearn(files, tmp_path):
    root, frame, pipe = files
    out = tmp_path / "audit.json"
    code = main(["audit", "--data", str(root / "listings.csv"), "--model", str(root / "price.skops"),
                 "--target", "price", "--sensitive", "g", "--json", str(out), "--replicates", "200"])
    assert code == 0
    record = json.loads(out.read_text())
    assert record["task"] == "regression"
    expected = MetricFrame(metrics=mean_absolute_error, y_true=frame["price"],
                           y_pred=pipe.predict(frame[["area", "rooms"]]), sensitive_features=frame["g"]).by_group
    for group in record["groups"]:
        value = group["metrics"]["mean_absolute_error"]["value"]
        assert value == pytest.approx(expected[group["attributes"]["g"]], abs=1e-12)


def test_a_regressor_is_refused_for_a_yes_no_audit_with_what_to_do(files, tmp_path, capsys):
    root, frame, _pipe = files
    model = load_model(root / "price.skops")
    with pytest.raises(AuditInputError, match="price.skops is a regressor: it predicts amounts, not classes"):
        match_favorable_class(model, 1)
    frame.assign(hired=(frame["price"] > 120).astype(int)).to_csv(tmp_path / "hiring.csv", index=False)
    code = main(["audit", "--data", str(tmp_path / "hiring.csv"), "--model", str(root / "price.skops"),
                 "--target", "hired", "--sensitive", "g", "--task", "binary"])
    assert code == 2
    err = capsys.readouterr().err
    assert "regressor" in err and "Traceback" not in err
