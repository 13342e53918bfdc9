"""Files that upload fine but cannot be audited: a clear message in the app path and in the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression

from auditapp.cli.main import EXIT_BAD_INPUT, main
from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec
from auditapp.service import workspace


def _audit_in_app(upload, store, token, frame, spec, model_bytes=None):
    """Upload as the browser does, then run the audit exactly as the Data & model page does."""
    _, body = upload("dataset", "data.csv", frame.to_csv(index=False).encode())
    state = {"dataset": body["id"], "model": None, "spec": AuditSpec.from_dict(spec).to_dict()}
    if model_bytes is not None:
        _, model = upload("model", "model.skops", model_bytes)
        state["model"] = model["id"]
        state["spec"].pop("prediction", None)
    return workspace.audit_for(store, token, state)


def _cli(tmp_path, capsys, frame, *args):
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    status = main(["audit", "--data", str(path), "--bootstrap", "0", *args])
    return status, capsys.readouterr().err


CASES = {
    "one row": (lambda f: f.head(1), {}, "never occurs in .y."),
    "all-missing target": (lambda f: f.assign(y=np.nan), {}, "y"),
    "three classes": (lambda f: f.assign(y=np.arange(len(f)) % 3), {}, "3 values|three|0 or 1|two values|binary|3 distinct whole numbers.*--task"),
    "50,000 groups": (lambda f: pd.DataFrame({"sex": [f"id{i}" for i in range(50_400)],
                                              "y": np.tile(f["y"], 210), "pred": np.tile(f["pred"], 210)}),
                      {}, "50,400 distinct values.*Bin it"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_unauditable_data_gets_a_clear_message_in_the_app(case, upload, store, token, frame, answers_normally):
    change, spec, message = CASES[case]
    spec = {"target": "y", "favorable": 1, "prediction": "pred", "sensitive": ["sex"], "n_boot": 0,
            "min_group_size": 1, **spec}
    with pytest.raises(AuditInputError, match=message):
        _audit_in_app(upload, store, token, change(frame), spec)
    answers_normally()


@pytest.mark.parametrize("case", list(CASES))
def test_unauditable_data_gets_a_clear_message_in_the_cli(case, tmp_path, capsys, frame):
    change, _, message = CASES[case]
    status, err = _cli(tmp_path, capsys, change(frame), "--target", "y", "--sensitive", "sex",
                       "--prediction", "pred", "--min-group-size", "1")
    assert status == EXIT_BAD_INPUT
    assert err.startswith("auditapp audit: ") and "Traceback" not in err
    assert pd.Series([err]).str.contains(message).all(), err


def test_max_groups_is_configurable(upload, store, token, frame, use_limits):
    use_limits(environ={"AUDITAPP_MAX_GROUPS": "1"})
    spec = {"target": "y", "favorable": 1, "prediction": "pred", "sensitive": ["sex"], "n_boot": 0}
    with pytest.raises(AuditInputError, match=r"2 distinct values; at most 1 groups.*AUDITAPP_MAX_GROUPS"):
        _audit_in_app(upload, store, token, frame, spec)


def test_model_expecting_other_columns_names_them(upload, store, token, frame, tmp_path, capsys):
    model = LogisticRegression().fit(frame[["x", "z"]].rename(columns={"z": "income"}), frame["y"])
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    spec = {"target": "y", "favorable": 1, "sensitive": ["sex"], "n_boot": 0}
    with pytest.raises(AuditInputError, match="income"):
        _audit_in_app(upload, store, token, frame, spec, model_bytes=path.read_bytes())
    status, err = _cli(tmp_path, capsys, frame, "--target", "y", "--sensitive", "sex", "--model", str(path))
    assert status == EXIT_BAD_INPUT and "income" in err


def test_unicode_and_emoji_columns_audit_normally(upload, store, token, frame):
    renamed = frame.rename(columns={"sex": "séx 😀", "y": "résultat ✅"})
    spec = {"target": "résultat ✅", "favorable": 1, "prediction": "pred", "sensitive": ["séx 😀"], "n_boot": 0}
    audit = _audit_in_app(upload, store, token, renamed, spec)
    assert audit.result.groupings[0].name == "séx 😀"
    assert int(audit.result.groupings[0].groups["count"].sum()) == len(frame)
