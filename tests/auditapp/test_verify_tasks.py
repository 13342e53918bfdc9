"""``auditapp verify`` recomputes regression and multiclass records (the task, replicates, seed and policy of the
record) and finds a changed number, a changed prediction and a changed model file."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

from auditapp.cli.main import main
from auditapp.inputs.models import save_skops


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("verify-tasks")
    rng = np.random.default_rng(5)
    n = 700
    g = rng.choice(["a", "b"], n, p=[0.6, 0.4])
    rooms = rng.integers(1, 6, n)
    price = 40 + 25 * rooms + rng.normal(0, 10, n)
    frame = pd.DataFrame({"g": g, "rooms": rooms, "price": price, "pred": price + rng.normal(0, 8, n) - 9 * (g == "b")})
    frame.to_csv(root / "reg.csv", index=False)
    band = rng.choice(["lo", "mid", "hi"], n)
    pd.DataFrame({"g": g, "band": band, "pred": np.where(rng.random(n) < 0.3, "lo", band)}).to_csv(
        root / "mc.csv", index=False)
    save_skops(Ridge().fit(frame[["rooms"]], frame["price"]), root / "ridge.skops")
    save_skops(Ridge(alpha=50.0).fit(frame[["rooms"]], frame["price"]), root / "other.skops")
    return root


def _audit(files, out, *args, status=0):
    assert main(["audit", "--json", str(out), *args]) == status
    return json.loads(out.read_text())


def test_a_regression_record_with_a_policy_verifies_and_a_changed_number_is_found(files, tmp_path, capsys):
    record = _audit(files, tmp_path / "r.json", "--data", str(files / "reg.csv"), "--target", "price",
                    "--prediction", "pred", "--sensitive", "g", "--replicates", "200",
                    "--policy", "regression-mae-ratio", status=1)  # b's errors are 1.5× a's: the policy fails
    assert record["task"] == "regression" and record["verdicts"]["overall"] == "fail"
    capsys.readouterr()
    assert main(["verify", str(tmp_path / "r.json"), "--data", str(files / "reg.csv")]) == 0
    assert "Verified" in capsys.readouterr().out
    group = next(g for g in record["groups"] if g["attributes"] == {"g": "b"})
    group["metrics"]["mean_error"]["value"] += 0.5
    (tmp_path / "changed.json").write_text(json.dumps(record))
    assert main(["verify", str(tmp_path / "changed.json"), "--data", str(files / "reg.csv")]) == 1
    out = capsys.readouterr().out
    assert "does NOT match" in out and "mean_error" in out


def test_a_regression_record_of_a_model_file_finds_another_model(files, tmp_path, capsys):
    _audit(files, tmp_path / "m.json", "--data", str(files / "reg.csv"), "--target", "price",
           "--model", str(files / "ridge.skops"), "--sensitive", "g", "--replicates", "200")
    capsys.readouterr()
    assert main(["verify", str(tmp_path / "m.json"), "--data", str(files / "reg.csv"),
                 "--model", str(files / "ridge.skops")]) == 0
    assert main(["verify", str(tmp_path / "m.json"), "--data", str(files / "reg.csv"),
                 "--model", str(files / "other.skops")]) == 1
    assert "The model is not the one recorded" in capsys.readouterr().out


def test_a_multiclass_record_verifies_and_a_changed_prediction_is_found(files, tmp_path, capsys):
    _audit(files, tmp_path / "c.json", "--data", str(files / "mc.csv"), "--target", "band", "--prediction", "pred",
           "--sensitive", "g")
    capsys.readouterr()
    assert main(["verify", str(tmp_path / "c.json"), "--data", str(files / "mc.csv")]) == 0
    frame = pd.read_csv(files / "mc.csv")
    frame.loc[0, "pred"] = "hi" if frame.loc[0, "pred"] != "hi" else "lo"
    frame.to_csv(tmp_path / "mc-changed.csv", index=False)
    assert main(["verify", str(tmp_path / "c.json"), "--data", str(tmp_path / "mc-changed.csv")]) == 1
    out = capsys.readouterr().out
    assert "The dataset is not the one recorded" in out and "class_rate" in out


def test_a_signed_regression_record_verifies_and_an_edit_breaks_its_signature(files, tmp_path, capsys):
    assert main(["keygen", str(tmp_path / "key.pem")]) == 0
    public = tmp_path / "key.pem.pub"
    record = _audit(files, tmp_path / "s.json", "--data", str(files / "reg.csv"), "--target", "price",
                    "--prediction", "pred", "--sensitive", "g", "--replicates", "200", "--sign", str(tmp_path / "key.pem"))
    assert record["task"] == "regression" and "signature" in record
    capsys.readouterr()
    assert main(["verify", str(tmp_path / "s.json"), "--data", str(files / "reg.csv"),
                 "--public-key", str(public)]) == 0
    record["settings"]["seed"] = 1  # an edit after signing, even one that recomputes differently
    (tmp_path / "edited.json").write_text(json.dumps(record))
    assert main(["verify", str(tmp_path / "edited.json"), "--data", str(files / "reg.csv"),
                 "--public-key", str(public)]) == 1
    assert "signature" in capsys.readouterr().out.lower()
