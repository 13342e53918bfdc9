"""The columns a regression or multiclass audit needs, read from a large source through DuckDB or Spark.

A yes/no audit of a source is counted by the engine (a GROUP BY of a few columns, whatever the size). A
regression or multiclass audit needs each row's outcome and prediction (residual quantiles, the
Kolmogorov–Smirnov distance, the bootstrap), so here the engine projects the few columns it needs (the
outcome, the prediction or the model's inputs, the sensitive features) from every file of a glob, a directory
of Parquet files or a DuckDB table, over the same locked-down connection, and hands them to the in-memory
audit: every row is audited, exactly as a file read into memory would be. Spark (``--engine spark``, files
only) projects the same columns file by file, in the source's order, so both engines hand the audit the same
rows in the same order (the same record, intervals included). Sources whose projected rows do not fit the
table limits (``AUDITAPP_MAX_ROWS``, ``AUDITAPP_MAX_TABLE_MEMORY``) are refused with what to do, before any
row is read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.engines.duckdb_sql import q
from auditapp.engines.sources import Source
from auditapp.inputs.table_limits import Limits, size_text


def projected_frame(source: Source, columns: Sequence[str], *, engine: str, task: str,
                    limits: Limits | None = None, master: str | None = None) -> pd.DataFrame:
    """Every row of ``source``, only ``columns`` (in that order), read through DuckDB or Spark (``master``:
    the Spark master, default ``local[*]``).

    Raises
    ------
    AuditInputError
        For another engine, a missing column (named with its file), or more rows or memory than the table
        limits allow.
    """
    if engine not in ("duckdb", "spark"):
        raise AuditInputError(f"A {task} audit of a source reads the columns it needs through DuckDB or Spark, "
                              f"not '{engine}'. Use --engine duckdb or --engine spark.")
    limits = limits or Limits.configured()
    wanted = list(dict.fromkeys(columns))

    def check_rows(rows: int) -> None:
        if rows > limits.max_rows:
            raise AuditInputError(
                f"{source.name}: {rows:,} rows. A {task} audit reads its {len(wanted)} columns "
                f"({', '.join(wanted[:8])}) of every row into memory, at most {limits.max_rows:,} rows here "
                "(AUDITAPP_MAX_ROWS). Audit a part of the source, or raise the limit on a machine with the memory.")

    if engine == "spark":
        frame = _spark_columns(source, wanted, check_rows, master=master)
    else:
        from auditapp.engines.duckdb_engine import DuckDBEngine

        runner = DuckDBEngine(source, keep_order=True)  # rows in the files' order: the same audit as in memory
        try:
            runner.check_columns(wanted)
            check_rows(runner.count_rows())
            frame = runner._sql(f"SELECT {', '.join(q(c) for c in wanted)} FROM {runner.relation}").df()
        finally:
            runner.close()
    used = int(frame.memory_usage(deep=True).sum())
    if used > limits.max_memory:
        raise AuditInputError(
            f"{source.name}: its {len(wanted)} columns take {size_text(used)} in memory, more than the "
            f"{size_text(limits.max_memory)} allowed (AUDITAPP_MAX_TABLE_MEMORY). Audit a part of the source.")
    return frame


def _spark_columns(source: Source, wanted: list[str], check_rows: Callable[[int], None], *,
                   master: str | None) -> pd.DataFrame:
    """``wanted`` of every row through Spark, file by file in the source's order (Spark's own scan packs
    files by size, so one query would return the rows in another order than DuckDB or pandas)."""
    from auditapp.engines.spark_engine import SparkEngine, spark_error

    runner = SparkEngine(source, master=master or "local[*]")
    try:
        runner.check_columns(wanted)
        check_rows(runner.count_rows())
        reader = runner.spark.read.option("header", "true").option("inferSchema", "true")
        files = sorted(runner.df.inputFiles()) if source.remote else list(source.paths)
        parts = []
        for path in files:
            try:
                part = reader.parquet(path) if source.format == "parquet" else reader.csv(path)
            except Exception as exc:  # a Py4J or analysis error: the file cannot be read as said
                raise spark_error(exc, path) from exc
            parts.append(runner._collect(part.select(*wanted)))
    finally:
        runner.close()
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
