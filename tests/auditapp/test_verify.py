"""``auditapp verify``: an untouched record verifies; one changed cell is detected; bad input exits 2."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from auditapp.cli.commands.verify import compare_records
from auditapp.cli.main import main


def _write_data(path, seed=0, n=600):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    hired = rng.binomial(1, 0.5, n)
    pred = rng.binomial(1, np.where(sex == "F", 0.35, 0.5))
    pd.DataFrame({"sex": sex, "age": rng.integers(18, 70, n), "hired": hired, "pred": pred}).to_csv(
        path, index=False)


@pytest.fixture()
def recorded(tmp_path, capsys):
    data, record = tmp_path / "data.csv", tmp_path / "record.json"
    _write_data(data)
    code = main(["audit", "--data", str(data), "--target", "hired", "--sensitive", "sex",
                 "--prediction", "pred", "--bootstrap", "50", "--json", str(record)])
    assert code == 0
    capsys.readouterr()
    return data, record


def test_untouched_record_verifies(recorded, capsys):
    data, record = recorded
    assert main(["verify", str(record), "--data", str(data)]) == 0
    assert "Verified" in capsys.readouterr().out


def test_one_changed_prediction_is_detected_by_hash_and_by_result(recorded, capsys):
    data, record = recorded
    frame = pd.read_csv(data)
    frame.loc[0, "pred"] = 1 - frame.loc[0, "pred"]
    frame.to_csv(data, index=False)
    assert main(["verify", str(record), "--data", str(data)]) == 1
    out = capsys.readouterr().out
    assert "The dataset is not the one recorded: sha256" in out
    assert re.search(r"groups\[sex=[FM]\]\.confusion\.(tp|fp|tn|fn): record \d+, recomputed \d+", out)


def test_a_changed_cell_outside_the_audit_is_still_detected_by_hash(recorded, capsys):
    data, record = recorded
    frame = pd.read_csv(data)
    frame.loc[3, "age"] = 99
    frame.to_csv(data, index=False)
    assert main(["verify", str(record), "--data", str(data)]) == 1
    out = capsys.readouterr().out
    assert "The record does NOT match: 1 difference(s)." in out
    assert "The dataset is not the one recorded" in out


def test_a_record_with_a_policy_verifies_its_verdicts_too(tmp_path, capsys):
    from auditapp.cli.commands.audit import dataset_info
    from auditapp.core.audit import run_audit
    from auditapp.core.spec import AuditSpec
    from auditapp.inputs.intake import read_table
    from auditapp.policy.criteria import preset
    from auditapp.reporting.gate import gate

    data, record = tmp_path / "data.csv", tmp_path / "record.json"
    _write_data(data)
    dataset = read_table(str(data))
    audit = run_audit(dataset.frame, AuditSpec(target="hired", sensitive=("sex",), prediction="pred",
                                               n_boot=50))
    gate(audit, preset("strict"), dataset_info=dataset_info(dataset), model_info=None, json_path=str(record))
    saved = json.loads(record.read_text(encoding="utf-8"))
    assert saved["policy"]["name"] == "strict" and saved["verdicts"]["verdicts"]
    assert main(["verify", str(record), "--data", str(data)]) == 0
    saved["verdicts"]["overall"] = "pass" if saved["verdicts"]["overall"] != "pass" else "fail"
    record.write_text(json.dumps(saved), encoding="utf-8")
    assert main(["verify", str(record), "--data", str(data)]) == 1
    assert "verdicts.overall: record" in capsys.readouterr().out


def test_bad_records_exit_2_with_a_message(tmp_path, recorded, capsys):
    data, record = recorded
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert main(["verify", str(broken), "--data", str(data)]) == 2
    assert "is not valid JSON" in capsys.readouterr().err
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"schema": "something/1"}), encoding="utf-8")
    assert main(["verify", str(other), "--data", str(data)]) == 2
    assert "is not an audit record: its schema is 'something/1'" in capsys.readouterr().err
    saved = json.loads(record.read_text(encoding="utf-8"))
    saved["model"] = {"name": "m.skops", "sha256": "ab", "format": "skops"}
    record.write_text(json.dumps(saved), encoding="utf-8")
    assert main(["verify", str(record), "--data", str(data)]) == 2
    assert "Pass the model file with --model" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "missing.json"), "--data", str(data)]) == 2


def test_compare_records_is_exact_for_counts_and_within_1e_9_for_rates():
    base = {"groups": [{"attributes": {"sex": "F"}, "count": 10, "metrics": {"x": {"value": 0.5}}}]}
    assert compare_records(base, json.loads(json.dumps(base))) == []
    near = json.loads(json.dumps(base))
    near["groups"][0]["metrics"]["x"]["value"] = 0.5 + 1e-10
    assert compare_records(base, near) == []
    far = json.loads(json.dumps(base))
    far["groups"][0]["metrics"]["x"]["value"] = 0.5 + 1e-8
    far["groups"][0]["count"] = 11
    assert compare_records(base, far) == [
        "groups[sex=F].count: record 10, recomputed 11",
        f"groups[sex=F].metrics.x.value: record 0.5, recomputed {0.5 + 1e-8!r}",
    ]


def test_compare_records_ignores_timestamp_versions_and_file_names():
    a = {"timestamp": "1", "versions": {"numpy": "1"}, "dataset": {"name": "a.csv", "sha256": "s"}}
    b = {"timestamp": "2", "versions": {"numpy": "2"}, "dataset": {"name": "b.csv", "sha256": "s"}}
    assert compare_records(a, b) == []
    assert compare_records({"x": None, "y": [1]}, {"x": 0, "y": [1, 2]}) == [
        "x: record None, recomputed 0", "y: the record has 1 entries, the recomputation 2"]



def test_a_record_made_with_a_model_verifies_and_a_different_model_is_detected(tmp_path, capsys):
    from sklearn.linear_model import LogisticRegression

    from auditapp.inputs.models import save_skops

    data, record = tmp_path / "data.csv", tmp_path / "record.json"
    _write_data(data)
    frame = pd.read_csv(data)
    first, second = tmp_path / "m1.skops", tmp_path / "m2.skops"
    save_skops(LogisticRegression().fit(frame[["age"]], frame["hired"]), first)
    save_skops(LogisticRegression(C=1e-4).fit(frame[["age"]], 1 - frame["hired"]), second)
    assert main(["audit", "--data", str(data), "--target", "hired", "--sensitive", "sex",
                 "--model", str(first), "--bootstrap", "30", "--json", str(record)]) == 0
    assert main(["verify", str(record), "--data", str(data), "--model", str(first)]) == 0
    assert main(["verify", str(record), "--data", str(data), "--model", str(second)]) == 1
    assert "The model is not the one recorded: sha256" in capsys.readouterr().out
    assert main(["verify", str(record), "--data", str(data)]) == 2


def _as_old_record(record_path, seed=0):
    """The record as auditapp wrote it before issue 13: schema 1, no new fields, other interval numbers."""
    from auditapp.cli.commands.verify import as_schema_1

    rng = np.random.default_rng(seed)
    old = as_schema_1(json.loads(record_path.read_text()))

    def jiggle(item):
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "ci" and value[0] is not None:
                    item[key] = [value[0] - rng.uniform(0, 0.01), value[1] + rng.uniform(0, 0.01)]
                elif key in ("p_value", "q_value") and value is not None:
                    item[key] = min(1.0, value * rng.uniform(0.5, 1.5))
                else:
                    jiggle(value)
        elif isinstance(item, list):
            for value in item:
                jiggle(value)
    jiggle(old)
    for row in old["disparities"]:
        row["test"] = "z"
    record_path.write_text(json.dumps(old))
    return old


def test_a_record_written_before_the_new_intervals_still_verifies(recorded, capsys):
    data, record = recorded
    old = _as_old_record(record)
    assert old["schema"] == "auditapp.audit/1" and "interval_methods" not in old["settings"]
    assert main(["verify", str(record), "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "schema auditapp.audit/1" in out and "Not compared:" in out and "Verified" in out


def test_a_changed_count_in_an_old_record_is_still_detected(recorded, capsys):
    data, record = recorded
    old = _as_old_record(record)
    old["groups"][0]["confusion"]["tp"] += 1
    record.write_text(json.dumps(old))
    assert main(["verify", str(record), "--data", str(data)]) == 1
    assert re.search(r"confusion\.tp: record \d+, recomputed \d+", capsys.readouterr().out)


def test_new_records_name_their_interval_methods(recorded):
    _, record = recorded
    data = json.loads(record.read_text())
    assert data["schema"] == "auditapp.audit/2"
    methods = data["settings"]["interval_methods"]
    assert {"group_rate", "difference", "ratio", "test", "spread", "average_odds_difference", "q_value"} <= set(methods)
    assert "Wilson" in methods["group_rate"] and "Miettinen-Nurminen" in methods["difference"]
    assert data["settings"]["min_denominator"] == 10
    assert any(d["metric"] == "average_odds_difference" for d in data["disparities"])
    assert all("p_value" in c for c in data["criteria"])
