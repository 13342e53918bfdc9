"""``auditapp simulate`` on the command line."""

import json

import numpy as np
import pandas as pd
import pytest

from auditapp.cli.main import main
from tests.auditapp.fico_tables import write_fico_tables


def test_policing_writes_the_documented_json(tmp_path, capsys):
    out = tmp_path / "policing.json"
    status = main(["simulate", "policing", "--rates", "3.69,2.82", "--steps", "200", "--runs", "5",
                   "--corrected", "--seed", "3", "--json", str(out)])
    assert status == 0
    payload = json.loads(out.read_text())
    assert payload["schema"] == "auditapp.simulate/1" and payload["scenario"] == "policing"
    assert payload["true_share"] == pytest.approx([3.69 / 6.51, 2.82 / 6.51])
    assert len(payload["share"]) == 200 and np.allclose(np.sum(payload["share"], axis=1), 1.0)
    assert payload["seed"] == 3 and payload["params"]["corrected"] is True
    assert "Region A" in capsys.readouterr().out


def test_lending_reads_fico_tables_and_writes_groups(tmp_path):
    write_fico_tables(tmp_path)
    out, figure = tmp_path / "lending.json", tmp_path / "lending.html"
    status = main(["simulate", "lending", "--fico", str(tmp_path), "--policy", "equal_opportunity",
                   "--repay-change", "60", "--default-change", "-120", "--json", str(out),
                   "--figure", str(figure)])
    assert status == 0
    payload = json.loads(out.read_text())
    assert [g["group"] for g in payload["groups"]] == ["White", "Black", "Hispanic", "Asian"]
    tprs = [g["true_positive_rate"] for g in payload["groups"]]
    assert np.ptp(tprs) < 1e-9
    assert payload["params"]["repay_change"] == 60
    assert "<html>" in figure.read_text()[:1000].lower()


def test_bad_input_exits_with_status_2_and_a_message(tmp_path, capsys):
    assert main(["simulate", "policing", "--rates", "3,-1"]) == 2
    assert "cannot be negative" in capsys.readouterr().err
    assert main(["simulate", "lending", "--fico", str(tmp_path)]) == 2
    assert "is missing" in capsys.readouterr().err


def test_model_loop_reads_a_csv_and_writes_rounds(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "group": rng.choice(["A", "B"], 300)})
    frame["hired"] = (frame["x"] + rng.normal(size=300) > 0).astype(int)
    data, out = tmp_path / "people.csv", tmp_path / "loop.json"
    frame.to_csv(data, index=False)
    status = main(["simulate", "model-loop", "--data", str(data), "--target", "hired",
                   "--sensitive", "group", "--rounds", "3", "--pool-size", "50",
                   "--exploration", "0.1", "--json", str(out)])
    assert status == 0
    payload = json.loads(out.read_text())
    assert payload["scenario"] == "model-loop"
    assert [r["round"] for r in payload["rounds"]] == [1, 2, 3]
    assert set(payload["rounds"][0]["loop"]) == {"A", "B"}
    assert set(payload["rounds"][0]["counterfactual"]["B"]) == {"selection_rate", "true_positive_rate"}
    assert payload["params"]["feature_columns"] == ["x"]


def test_model_loop_retrains_a_skops_model(tmp_path):
    from sklearn.linear_model import LogisticRegression

    from auditapp.inputs.models import save_skops

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=300), "group": rng.choice(["A", "B"], 300)})
    frame["hired"] = (frame["x"] + rng.normal(size=300) > 0).astype(int)
    frame.to_csv(tmp_path / "people.csv", index=False)
    save_skops(LogisticRegression().fit(frame[["x"]], frame["hired"]), tmp_path / "model.skops")
    out = tmp_path / "loop.json"
    status = main(["simulate", "model-loop", "--data", str(tmp_path / "people.csv"), "--model",
                   str(tmp_path / "model.skops"), "--target", "hired", "--sensitive", "group",
                   "--rounds", "2", "--pool-size", "40", "--json", str(out)])
    assert status == 0
    payload = json.loads(out.read_text())
    assert payload["learner"] == "the given model"
    assert payload["params"]["estimator"] == "LogisticRegression"


def test_model_loop_replaces_an_onnx_model_with_the_stated_default_learner(tmp_path, capsys):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": rng.normal(size=200), "group": rng.choice(["A", "B"], 200)})
    frame["hired"] = (frame["x"] + rng.normal(size=200) > 0).astype(int)
    frame.to_csv(tmp_path / "people.csv", index=False)
    model = LogisticRegression().fit(frame[["x"]], frame["hired"])
    onnx = convert_sklearn(model, initial_types=[("x", FloatTensorType([None, 1]))],
                           options={id(model): {"zipmap": False}})
    (tmp_path / "model.onnx").write_bytes(onnx.SerializeToString())
    out = tmp_path / "loop.json"
    status = main(["simulate", "model-loop", "--data", str(tmp_path / "people.csv"), "--model",
                   str(tmp_path / "model.onnx"), "--target", "hired", "--sensitive", "group",
                   "--rounds", "2", "--pool-size", "40", "--json", str(out)])
    assert status == 0
    payload = json.loads(out.read_text())
    assert payload["learner"].startswith("logistic regression")
    assert payload["narrative"][0].startswith("model.onnx cannot be retrained")
    assert payload["params"]["feature_columns"] == ["x"]


def test_lending_download_uses_the_verified_fico_loader(tmp_path, monkeypatch):
    """`--fico download` goes through the checksum-verified loader (here: a local copy it verifies)."""
    from dataclasses import replace

    import datasets.public as public
    from auditapp.inputs.intake import sha256_file

    folder = tmp_path / "fico"
    folder.mkdir()
    write_fico_tables(folder)
    monkeypatch.setattr(public, "FICO_FILES", tuple(
        replace(f, sha256=sha256_file(folder / f.filename)) for f in public.FICO_FILES))
    monkeypatch.setenv("AUDITAPP_FICO_DIR", str(folder))
    out = tmp_path / "lending.json"
    assert main(["simulate", "lending", "--fico", "download", "--json", str(out)]) == 0
    assert [g["group"] for g in json.loads(out.read_text())["groups"]] == ["White", "Black", "Hispanic", "Asian"]
    (folder / "totals.csv").write_text("Kind,White\nSSA,1\n")
    assert main(["simulate", "lending", "--fico", "download", "--json", str(out)]) == 2
