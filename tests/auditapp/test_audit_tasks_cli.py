"""``auditapp audit --task``: regression and multiclass through the command line (record keys, policies,
report, exit codes), and the binary audit unchanged by task detection."""

import json

import numpy as np
import pandas as pd
import pytest

from auditapp.cli.main import main


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("tasks")
    rng = np.random.default_rng(0)
    n = 1500
    g = rng.choice(["a", "b"], n, p=[0.7, 0.3])
    y = rng.gamma(2.0, 50.0, n)
    pd.DataFrame({"g": g, "price": y, "pred": y + rng.normal(0, 10, n) - 12 * (g == "b")}).to_csv(
        root / "reg.csv", index=False)
    band = rng.choice(["lo", "mid", "hi"], n)
    pred = np.where((g == "b") & (rng.random(n) < 0.5), "lo", band)
    pd.DataFrame({"g": g, "band": band, "pred": pred}).to_csv(root / "mc.csv", index=False)
    pd.DataFrame({"g": g, "y": rng.integers(1, 6, n), "p": rng.integers(1, 6, n)}).to_csv(root / "amb.csv", index=False)
    pd.DataFrame({"g": g, "hired": rng.integers(0, 2, n), "p": rng.integers(0, 2, n)}).to_csv(root / "bin.csv",
                                                                                               index=False)
    return root


def test_regression_record_has_the_task_and_the_documented_keys(files, capsys):
    out = files / "reg.json"
    code = main(["audit", "--data", str(files / "reg.csv"), "--target", "price", "--prediction", "pred",
                 "--sensitive", "g", "--json", str(out), "--replicates", "200"])
    assert code == 0
    record = json.loads(out.read_text())
    assert record["task"] == "regression" and record["schema"] == "auditapp.audit/2"
    group = next(g for g in record["groups"] if g["attributes"] == {"g": "b"})
    for key in ("mean_outcome", "mean_prediction", "mean_error", "mean_absolute_error", "root_mean_squared_error",
                "r2"):
        assert set(group["metrics"][key]) == {"value", "ci"} and len(group["metrics"][key]["ci"]) == 2
    assert group["metrics"]["mean_error"]["ci"][1] < 0  # b is under-estimated by 12
    smd = [d for d in record["disparities"] if d["metric"] == "standardized_mean_difference"]
    assert smd and smd[0]["attributes"] == {"g": "b"} and smd[0]["value"]["ci"][0] < smd[0]["value"]["value"]
    assert any(d["metric"] == "ks_distance" for d in record["disparities"])
    assert "Regression audit of 1,500 rows" in capsys.readouterr().out


