"""The Spark engine (local[2], one session for the module) gives the pandas engine's counts and audit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from auditapp.cli.main import main
from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec, Binning
from auditapp.engines.assemble import audit_from_aggregates
from auditapp.engines.pandas_engine import PandasEngine
from auditapp.engines.sources import parse_source
from auditapp.engines.spark_engine import SparkEngine, spark_session
from auditapp.inputs.models import load_model, save_skops
from auditapp.inputs.sandbox import current_mode
from tests.engines.data import (
    assert_same_audit,
    audit_frame,
    fitted_model,
    same_aggregates,
    write_parts,
)

pytestmark = pytest.mark.slow

SPECS = {
    "prediction": AuditSpec(target="y", favorable="yes", sensitive=("sex", "race"), prediction="pred"),
    "score": AuditSpec(target="y", favorable="yes", sensitive=("sex", "race", "age"), score="score",
                       bins={"age": Binning(quantiles=4)}),
}


@pytest.fixture(scope="module")
def spark():
    session = spark_session("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def frame():
    return audit_frame(3000, seed=9)


@pytest.mark.parametrize("name", list(SPECS))
def test_glob_of_parquet_files_gives_the_pandas_counts_and_audit(spark, frame, parts, name):
    spec = SPECS[name]
    expected = PandasEngine(frame).aggregate(spec)
    actual = SparkEngine(parse_source(str(parts / "part-*.parquet"), allow_remote=True), session=spark).aggregate(spec)
    same_aggregates(expected, actual, notices=False)
    assert_same_audit(audit_from_aggregates(expected, spec), audit_from_aggregates(actual, spec))


def test_a_glob_of_csv_files_gives_the_pandas_counts_and_audit(spark, frame, tmp_path):
    """Several CSV files (Spark's reader took a second path as the schema and failed before)."""
    spec = SPECS["prediction"]
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), 3)):
        frame.iloc[rows].to_csv(tmp_path / f"part-{i}.csv", index=False)
    actual = SparkEngine(parse_source(str(tmp_path / "part-*.csv")), session=spark).aggregate(spec)
    expected = PandasEngine(frame).aggregate(spec)
    same_aggregates(expected, actual, notices=False)
    assert_same_audit(audit_from_aggregates(expected, spec), audit_from_aggregates(actual, spec))


@pytest.mark.skipif(not current_mode().strong, reason="needs bubblewrap (see README)")
def test_model_shipped_to_executors_gives_the_pandas_counts(spark, frame, parts, tmp_path):
    save_skops(fitted_model(frame), tmp_path / "model.skops")
    model = load_model(tmp_path / "model.skops")
    spec = AuditSpec(target="y", favorable="yes", sensitive=("sex", "race"))
    actual = SparkEngine(parse_source(str(parts / "part-*.parquet")), session=spark).aggregate(spec, model)
    expected = PandasEngine(frame).aggregate(spec, model)
    same_aggregates(expected, actual, notices=False)
    assert_same_audit(audit_from_aggregates(expected, spec), audit_from_aggregates(actual, spec))


def test_a_column_missing_in_one_file_is_named(spark, frame, tmp_path):
    write_parts(frame, tmp_path, parts=2)
    frame.drop(columns=["score"]).iloc[:10].to_parquet(tmp_path / "part-2.parquet", index=False)
    engine = SparkEngine(parse_source(str(tmp_path / "part-*.parquet")), session=spark)
    with pytest.raises(AuditInputError, match=r"part-2\.parquet has no column 'score'"):
        engine.aggregate(SPECS["score"])


def test_stratified_sample(spark, frame, parts):
    engine = SparkEngine(parse_source(str(parts / "part-*.parquet")), session=spark)
    sample = engine.sample(SPECS["prediction"], size=600, seed=1)
    strata = sample.strata
    assert strata["rows"].sum() == len(frame)
    assert ((strata["sampled"] >= np.minimum(strata["rows"], 50)) & (strata["sampled"] <= strata["rows"])).all()
    assert (sample.frame.merge(frame, how="left", indicator=True)["_merge"] == "both").all()


def test_cli_with_spark_keeps_the_running_session(spark, frame, parts, tmp_path):
    out = tmp_path / "record.json"
    code = main(["audit", "--engine", "spark", "--spark-master", "local[2]", "--data", str(parts / "part-*.parquet"),
                 "--target", "y", "--favorable", "yes", "--sensitive", "sex", "--prediction", "pred",
                 "--json", str(out)])
    assert code == 0
    record = json.loads(out.read_text())
    assert record["settings"]["engine"] == "spark" and record["dataset"]["rows"] == len(frame)
    assert spark.range(3).count() == 3  # the module's session was not stopped by the command
