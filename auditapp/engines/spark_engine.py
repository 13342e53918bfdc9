"""The Spark engine: the same passes as DuckDB's, as Spark jobs, for data on a cluster.

``--spark-master`` takes any Spark master (``local[*]``, ``spark://host:7077``, ``yarn``, ``k8s://...``)
or a Spark Connect URL (``sc://host:15002``). Only grouped counts come back to the driver.

With a model, the file is shipped to the executors (``SparkContext.addFile``; Spark Connect:
``addArtifacts``) and every partition's Arrow batches go through it in ``mapInPandas``
(``engines.spark_model``); see that module for what is guaranteed on executors.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.core.limits import runtime
from auditapp.core.spec import AuditSpec, _labels, resolved_edges
from auditapp.engines.base import Aggregates, Progress, StratifiedSample, allocate
from auditapp.engines.batches import RAW_KEYS, alias, sensitive_aliases
from auditapp.engines.finish import finish, labels_of
from auditapp.engines.histograms import DEFAULT_BINS
from auditapp.engines.plan import (
    ColumnStats,
    Plan,
    check_stats,
    exact_quantiles,
    make_plan,
    needed_stats,
)
from auditapp.engines.sources import Source, check_file_columns, parquet_columns

_OUR_ERROR = re.compile(r"auditapp\.errors\.\w+: (.+)")


def spark_session(master: str) -> Any:
    """A Spark session for ``master`` (a Spark Connect session for ``sc://`` URLs)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise AuditInputError("The Spark engine needs PySpark: pip install pyspark==4.3.0 (and Java 17).") from exc
    builder = SparkSession.builder.appName("auditapp")
    if master.startswith("sc://"):
        try:
            return builder.remote(master).getOrCreate()
        except ImportError as exc:
            raise AuditInputError("Spark Connect needs its client libraries: pip install 'pyspark[connect]==4.3.0'.") \
                from exc
    if master.startswith("local"):
        # Local executors are Python workers on this machine: the same interpreter as the driver.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    session = (builder.master(master).config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", str(runtime().spark_partitions))
               .config("spark.sql.execution.arrow.maxRecordsPerBatch", "100000").getOrCreate())
    session.sparkContext.setLogLevel(runtime().spark_log_level)
    return session


def spark_error(exc: BaseException, where: str) -> AuditInputError:
    """A Spark failure as a user-facing error: auditapp's own message when an executor raised one."""
    found = _OUR_ERROR.findall(str(exc))
    if found:
        return AuditInputError(found[-1].strip())
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return AuditInputError(f"{where}: Spark could not compute the audit ({first[:500]}).")


