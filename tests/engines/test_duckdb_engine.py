"""The DuckDB engine gives the pandas engine's counts, histograms and every number of the audit."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
from pandas.testing import assert_frame_equal

from auditapp.cli.main import main
from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec, Binning
from auditapp.engines.assemble import audit_from_aggregates
from auditapp.engines.duckdb_engine import DuckDBEngine
from auditapp.engines.pandas_engine import PandasEngine
from auditapp.engines.run import audit_source, choose_engine
from auditapp.engines.sources import parse_source
from auditapp.inputs.models import load_model, save_skops
from auditapp.inputs.sandbox import current_mode
from tests.engines.data import (
    assert_same_audit,
    audit_frame,
    fitted_model,
    same_aggregates,
    write_parts,
)

SPECS = {
    "prediction": AuditSpec(target="y", favorable="yes", sensitive=("sex", "race"), prediction="pred",
                            min_group_size=20),
    "prediction 0/1": AuditSpec(target="y", favorable="yes", sensitive=("race",), prediction="flag"),
    "score": AuditSpec(target="y", favorable="yes", sensitive=("sex", "race", "age"), score="score",
                       bins={"age": Binning(quantiles=4)}, reference={"sex": "m"}),
    "score edges": AuditSpec(target="y", favorable="yes", sensitive=("age", "sex"), score="score", threshold=0.3,
                             bins={"age": Binning(edges=(18, 30, 50, 80))}),
}


@pytest.fixture(scope="module")
def frame():
    return audit_frame(6000, seed=5)


@pytest.mark.parametrize("name", list(SPECS))
def test_glob_of_parquet_files_gives_the_pandas_counts_and_audit(frame, parts, name):
    spec = SPECS[name]
    expected = PandasEngine(frame).aggregate(spec)
    engine = DuckDBEngine(parse_source(str(parts / "part-*.parquet")))
    actual = engine.aggregate(spec)
    engine.close()
    same_aggregates(expected, actual)
    assert_same_audit(audit_from_aggregates(expected, spec), audit_from_aggregates(actual, spec))


def test_rates_agree_with_fairlearn(frame, parts):
    spec = SPECS["prediction"]
    audit = audit_source(parse_source(str(parts / "part-*.parquet")), spec, engine="duckdb").audit
    y_true, y_pred = (frame["y"] == "yes").astype(int), (frame["pred"] == "yes").astype(int)
    mf = MetricFrame(metrics={"selection_rate": selection_rate, "true_positive_rate": true_positive_rate,
                              "false_positive_rate": false_positive_rate},
                     y_true=y_true, y_pred=y_pred, sensitive_features=frame["sex"])
    groups = audit.result.grouping("sex").groups
    for metric in ("selection_rate", "true_positive_rate", "false_positive_rate"):
        assert np.allclose(groups[metric].to_numpy(), mf.by_group[metric].to_numpy(), rtol=0, atol=1e-12)


def test_duckdb_table(frame, tmp_path):
    path = tmp_path / "logs.duckdb"
    con = duckdb.connect(str(path))
    con.register("frame_view", frame)
    con.execute("CREATE SCHEMA audit; CREATE TABLE audit.decisions AS SELECT * FROM frame_view")
    con.close()
    spec = SPECS["score"]
    source = parse_source(f"duckdb:{path}?table=audit.decisions")
    assert choose_engine(source) == "duckdb"
    engine = DuckDBEngine(source)
    same_aggregates(PandasEngine(frame).aggregate(spec), engine.aggregate(spec))
    engine.close()
    with pytest.raises(AuditInputError, match="not a table name"):
        parse_source(f"duckdb:{path}?table=decisions;DROP TABLE x")


@pytest.mark.skipif(not current_mode().strong, reason="needs bubblewrap (see README)")
def test_model_batches_through_the_sandbox_give_the_pandas_counts(frame, parts, tmp_path):
    save_skops(fitted_model(frame), tmp_path / "model.skops")
    model = load_model(tmp_path / "model.skops")
    assert model.sandboxed
    spec = AuditSpec(target="y", favorable="yes", sensitive=("sex", "race"))
    seen = []
    engine = DuckDBEngine(parse_source(str(parts / "part-*.parquet")), batch_rows=1500)
    actual = engine.aggregate(spec, model, progress=lambda done, text: seen.append(done))
    engine.close()
    expected = PandasEngine(frame).aggregate(spec, model)
    same_aggregates(expected, actual)
    assert len(seen) >= 4 and seen[-1] == 1.0 and seen == sorted(seen)  # batches of at most 1,500 rows
    assert_same_audit(audit_from_aggregates(expected, spec), audit_from_aggregates(actual, spec))


def test_a_column_missing_in_one_file_is_named(frame, tmp_path):
    write_parts(frame, tmp_path, parts=2)
    frame.drop(columns=["race"]).iloc[:10].to_parquet(tmp_path / "part-2.parquet", index=False)
    engine = DuckDBEngine(parse_source(str(tmp_path / "part-*.parquet")))
    with pytest.raises(AuditInputError, match=r"part-2\.parquet has no column 'race'"):
        engine.aggregate(SPECS["prediction"])
    engine.close()


def test_csv_glob(frame, tmp_path):
    for i, part in enumerate(np.array_split(np.arange(len(frame)), 2)):
        frame.iloc[part].to_csv(tmp_path / f"part-{i}.csv", index=False)
    spec = AuditSpec(target="y", favorable="yes", sensitive=("sex", "race"), score="score")
    engine = DuckDBEngine(parse_source(str(tmp_path / "*.csv")))
    actual = engine.aggregate(spec)
    engine.close()
    read = [pd.read_csv(tmp_path / f"part-{i}.csv") for i in range(2)]
    expected = PandasEngine(pd.concat(read, ignore_index=True)).aggregate(spec)
    assert_frame_equal(expected.cells, actual.cells)


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: f.assign(y=f["y"].where(f.index % 50 > 0)), r"'y' has 120 missing value\(s\)"),
    (lambda f: f.assign(score=f["score"].astype(str).where(f.index != 7, "high")), "not numbers.*'high'"),
    (lambda f: f.assign(score=f["score"] * 3), "outside \\[0, 1\\]"),
    (lambda f: f.assign(y=np.arange(len(f)) % 3), "distinct values"),
])
def test_bad_columns_get_the_pandas_messages(frame, tmp_path, change, message):
    change(frame).to_parquet(tmp_path / "bad.parquet", index=False)
    spec = AuditSpec(target="y", favorable="yes", sensitive=("sex",), score="score")
    engine = DuckDBEngine(parse_source(str(tmp_path / "bad.parquet")))
    with pytest.raises(AuditInputError, match=message):
        engine.aggregate(spec)
    engine.close()


def test_connection_reads_only_the_source(parts, tmp_path):
    (tmp_path / "secret.csv").write_text("a\n1\n")
    engine = DuckDBEngine(parse_source(str(parts / "part-0.parquet")))
    with pytest.raises(duckdb.Error):
        engine.con.sql(f"SELECT * FROM read_csv('{tmp_path / 'secret.csv'}')").fetchall()
    with pytest.raises(duckdb.Error):
        engine.con.execute("SET enable_external_access=true")
    engine.close()
    with pytest.raises(AuditInputError, match="outside the data sources directory"):
        parse_source(str(tmp_path / "secret.csv"), root=str(parts))


def test_stratified_sample(frame, parts):
    spec = SPECS["prediction"]
    engine = DuckDBEngine(parse_source(str(parts / "part-*.parquet")))
    sample = engine.sample(spec, size=1200, seed=3)
    again = engine.sample(spec, size=1200, seed=3)
    engine.close()
    assert_frame_equal(sample.frame, again.frame)  # seeded: the same rows
    assert list(sample.frame.columns) == list(frame.columns)
    strata = sample.strata
    assert strata["rows"].sum() == len(frame)
    assert ((strata["sampled"] >= np.minimum(strata["rows"], 50)) & (strata["sampled"] <= strata["rows"])).all()
    share = strata["sampled"] / strata["rows"]
    big = strata["rows"] > 400
    assert np.allclose(share[big], 1200 / len(frame), atol=0.02)  # each stratum keeps its share
    merged = sample.frame.merge(frame, how="left", indicator=True)
    assert (merged["_merge"] == "both").all()  # rows of the source, unchanged
    assert "stratified by group × outcome" in sample.statement()


def test_cli_audits_a_glob_with_the_duckdb_engine(frame, parts, tmp_path, capsys):
    out = tmp_path / "record.json"
    code = main(["audit", "--data", str(parts / "part-*.parquet"), "--target", "y", "--favorable", "yes",
                 "--sensitive", "sex,race", "--score", "score", "--score-bins", "1000", "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "counted by the duckdb engine" in printed and "exact at multiples of 0.001" in printed
    record = json.loads(out.read_text())
    assert record["settings"]["engine"] == "duckdb" and record["settings"]["score_histograms"]["bins"] == 1000
    assert record["dataset"]["rows"] == len(frame) and record["dataset"]["files"] == 3
    assert len(record["dataset"]["sha256"]) == 64
    code = main(["audit", "--data", str(parts / "none-*.parquet"), "--target", "y", "--sensitive", "sex",
                 "--score", "score"])
    assert code == 2 and "No file matches" in capsys.readouterr().err


def test_verify_recounts_an_engine_record(parts, tmp_path, capsys):
    out = tmp_path / "record.json"
    args = ["--data", str(parts / "part-*.parquet"), "--target", "y", "--favorable", "yes", "--sensitive", "sex,age",
            "--bins", "age=q3", "--score", "score", "--score-bins", "100"]
    assert main(["audit", *args, "--engine", "duckdb", "--json", str(out)]) == 0
    assert main(["verify", str(out), "--data", str(parts / "part-*.parquet")]) == 0
    assert "Verified" in capsys.readouterr().out
    record = json.loads(out.read_text())
    record["groups"][0]["confusion"]["tp"] += 1
    out.write_text(json.dumps(record))
    assert main(["verify", str(out), "--data", str(parts / "part-*.parquet")]) == 1


def test_values_first_seen_late_are_counted(frame, tmp_path, monkeypatch):
    from auditapp.engines import duckdb_engine

    late = frame.assign(race=frame["race"].where(frame.index < 5000, "late arrival"),
                        when=pd.Timestamp("2026-01-01") + pd.to_timedelta(frame.index % 3, unit="D"))
    late.to_parquet(tmp_path / "late.parquet", index=False)
    monkeypatch.setattr(duckdb_engine, "PREFIX_ROWS", 100)  # the distinct-value guard sees 100 rows only
    for sensitive in (("sex", "race"), ("when", "sex")):  # dates take the plain grouped pass
        spec = AuditSpec(target="y", favorable="yes", sensitive=sensitive, score="score")
        engine = DuckDBEngine(parse_source(str(tmp_path / "late.parquet")))
        same_aggregates(PandasEngine(late).aggregate(spec), engine.aggregate(spec))
        engine.close()


def test_missing_scores_and_targets_are_refused(frame, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    spec = AuditSpec(target="y", favorable=1, sensitive=("sex",), score="score")
    y = (frame["y"] == "yes").astype(float).to_numpy()
    score = frame["score"].to_numpy().copy()
    score[7] = np.nan  # a NaN stored as NaN, and a null next to it
    bad_score = pa.array(score, mask=np.arange(len(score)) == 3, from_pandas=False)
    y_nan = y.copy()
    y_nan[9] = np.nan
    cases = ((bad_score, pa.array(y), "'score' has 2 missing"),
             (pa.array(frame["score"].to_numpy()), pa.array(y_nan, from_pandas=False), "'y' has 1 missing"))
    for scores, target, message in cases:
        table = pa.table({"sex": frame["sex"].to_numpy(), "y": target, "score": scores})
        pq.write_table(table, tmp_path / "broken.parquet")
        with pytest.raises(AuditInputError, match=message):
            PandasEngine(table.to_pandas()).aggregate(spec)
        engine = DuckDBEngine(parse_source(str(tmp_path / "broken.parquet")))
        with pytest.raises(AuditInputError, match=message):
            engine.aggregate(spec)
        engine.close()


def test_explain_and_mitigate_read_a_large_source_as_a_stratified_sample(frame, parts):
    from auditapp.cli.commands.audit import load_inputs
    from auditapp.cli.main import build_parser

    args = build_parser().parse_args(["mitigate", "--data", str(parts / "part-*.parquet"), "--target", "y",
                                      "--favorable", "yes", "--sensitive", "sex", "--prediction", "pred",
                                      "--sample", "900", "--json", "out.json"])
    dataset, model = load_inputs(args)
    assert model is None and 900 <= dataset.rows < 1000 and set(dataset.columns) == set(frame.columns)
    assert "stratified by group × outcome" in dataset.notices[0] and len(dataset.sha256) == 64
    args.missing_values = "NA"
    with pytest.raises(AuditInputError, match="--missing-values"):
        load_inputs(args)