def test_multiclass_record_keys_and_confusion(files):
    out = files / "mc.json"
    assert main(["audit", "--data", str(files / "mc.csv"), "--target", "band", "--prediction", "pred",
                 "--sensitive", "g", "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["task"] == "multiclass" and record["settings"]["classes"] == ["hi", "lo", "mid"]
    group = next(g for g in record["groups"] if g["attributes"] == {"g": "b"})
    for key in ("accuracy", "class_rate:lo", "tpr:lo", "fpr:lo", "precision:lo", "impact_ratio:hi"):
        assert key in group["metrics"]
    frame = pd.read_csv(files / "mc.csv")
    b = frame[frame["g"] == "b"]
    assert group["metrics"]["class_rate:lo"]["value"] == pytest.approx((b["pred"] == "lo").mean(), abs=1e-12)
    assert np.sum(group["confusion"]["counts"]) == len(b)


@pytest.mark.parametrize(("policy", "expected"), [("regression-smd-0.3", 0), ("regression-mae-ratio", None)])
def test_regression_policy_exit_codes(files, policy, expected, tmp_path):
    report = tmp_path / "r.html"
    code = main(["audit", "--data", str(files / "reg.csv"), "--target", "price", "--prediction", "pred",
                 "--sensitive", "g", "--policy", policy, "--report", str(report), "--replicates", "200"])
    if expected is not None:
        assert code == expected
    else:
        assert code in (1, 3)
    text = report.read_text()
    assert "Task: <b>regression</b>" in text and "standardized" in text.lower() and policy in text


def test_multiclass_four_fifths_per_class_fails_when_one_group_is_pushed_into_a_class(files, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("task: multiclass\ncriteria:\n  - {criterion: min_impact_ratio, at_least: 0.8}\n")
    assert main(["audit", "--data", str(files / "mc.csv"), "--target", "band", "--prediction", "pred",
                 "--sensitive", "g", "--policy", str(policy)]) == 1


def test_ambiguous_target_asks_for_the_task(files, capsys):
    assert main(["audit", "--data", str(files / "amb.csv"), "--target", "y", "--prediction", "p",
                 "--sensitive", "g"]) == 2
    assert "--task multiclass" in capsys.readouterr().err
    assert main(["audit", "--data", str(files / "amb.csv"), "--target", "y", "--prediction", "p",
                 "--sensitive", "g", "--task", "multiclass"]) == 0


def test_bad_task_inputs_are_named(files, capsys):
    assert main(["audit", "--data", str(files / "mc.csv"), "--target", "band", "--prediction", "pred",
                 "--sensitive", "g", "--task", "regression"]) == 2
    assert "numbers in the target 'band'" in capsys.readouterr().err
    assert main(["audit", "--data", str(files / "reg.csv"), "--target", "price", "--prediction", "pred",
                 "--sensitive", "g", "--policy", "four-fifths"]) == 2
    assert "Binary presets" in capsys.readouterr().err


def test_binary_audit_is_the_same_with_auto_and_binary(files, tmp_path):
    outs = []
    for task in ("auto", "binary"):
        out = tmp_path / f"{task}.json"
        assert main(["audit", "--data", str(files / "bin.csv"), "--target", "hired", "--prediction", "p",
                     "--sensitive", "g", "--json", str(out), "--task", task]) == 0
        record = json.loads(out.read_text())
        record.pop("timestamp")
        outs.append(record)
    assert outs[0] == outs[1] and "task" not in outs[0]


def test_a_regression_audit_names_the_feature_that_stands_in_for_the_group(tmp_path, capsys):
    """The listing-price scenario: the neighbourhood stands in for the host's group. The record, the printout
    and the report say so, the candidates are the dataset's other columns (no model was given), and
    ``auditapp verify`` recomputes the proxy scores."""
    import datasets.listing_prices as listing

    data = listing.write(tmp_path)
    out, report = tmp_path / "out.json", tmp_path / "report.html"
    assert main(["audit", "--data", str(data), "--task", "regression", "--target", "price", "--prediction",
                 "predicted_price", "--sensitive", "host_group", "--json", str(out), "--report", str(report),
                 "--replicates", "200"]) == 0
    printed = capsys.readouterr().out
    record = json.loads(out.read_text())
    scores = {p["feature"]: p for p in record["proxies"]}
    assert set(scores) == {"neighbourhood", "bedrooms", "rating", "reviews"}  # not the target or prediction
    assert scores["neighbourhood"]["flagged"] and scores["neighbourhood"]["score"] >= 0.7
    assert not any(p["flagged"] for name, p in scores.items() if name != "neighbourhood")
    assert "neighbourhood for host_group" in printed
    combined = record["proxies_combined"][0]
    assert combined["sentence"].startswith("Together, the dataset's other columns predict")
    html = report.read_text()
    assert 'id="proxies"' in html and "neighbourhood" in html and "flagged" in html
    assert main(["verify", str(out), "--data", str(data)]) == 0


def test_eu_ai_act_evidence_of_a_regression_and_a_multiclass_audit(files):
    """The evidence names each task's own accuracy and impact measures, taken from its record."""
    import html as html_module
    import re

    def evidence(report):
        page = html_module.unescape(re.sub(r"<[^>]+>", " ", report.read_text()))
        start = page.index("EU AI Act evidence (Art. 10")
        return " ".join(page[start:page.index("Audit record", start)].split())

    out, report = files / "reg-eu.json", files / "reg-eu.html"
    assert main(["audit", "--data", str(files / "reg.csv"), "--target", "price", "--prediction", "pred",
                 "--sensitive", "g", "--json", str(out), "--report", str(report), "--replicates", "200",
                 "--eu-ai-act"]) == 0
    record, text = json.loads(out.read_text()), evidence(report)
    b = next(g for g in record["groups"] if g["attributes"] == {"g": "b"})["metrics"]["mean_absolute_error"]
    assert f"g=b: MAE {b['value']:.3f} [{b['ci'][0]:.3f}, {b['ci'][1]:.3f}]" in text
    smd = next(d for d in record["disparities"] if d["metric"] == "standardized_mean_difference")["value"]
    assert f"Cohen's d) vs reference: g=b: {smd['value']:.3f} [{smd['ci'][0]:.3f}, {smd['ci'][1]:.3f}]" in text
    out, report = files / "mc-eu.json", files / "mc-eu.html"
    assert main(["audit", "--data", str(files / "mc.csv"), "--target", "band", "--prediction", "pred",
                 "--sensitive", "g", "--json", str(out), "--report", str(report), "--eu-ai-act"]) == 0
    record, text = json.loads(out.read_text()), evidence(report)
    lo = next(d for d in record["disparities"] if d["metric"] == "class_rate:lo" and d["attributes"] == {"g": "b"})
    assert f"g=b, class lo: ratio {lo['ratio']['value']:.3f}" in text
    accuracy = next(g for g in record["groups"] if g["attributes"] == {"g": "b"})["metrics"]["accuracy"]
    assert f"g=b: accuracy {accuracy['value']:.3f}" in text


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_a_parquet_glob_is_audited_through_duckdb_exactly_as_the_same_rows_in_memory(files, task, capsys):
    """Every row of every file, the columns the audit needs only: the record equals the in-memory one."""
    name, target = ("reg", "price") if task == "regression" else ("mc", "band")
    frame = pd.read_csv(files / f"{name}.csv")
    folder = files / f"{name}-parts"
    folder.mkdir(exist_ok=True)
    for i, part in enumerate(np.array_split(np.arange(len(frame)), 3)):
        frame.iloc[part].assign(extra=1.5).to_parquet(folder / f"part-{i}.parquet", index=False)
    frame.to_csv(files / f"{name}-all.csv", index=False)
    common = ["--target", target, "--prediction", "pred", "--sensitive", "g", "--task", task, "--replicates", "200"]
    engine, memory = files / f"{name}-duckdb.json", files / f"{name}-memory.json"
    assert main(["audit", "--data", str(folder / "*.parquet"), "--engine", "duckdb", *common,
                 "--json", str(engine)]) == 0
    assert "through DuckDB (1,500 rows)" in capsys.readouterr().out
    assert main(["audit", "--data", str(files / f"{name}-all.csv"), *common, "--json", str(memory)]) == 0
    a, b = json.loads(engine.read_text()), json.loads(memory.read_text())
    assert a["task"] == b["task"] == task
    for left, right in zip(a["groups"], b["groups"], strict=True):
        assert left["attributes"] == right["attributes"] and left["count"] == right["count"]
        for metric, value in left["metrics"].items():
            if value["value"] is not None:
                assert value["value"] == pytest.approx(right["metrics"][metric]["value"], rel=1e-12, abs=1e-12)
            if value.get("ci") and value["ci"][0] is not None:
                assert value["ci"] == pytest.approx(right["metrics"][metric]["ci"], rel=1e-9, abs=1e-12)
    assert a["dataset"]["rows"] == 1500 and a["dataset"]["columns"] == ["price" if task == "regression" else "band", "pred", "g"]


@pytest.mark.slow
def test_spark_projects_the_same_rows_in_the_same_order_as_duckdb_so_the_records_are_equal(files, capsys):
    """``--engine spark`` for both tasks: every file of a glob of CSV parts, the record equal to DuckDB's to the
    last digit (the same rows in the same order give the same bootstrap); a missing column names the file."""
    for task, name, target in (("regression", "reg", "price"), ("multiclass", "mc", "band")):
        frame = pd.read_csv(files / f"{name}.csv")
        folder = files / f"{name}-csv-parts"
        folder.mkdir(exist_ok=True)
        # Parts of unequal size (Spark's scan would take the largest first) and an extra column never read.
        for i, part in enumerate(np.split(np.arange(len(frame)), [200, 1100])):
            frame.iloc[part].assign(extra="x").to_csv(folder / f"part-{i}.csv", index=False)
        common = ["--data", str(folder / "*.csv"), "--target", target, "--prediction", "pred", "--sensitive", "g",
                  "--task", task, "--replicates", "200"]
        spark, duckdb = files / f"{name}-spark.json", files / f"{name}-duck.json"
        assert main(["audit", *common, "--engine", "spark", "--spark-master", "local[1]", "--json", str(spark)]) == 0
        assert "through Spark (1,500 rows)" in capsys.readouterr().out
        assert main(["audit", *common, "--engine", "duckdb", "--json", str(duckdb)]) == 0
        a, b = json.loads(spark.read_text()), json.loads(duckdb.read_text())
        assert a["task"] == task and a["groups"] == b["groups"] and a["disparities"] == b["disparities"]
    (folder / "part-3.csv").write_text("band,g\nlo,a\n")  # a part without the prediction column
    assert main(["audit", *common, "--engine", "spark", "--spark-master", "local[1]"]) == 2
    error = capsys.readouterr().err
    assert "part-3.csv" in error and "pred" in error


def test_a_source_beyond_the_row_limit_is_refused_with_what_to_do(files, monkeypatch, capsys):
    folder = files / "limit-parts"
    folder.mkdir(exist_ok=True)
    pd.read_csv(files / "reg.csv").to_parquet(folder / "part-0.parquet", index=False)
    monkeypatch.setenv("AUDITAPP_MAX_ROWS", "1000")  # the CLI reads its limits from its environment
    assert main(["audit", "--data", str(folder / "*.parquet"), "--engine", "duckdb", "--target", "price",
                 "--prediction", "pred", "--sensitive", "g", "--task", "regression"]) == 2
    assert "1,500 rows. A regression audit reads its 3 columns (price, pred, g)" in capsys.readouterr().err
