"""Tests for ``auditapp demo``, driven through ``auditapp.cli.main``."""

from __future__ import annotations

import shlex

import pandas as pd
import pytest
import skops.io

from auditapp.cli.main import main
from auditapp.core.exit_codes import EXIT_BAD_INPUT
from auditapp.core.exit_codes import EXIT_PASS as EXIT_OK
from datasets.hiring import HIRING_FEATURES, demo_parts


def test_demo_hiring_writes_data_and_model_and_prints_the_audit_command(tmp_path, capsys):
    out = tmp_path / "demo dir"
    status = main(["demo", "hiring", "--out", str(out), "--seed", "5", "--rows", "300"])
    printed = capsys.readouterr().out
    assert status == EXIT_OK
    data, model = out / "hiring.csv", out / "hiring_model.skops"
    train, audited = demo_parts(300, seed=5)
    pd.testing.assert_frame_equal(pd.read_csv(data), audited, check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_csv(out / "hiring_train.csv"), train, check_dtype=False)
    loaded = skops.io.load(model, trusted=skops.io.get_untrusted_types(file=model))
    assert tuple(loaded.feature_names_in_) == HIRING_FEATURES
    assert f"Wrote {data}" in printed and f"Wrote {model}" in printed
    command = next(line.strip() for line in printed.splitlines()
                   if line.strip().startswith("auditapp audit"))
    assert shlex.split(command) == [
        "auditapp", "audit", "--data", str(data), "--model", str(model), "--target", "hired",
        "--sensitive", "sex,ethnicity", "--reference", "sex=male",
    ]


def test_demo_defaults_to_5000_rows_and_seed_0(tmp_path, capsys):
    assert main(["demo", "hiring", "--out", str(tmp_path)]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "5,000 rows to audit, seed 0" in printed and "5,000 other rows" in printed
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "hiring.csv"), demo_parts(5000, seed=0)[1],
                                  check_dtype=False)


def test_demo_with_too_few_rows_exits_with_bad_input(tmp_path, capsys):
    assert main(["demo", "hiring", "--out", str(tmp_path / "d"), "--rows", "10"]) == EXIT_BAD_INPUT
    assert "needs at least 100 rows, but n_rows is 10" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_demo_into_a_file_exits_with_bad_input(tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("keep me")
    assert main(["demo", "hiring", "--out", str(target)]) == EXIT_BAD_INPUT
    assert "is a file, not a folder" in capsys.readouterr().err
    assert target.read_text() == "keep me"


def test_demo_rejects_an_unknown_scenario(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "lending", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "invalid choice: 'lending'" in capsys.readouterr().err


def test_demo_model_passes_the_skops_allow_list(tmp_path, capsys):
    from auditapp.inputs.models import load_model

    assert main(["demo", "hiring", "--out", str(tmp_path), "--rows", "300"]) == EXIT_OK
    capsys.readouterr()
    model = load_model(tmp_path / "hiring_model.skops")
    frame = pd.read_csv(tmp_path / "hiring.csv")
    assert model.format == "skops" and model.feature_names == HIRING_FEATURES
    assert set(model.predict(frame)) <= {0, 1} and model.predict(frame).mean() > 0
