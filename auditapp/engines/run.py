"""Choose an engine for a source, and audit the source through it (what the CLI and the app call)."""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass
from typing import Any

from auditapp.core.audit import Audit
from auditapp.core.errors import AuditInputError
from auditapp.core.limits import runtime
from auditapp.core.spec import AuditSpec
from auditapp.core.workload import SERVER_REMEDY, WorkLimits
from auditapp.engines.base import ENGINES, Progress, StratifiedSample
from auditapp.engines.histograms import DEFAULT_BINS
from auditapp.engines.sources import Source


@dataclass(frozen=True)
class SourceAudit:
    """An audit of a whole source, with what the record says about the source."""

    audit: Audit
    dataset_info: dict[str, Any]
    source: Source


def choose_engine(source: Source, requested: str = "auto") -> str:
    """The engine for ``source``: ``auto`` takes pandas for one file that fits the in-memory limits (today's
    path), DuckDB for anything larger, for several files and for DuckDB tables.

    Raises
    ------
    AuditInputError
        If the requested engine cannot read this source.
    """
    from auditapp.inputs.table_limits import Limits

    if requested not in ("auto", *ENGINES):
        raise AuditInputError(f"Unknown engine {requested!r}: use auto, {', '.join(ENGINES)}.")
    if source.remote and requested != "spark":
        raise AuditInputError(f"{source.text}: files on a cluster's storage are read with --engine spark.")
    if requested == "spark" and source.kind == "duckdb":
        raise AuditInputError(f"{source.name}: Spark does not read DuckDB tables; use --engine duckdb.")
    if requested == "pandas" and (source.kind == "duckdb" or len(source.paths) > 1):
        raise AuditInputError(f"{source.text}: the pandas engine reads one CSV or Parquet file; use --engine duckdb "
                              "for several files or a DuckDB table.")
    if requested in ("duckdb", "spark") and source.format == "unknown":
        raise AuditInputError(f"{source.name}: name the file .parquet or .csv for the {requested} engine.")
    if requested != "auto":
        return requested
    if source.format == "unknown":
        return "pandas"
    if source.kind == "duckdb" or len(source.paths) > 1:
        return "duckdb"
    limits = Limits.configured()
    if source.size_bytes() > limits.max_bytes:
        return "duckdb"
    if source.format == "parquet":
        import pyarrow.parquet as pq

        try:
            rows = pq.ParquetFile(source.paths[0]).metadata.num_rows
        except Exception:  # not readable as Parquet: the pandas path says so, with its own message
            return "pandas"
        if rows > limits.max_rows:
            return "duckdb"
    return "pandas"


def open_engine(source: Source, name: str, *, master: str | None = None, session: Any = None) -> Any:
    """An engine over ``source`` (``pandas`` reads the one file into memory first)."""
    if name == "duckdb":
        from auditapp.engines.duckdb_engine import DuckDBEngine

        return DuckDBEngine(source)
    if name == "spark":
        from auditapp.engines.spark_engine import SparkEngine

        return SparkEngine(source, master=master or runtime().spark_master,
                           session=session)
    if name == "pandas":
        from auditapp.engines.pandas_engine import PandasEngine
        from auditapp.inputs.intake import read_table

        dataset = read_table(source.paths[0])
        return PandasEngine(dataset.frame, label=dataset.name)
    raise AuditInputError(f"Unknown engine {name!r}: use {', '.join(ENGINES)}.")


def audit_source(source: Source, spec: AuditSpec, model: Any = None, *, engine: str = "auto", master: str | None = None,
                 bins: int = DEFAULT_BINS, limits: WorkLimits | None = None, remedy: str = SERVER_REMEDY,
                 progress: Progress | None = None, session: Any = None, hash_source: bool = True) -> SourceAudit:
    """Audit a whole source through an engine: counts and histograms where the data is, the rest here.

    The source's content hash is computed alongside (another thread) when ``hash_source`` is True.
    """
    from auditapp.engines.assemble import audit_from_aggregates

    name = choose_engine(source, engine)
    runner = open_engine(source, name, master=master, session=session)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(source.sha256) if hash_source and not source.remote else None
        try:
            aggregates = runner.aggregate(spec, model, bins=bins, progress=progress)
            columns = runner.columns()
        finally:
            runner.close()
        audit = audit_from_aggregates(aggregates, spec, limits=limits, remedy=remedy)
        sha = digest.result() if digest is not None else None
    info = {"name": source.name, "sha256": sha, "rows": aggregates.n_rows, "columns": columns,
            "engine": name, "files": len(source.paths) if source.kind == "files" and not source.remote else None}
    if source.kind == "duckdb":
        info["table"] = source.table
    return SourceAudit(audit=audit, dataset_info=info, source=source)


def sample_source(source: Source, spec: AuditSpec, *, size: int, seed: int, engine: str = "auto",
                  master: str | None = None, session: Any = None) -> StratifiedSample:
    """A stratified sample (group × outcome) of about ``size`` rows, drawn by the engine."""
    name = choose_engine(source, engine)
    runner = open_engine(source, name, master=master, session=session)
    try:
        sample: StratifiedSample = runner.sample(spec, size=size, seed=seed)
        return sample
    finally:
        runner.close()
