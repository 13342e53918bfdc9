"""Exit codes of the policy gate: 0 pass, 1 fail, 3 inconclusive, 2 bad input.

The gate is tested directly (``auditapp.reporting.gate.gate``) and through ``auditapp audit --policy ...
--report ... --json ...`` on the command line.
"""

import json

import pandas as pd
import pytest

from auditapp.cli.main import main
from auditapp.core.audit import run_audit
from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec
from auditapp.policy.criteria import load_policy
from auditapp.reporting.gate import gate

# per group: (tn, fp, fn, tp); four-fifths ratio of selection rates b / a
CASES = {
    "pass": ({"a": (500, 500, 500, 500), "b": (500, 500, 500, 500)}, 0),            # 1.0, tight CI
    "fail": ({"a": (50, 50, 50, 50), "b": (80, 20, 80, 20)}, 1),                     # 0.4
    "inconclusive": ({"a": (25, 25, 25, 25), "b": (30, 20, 30, 20)}, 3),              # 0.8 ± noise
}


def _frame(groups) -> pd.DataFrame:
    rows = []
    for label, cells in groups.items():
        for (truth, pred), k in zip(((0, 0), (0, 1), (1, 0), (1, 1)), cells, strict=True):
            rows += [(label, truth, pred)] * k
    return pd.DataFrame(rows, columns=["group", "hired", "pred"])


def _info(frame):
    return {"name": "data.csv", "sha256": "0" * 64, "rows": len(frame), "columns": list(frame.columns)}


@pytest.mark.parametrize("case", CASES)
def test_gate_returns_the_exit_code_of_the_verdict_and_writes_both_files(case, tmp_path):
    groups, expected = CASES[case]
    frame = _frame(groups)
    audit = run_audit(frame, AuditSpec(target="hired", sensitive=("group",), prediction="pred", n_boot=300))
    report, record = tmp_path / "r.html", tmp_path / "r.json"
    code = gate(audit, load_policy("four-fifths"), dataset_info=_info(frame), model_info=None,
                report_path=str(report), json_path=str(record))
    assert code == expected
    saved = json.loads(record.read_text(encoding="utf-8"))
    assert saved["verdicts"]["overall"] == case and saved["policy"]["name"] == "four-fifths"
    assert "overall-verdict" in report.read_text(encoding="utf-8")


def test_gate_without_policy_exits_0_and_records_no_verdicts(tmp_path):
    frame = _frame(CASES["fail"][0])
    audit = run_audit(frame, AuditSpec(target="hired", sensitive=("group",), prediction="pred", n_boot=0))
    record = tmp_path / "r.json"
    assert gate(audit, None, dataset_info=_info(frame), model_info=None, json_path=str(record)) == 0
    assert json.loads(record.read_text(encoding="utf-8"))["verdicts"] is None


def test_an_unknown_policy_is_bad_input():
    with pytest.raises(AuditInputError, match="neither a preset policy"):
        load_policy("five-sixths")


def _cli(tmp_path, case, *extra):
    data = tmp_path / "data.csv"
    _frame(CASES[case][0]).to_csv(data, index=False)
    return main(["audit", "--data", str(data), "--target", "hired", "--sensitive", "group",
                 "--prediction", "pred", "--bootstrap", "300", *extra])


@pytest.mark.parametrize("case", CASES)
def test_cli_exit_codes_for_pass_fail_and_inconclusive(case, tmp_path, capsys):
    report, record = tmp_path / "out.html", tmp_path / "out.json"
    code = _cli(tmp_path, case, "--policy", "four-fifths", "--report", str(report), "--json", str(record))
    assert code == CASES[case][1]
    assert report.is_file() and json.loads(record.read_text(encoding="utf-8"))["verdicts"]["overall"] == case
    capsys.readouterr()


def test_cli_reads_a_policy_file(tmp_path, capsys):
    policy = tmp_path / "gate.yaml"
    policy.write_text("name: gate\ncriteria:\n  - metric: selection_rate\n    measure: ratio\n"
                      "    scope: vs_best\n    at_least: 0.2\n", encoding="utf-8")
    assert _cli(tmp_path, "fail", "--policy", str(policy)) == 0
    capsys.readouterr()


def test_cli_bad_input_exits_2(tmp_path, capsys):
    assert _cli(tmp_path, "pass", "--policy", "no-such-policy") == 2
    assert "neither a preset policy" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text('{"criteria": [{"metric": "selection_rate", "scope": "all", "at_least": 1}]}',
                      encoding="utf-8")
    assert _cli(tmp_path, "pass", "--policy", str(broken)) == 2
    assert "'scope' is 'all'; allowed values" in capsys.readouterr().err
    data = tmp_path / "data.csv"
    assert main(["audit", "--data", str(data), "--target", "nope", "--sensitive", "group",
                 "--prediction", "pred", "--policy", "four-fifths"]) == 2


def test_cli_exits_3_when_a_required_criterion_cannot_be_evaluated_anywhere(tmp_path, capsys):
    # Issue 13, finding 7: every group is below the criterion's minimum size, so nothing was checked;
    # the gate used to pass (exit 0) on zero evaluated checks.
    policy = tmp_path / "gate.yaml"
    policy.write_text("name: gate\ncriteria:\n  - metric: selection_rate\n    measure: ratio\n"
                      "    scope: vs_best\n    at_least: 0.8\n    min_group_size: 100000\n", encoding="utf-8")
    record = tmp_path / "out.json"
    assert _cli(tmp_path, "pass", "--policy", str(policy), "--json", str(record)) == 3
    out = capsys.readouterr().out
    assert "could not be evaluated for any group" in out
    saved = json.loads(record.read_text(encoding="utf-8"))
    assert saved["verdicts"]["overall"] == "inconclusive"
    assert saved["verdicts"]["unevaluated_required"] == ["selection_rate ratio vs highest group"]


@pytest.mark.parametrize("case", ["fail", "inconclusive"])
def test_the_program_exits_with_the_commands_status_and_all_its_output(case, tmp_path):
    """The installed program ends without the interpreter's teardown: its status, its files and everything
    it printed are there all the same."""
    import subprocess
    import sys

    data, record = tmp_path / "data.csv", tmp_path / "out.json"
    _frame(CASES[case][0]).to_csv(data, index=False)
    done = subprocess.run([sys.executable, "-m", "auditapp.cli", "audit", "--data", str(data), "--target", "hired",
                           "--sensitive", "group", "--prediction", "pred", "--bootstrap", "300", "--policy",
                           "four-fifths", "--json", str(record)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == CASES[case][1], done.stderr
    assert json.loads(record.read_text(encoding="utf-8"))["verdicts"]["overall"] == case
    assert done.stdout.strip() and done.stdout.endswith("\n")  # the table, to its last line
    bad = subprocess.run([sys.executable, "-m", "auditapp.cli", "audit", "--data", str(data), "--target", "nope",
                          "--sensitive", "group", "--prediction", "pred"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert bad.returncode == 2 and "nope" in bad.stderr
