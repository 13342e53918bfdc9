"""The columns a regression or multiclass audit needs, read from a large source through DuckDB.

A yes/no audit of a source is counted by the engine (a GROUP BY of a few columns, whatever the size). A
regression or multiclass audit needs each row's outcome and prediction (residual quantiles, the
Kolmogorov–Smirnov distance, the bootstrap), so here the engine projects the few columns it needs (the
outcome, the prediction or the model's inputs, the sensitive features) from every file of a glob, a directory
of Parquet files or a DuckDB table, over the same locked-down connection, and hands them to the in-memory
audit: every row is audited, exactly as a file read into memory would be. Sources whose projected rows do
not fit the table limits (``AUDITAPP_MAX_ROWS``, ``AUDITAPP_MAX_TABLE_MEMORY``) are refused with what to do.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.engines.duckdb_sql import q
from auditapp.engines.sources import Source
from auditapp.inputs.table_limits import Limits, size_text


def projected_frame(source: Source, columns: Sequence[str], *, engine: str, task: str,
                    limits: Limits | None = None) -> pd.DataFrame:
    """Every row of ``source``, only ``columns`` (in that order), read through DuckDB.

    Raises
    ------
    AuditInputError
        For an engine other than DuckDB, a missing column (named with its file), or more rows or memory than
        the table limits allow.
    """
    if engine != "duckdb":
        raise AuditInputError(
            f"A {task} audit of a source reads the columns it needs through DuckDB; the {engine} engine counts "
            "yes/no outcomes only. Use --engine duckdb (a local source), or audit a sample.")
    from auditapp.engines.duckdb_engine import DuckDBEngine

    limits = limits or Limits.configured()
    wanted = list(dict.fromkeys(columns))
    runner = DuckDBEngine(source, keep_order=True)  # rows in the files' order: the same audit as in memory
    try:
        runner.check_columns(wanted)
        rows = runner.count_rows()
        if rows > limits.max_rows:
            raise AuditInputError(
                f"{source.name}: {rows:,} rows. A {task} audit reads its {len(wanted)} columns "
                f"({', '.join(wanted[:8])}) of every row into memory, at most {limits.max_rows:,} rows here "
                "(AUDITAPP_MAX_ROWS). Audit a part of the source, or raise the limit on a machine with the memory.")
        frame: pd.DataFrame = runner._sql(f"SELECT {', '.join(q(c) for c in wanted)} FROM {runner.relation}").df()
    finally:
        runner.close()
    used = int(frame.memory_usage(deep=True).sum())
    if used > limits.max_memory:
        raise AuditInputError(
            f"{source.name}: its {len(wanted)} columns take {size_text(used)} in memory, more than the "
            f"{size_text(limits.max_memory)} allowed (AUDITAPP_MAX_TABLE_MEMORY). Audit a part of the source.")
    return frame