class SparkEngine:
    """The contract over a :class:`~auditapp.engines.sources.Source`, computed by Spark."""

    name = "spark"

    def __init__(self, source: Source, *, master: str = "local[*]", session: Any = None) -> None:
        if source.kind != "files":
            raise AuditInputError(f"{source.name}: the Spark engine reads Parquet or CSV files; use --engine duckdb "
                                  "for a DuckDB table.")
        self.source = source
        if session is None:
            from pyspark.sql import SparkSession

            # A session this engine starts is stopped with it; one that was already running is left running.
            self.owns_session = SparkSession.getActiveSession() is None
            session = spark_session(master)
        else:
            self.owns_session = False
        self.spark = session
        reader = self.spark.read
        try:
            if source.format == "parquet":
                self.df = reader.option("mergeSchema", "true").parquet(*source.paths)
            else:
                self.df = reader.option("header", "true").option("inferSchema", "true").csv(list(source.paths))
        except Exception as exc:  # a Py4J or analysis error: the files cannot be read as said
            raise spark_error(exc, source.name) from exc

    def columns(self) -> list[str]:
        return [str(c) for c in self.df.columns]

    def count_rows(self) -> int:
        try:
            return int(self.df.count())
        except Exception as exc:  # a Spark job failure
            raise spark_error(exc, self.source.name) from exc

    def check_columns(self, needed: list[str]) -> None:
        """Every file has every needed column; the error names the file and the column."""
        by_file = {}
        files = self.df.inputFiles() if self.source.remote else list(self.source.paths)
        for path in files:
            if self.source.remote or self.source.format == "csv":
                reader = self.spark.read.option("header", "true")
                by_file[path] = list((reader.parquet(path) if self.source.format == "parquet" else reader.csv(path)).columns)
            else:
                by_file[path] = parquet_columns(path)
        check_file_columns(self.source, by_file, needed)

    def _collect(self, frame: Any) -> pd.DataFrame:
        try:
            return frame.toArrow().to_pandas()
        except Exception as exc:  # Spark job failures arrive as Py4J/Spark exceptions
            raise spark_error(exc, self.source.name) from exc

    def _number(self, name: str) -> Any:
        from pyspark.sql import functions as F

        return F.col(f"`{name}`").try_cast("double")

    def _missing(self, name: str, numeric: bool) -> Any:
        from pyspark.sql import functions as F
        from pyspark.sql.types import DoubleType, FloatType

        column = F.col(f"`{name}`")
        if numeric:
            return column.isNull() | F.isnan(self._number(name))
        if isinstance(self.df.schema[name].dataType, DoubleType | FloatType):
            return column.isNull() | F.isnan(column)
        return column.isNull()

    def stats(self, spec: AuditSpec) -> ColumnStats:
        from pyspark.sql import functions as F

        need = needed_stats(spec)
        parts, keys = [F.count(F.lit(1))], []
        for name in need["missing"]:
            parts.append(F.count(F.when(self._missing(name, name in need["numeric"]), 1)))
            keys.append(("missing", name))
        for name in need["numeric"]:
            number, column = self._number(name), F.col(f"`{name}`")
            bad, ok = column.isNotNull() & number.isNull(), number.isNotNull() & ~F.isnan(number)
            parts += [F.count(F.when(bad, 1)), F.first(F.when(bad, column.cast("string")), ignorenulls=True),
                      F.min(F.when(ok, number)), F.max(F.when(ok, number))]
            keys += [("not_numeric", name), ("example", name), ("low", name), ("high", name)]
        for name in need["distinct"]:
            parts.append(F.approx_count_distinct(F.col(f"`{name}`")))
            keys.append(("distinct", name))
        row = self._collect(self.df.agg(*parts)).iloc[0].tolist()
        out: dict[str, dict[str, Any]] = {"missing": {}, "not_numeric": {}, "example": {}, "low": {}, "high": {}, "distinct": {}}
        for (kind, name), value in zip(keys, row[1:], strict=True):
            if kind == "example":
                out[kind][name] = value
            elif kind in ("low", "high"):
                out[kind][name] = float("nan") if value is None or pd.isna(value) else float(value)
            else:
                out[kind][name] = int(value)
        return ColumnStats(rows=int(row[0]), **out)

    def plan(self, spec: AuditSpec, *, bins: int, has_model: bool) -> Plan:
        from pyspark.sql import functions as F

        self.check_columns([spec.target, *spec.sensitive, *(c for c in (spec.prediction, spec.score) if c)])
        stats = self.stats(spec)
        check_stats(spec, stats, where=self.source.name)
        edges = {}
        for name, binning in spec.bins.items():
            if binning.quantiles:
                values = self.df.select(self._number(name).alias("v")).where(
                    F.col("v").isNotNull() & ~F.isnan("v")).groupBy("v").count().orderBy("v")
                counts = self._collect(values)
                edges[name] = exact_quantiles(counts["v"].to_numpy(), counts["count"].to_numpy(),
                                              binning.quantiles, name)
            else:
                edges[name] = resolved_edges(pd.Series(dtype=float), name, binning)
        return make_plan(spec, stats, edges, bins=bins, has_model=has_model)

    def _keyed(self, plan: Plan) -> list[Any]:
        """The source with the aliased sensitive columns (raw values or bin indexes) and target."""
        from pyspark.sql import functions as F

        columns = []
        for name, name_alias in zip(plan.spec.sensitive, sensitive_aliases(plan), strict=True):
            if name in plan.edges:
                v = self._number(name)
                index = F.lit(0)
                for edge in plan.edges[name][1:-1]:
                    index = index + (v >= F.lit(float(edge))).cast("int")
                columns.append(F.when(v.isNull() | F.isnan(v), F.lit(-1)).otherwise(index).alias(name_alias))
            else:
                columns.append(F.col(f"`{name}`").alias(name_alias))
        return columns + [F.col(f"`{plan.spec.target}`").alias(alias("t"))]

    def aggregate(self, spec: AuditSpec, model: Any = None, *, bins: int = DEFAULT_BINS,
                  progress: Progress | None = None) -> Aggregates:
        from pyspark.sql import functions as F

        if model is not None:
            self.check_columns(list(model.feature_names))
        plan = self.plan(spec, bins=bins, has_model=model is not None)
        keyed = self._keyed(plan)
        names = [*sensitive_aliases(plan), alias("t")]
        if progress is not None:
            progress(0.1, "Counting rows by group with Spark")
        if model is not None:
            from auditapp.engines.spark_model import through_model

            grouped = through_model(self, plan, model, keyed)
        elif plan.source == "prediction":
            grouped = self.df.select(*keyed, F.col(f"`{spec.prediction}`").alias(alias("p"))).groupBy(
                *names, alias("p")).agg(F.count(F.lit(1)).alias("n"))
        else:
            grouped = self._score_groups(plan, keyed, names)
        raw = self._collect(grouped)
        raw.columns = [c[len(alias("")):] if c.startswith(alias("")) else c for c in raw.columns]
        has_scores = plan.grid is not None and "b" in raw.columns and bool((raw["b"] >= 0).any())
        return finish(raw, plan, model=model, engine=self.name, has_scores=has_scores)

    def _score_groups(self, plan: Plan, keyed: list[Any], names: list[str]) -> Any:
        from pyspark.sql import functions as F

        score, grid, threshold = plan.scores
        lo, width, top = F.lit(grid.lo), F.lit(grid.width), F.lit(float(grid.bins))
        x = F.col(alias("x"))
        frame = self.df.select(*keyed, self._number(score).alias(alias("x")))
        frame = frame.withColumn("k0", F.least(F.greatest(F.floor((x - lo) / width).cast("double"), F.lit(0.0)), top))
        k0 = F.col("k0")
        frame = frame.withColumn("k1", F.when((k0 > 0) & (x < lo + k0 * width), k0 - 1).otherwise(k0))
        k1 = F.col("k1")
        frame = frame.withColumn("k", F.when((k1 < top) & (x >= lo + (k1 + 1) * width), k1 + 1).otherwise(k1))
        frame = frame.select(*names, (x >= F.lit(threshold)).cast("long").alias(alias("d")),
                             F.col("k").cast("long").alias(alias("b")), x)
        return frame.groupBy(*names, alias("d"), alias("b")).agg(F.count(F.lit(1)).alias("n"), F.sum(x).alias("ssum"))

    def sample(self, spec: AuditSpec, *, size: int, seed: int, columns: list[str] | None = None) -> StratifiedSample:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        plan = self.plan(spec, bins=DEFAULT_BINS, has_model=True)
        keyed, names = self._keyed(plan), [*sensitive_aliases(plan), alias("t")]
        strata = self._collect(self.df.select(*keyed).groupBy(*names).agg(F.count(F.lit(1)).alias("n")))
        short = strata.rename(columns={n: n[len(alias("")):] for n in names})
        labels = labels_of(short, plan)
        labels["outcome"] = _labels(short["t"].rename(spec.target).to_frame(), spec)
        codes, uniques = pd.MultiIndex.from_frame(labels.astype(str)).factorize(sort=True)
        rows = pd.Series(strata["n"].to_numpy()).groupby(codes).sum().reindex(range(len(uniques)), fill_value=0)
        take = allocate(rows.to_numpy(), size)
        share = (take * 1.25 + 20) / rows.to_numpy().clip(min=1)
        # xxhash64 is signed: keep a row when its hash is below the stratum's share of the range.
        limits = [min(int(s * 2**64), 2**64 - 1) - 2**63 for s in share[codes]]
        table = strata[names].assign(stratum=codes.astype("int64"), lim=limits, take=take[codes].astype("int64"))
        small = F.broadcast(self.spark.createDataFrame(table))
        wanted = columns or self.columns()
        h = F.xxhash64(*[F.col(f"`{c}`") for c in self.columns()], F.lit(int(seed)))
        left = self.df.select("*", *keyed).withColumn("__h", h)
        condition = [left[n].eqNullSafe(small[n]) for n in names]
        joined = left.join(small, condition).where(F.col("__h") <= F.col("lim"))
        ranked = joined.withColumn("__r", F.row_number().over(Window.partitionBy("stratum").orderBy("__h")))
        picked = ranked.where(F.col("__r") <= F.col("take")).select(*[left[f"`{c}`"] for c in wanted], "stratum", "__h")
        frame = self._collect(picked).sort_values(["stratum", "__h"], kind="stable")
        got = frame["stratum"].value_counts().reindex(range(len(uniques)), fill_value=0).to_numpy()
        summary = pd.DataFrame(list(uniques), columns=list(labels.columns)).assign(rows=rows.to_numpy(), sampled=got)
        return StratifiedSample(frame.drop(columns=["stratum", "__h"]).reset_index(drop=True), summary,
                                int(rows.sum()), int(seed), self.name)

    def preview(self, *, size: int, seed: int) -> pd.DataFrame:
        """About ``size`` rows drawn uniformly (seeded): for column choices."""
        total = max(self.df.count(), 1)
        fraction = min(1.0, 1.2 * size / total)
        return self._collect(self.df.sample(fraction=fraction, seed=int(seed)).limit(int(size)))

    def close(self) -> None:
        if self.owns_session:
            self.spark.stop()


__all__ = ["RAW_KEYS", "SparkEngine", "spark_session"]
