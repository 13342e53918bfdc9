"""Limits on an uploaded table, checked from its header or footer before any data is decoded.

A Parquet file says in its footer how many rows and columns it has and the type of each column, so
the size of the table once read is known before a single data page is decompressed: a 1 MB file of
5,000,000 rows × 50 zero columns (2 GB once read) is refused from its footer. Text columns can hide
more: a short dictionary of long strings repeated on every row. They are read as dictionaries (a
small index per row) and their decoded size is added up exactly before they are expanded.

A CSV file's header line gives its width, counted without the ``csv`` module (whose 131,072-character
field limit a very wide header would hit); its rows are counted before pandas parses anything.

Limits, each with an environment variable: bytes of the file, rows, columns, cells (rows × columns)
and bytes in memory (estimated from the column types: 8 bytes a number, 8 bytes plus the text of a
string). Reading a table takes up to about twice its size in memory for a moment.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError, LimitExceededError
from auditapp.core.limits import RuntimeLimits, runtime

_MB = 1024**2
# The footer is parsed before anything else; a legitimate one is a few MB even for thousands of
# columns and row groups, while a crafted one could ask the parser for gigabytes.
MAX_FOOTER_BYTES = 32 * _MB
_THRIFT_CONTAINER_LIMIT = 200_000


@dataclass(frozen=True)
class Limits:
    """Size limits for an uploaded table; each can be changed with an environment variable.

    ``max_cells`` (rows × columns) makes the largest row count and the largest column count
    impossible together; ``max_memory`` bounds the bytes the table takes once read.
    """

    max_bytes: int = RuntimeLimits.max_bytes  # every default has one home: RuntimeLimits
    max_rows: int = RuntimeLimits.max_rows
    max_columns: int = RuntimeLimits.max_columns
    max_cells: int = RuntimeLimits.max_cells
    max_memory: int = RuntimeLimits.max_table_memory

    @classmethod
    def configured(cls) -> Limits:
        """This process's table limits (``AUDITAPP_MAX_BYTES``, ``_ROWS``, ``_COLUMNS``, ``_CELLS`` and
        ``AUDITAPP_MAX_TABLE_MEMORY``, read at start-up: :func:`auditapp.core.limits.runtime`)."""
        limits = runtime()
        return cls(max_bytes=limits.max_bytes, max_rows=limits.max_rows, max_columns=limits.max_columns,
                   max_cells=limits.max_cells, max_memory=limits.max_table_memory)


def size_text(n_bytes: float) -> str:
    """Bytes for people: ``"2.0 GB"``, ``"640 MB"``."""
    if n_bytes >= 1024**3:
        return f"{n_bytes / 1024**3:,.1f} GB"
    return f"{n_bytes / _MB:,.0f} MB"


def check_columns(count: int, name: str, limits: Limits) -> None:
    """Refuse more columns than ``limits.max_columns``."""
    if count > limits.max_columns:
        raise LimitExceededError(
            f"{name} has {count:,} columns, more than the limit of {limits.max_columns:,}. "
            "Raise the limit with the AUDITAPP_MAX_COLUMNS environment variable, or drop columns."
        )


def check_rows(count: int, name: str, limits: Limits) -> None:
    """Refuse more rows than ``limits.max_rows``, and a table without rows."""
    if count > limits.max_rows:
        raise LimitExceededError(
            f"{name} has {count:,} rows, over the limit of {limits.max_rows:,}. "
            "Raise the limit with the AUDITAPP_MAX_ROWS environment variable, or upload a sample."
        )
    if count == 0:
        raise AuditInputError(f"{name} has a header row but no data rows. Upload a file with at "
                              "least one data row.")


def check_cells(rows: int, columns: int, name: str, limits: Limits) -> None:
    """Refuse more than ``limits.max_cells`` cells (rows × columns)."""
    cells = rows * columns
    if cells > limits.max_cells:
        raise LimitExceededError(
            f"{name} has {rows:,} rows × {columns:,} columns = {cells:,} cells, more than the limit of "
            f"{limits.max_cells:,} cells. Upload fewer rows or columns (a sample, or only the columns "
            "the audit needs), or raise the limit with the AUDITAPP_MAX_CELLS environment variable."
        )


def check_separators(count: int, name: str, limits: Limits) -> None:
    """Refuse a text table with more separators than ``limits.max_cells``: it has more cells than that."""
    if count > limits.max_cells:
        raise LimitExceededError(
            f"{name} has more than {count:,} cells ({count:,} separators between values), more than the "
            f"limit of {limits.max_cells:,} cells. Upload fewer rows or columns (a sample, or only the "
            "columns the audit needs), or raise the limit with the AUDITAPP_MAX_CELLS environment variable."
        )


def check_memory(estimate: int, rows: int, columns: int, name: str, limits: Limits) -> None:
    """Refuse a table whose estimated size in memory is over ``limits.max_memory``."""
    if estimate > limits.max_memory:
        raise LimitExceededError(
            f"{name} would take about {size_text(estimate)} of memory once read ({rows:,} rows × "
            f"{columns:,} columns), more than the limit of {size_text(limits.max_memory)}. Upload fewer "
            "rows or columns, or raise the limit with the AUDITAPP_MAX_TABLE_MEMORY environment variable."
        )


# -- CSV ------------------------------------------------------------------------------------------
def csv_header_width(data: bytes, delimiters: tuple[str, ...]) -> int:
    """The most fields the first line has for any of ``delimiters`` (separators outside quotes + 1).

    Counted with NumPy on the bytes, so a header of 100,000 columns costs a few milliseconds and
    never meets the ``csv`` module's field size limit.
    """
    end = data.find(b"\n")
    line = np.frombuffer(data if end < 0 else data[:end], dtype=np.uint8)
    quotes = line == ord('"')
    outside = (np.cumsum(quotes) % 2) == 0
    return max(int(np.count_nonzero((line == ord(d)) & outside)) + 1 for d in delimiters)


def check_csv(data: bytes, rows: int, columns: int, name: str, limits: Limits) -> None:
    """Rows, cells and estimated memory of a CSV table whose rows were counted but not parsed."""
    check_rows(rows, name, limits)
    check_cells(rows, columns, name, limits)
    # A parsed cell takes 8 bytes (a number, or a pointer/offset to a string) plus its text.
    check_memory(rows * columns * 8 + len(data), rows, columns, name, limits)


# -- Parquet --------------------------------------------------------------------------------------
def _invalid(name: str, detail: object) -> AuditInputError:
    return AuditInputError(f"{name} is not a valid Parquet file ({detail}). Upload the file again, or "
                           "export it as CSV.")


def _is_text(arrow_type: Any) -> bool:
    import pyarrow as pa

    text: bool = (pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
                  or pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type))
    return text


def _footer_estimate(parquet: Any, schema: Any, rows: int) -> int:
    """Bytes the table takes once read, from the footer alone (column types and stored sizes)."""
    import pyarrow as pa

    metadata = parquet.metadata
    stored: dict[str, int] = {}
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for index in range(row_group.num_columns):
            chunk = row_group.column(index)
            top = chunk.path_in_schema.split(".", 1)[0]
            stored[top] = stored.get(top, 0) + max(int(chunk.total_uncompressed_size), 0)
    total = 0
    for field in schema:
        if pa.types.is_boolean(field.type):
            total += rows
        elif _is_text(field.type) or pa.types.is_nested(field.type):
            total += rows * 8 + stored.get(field.name, 0)
        else:
            total += rows * 8  # every number or date becomes 8 bytes in pandas (ints with gaps: floats)
    return total


def inspect_parquet(parquet: Any, name: str, limits: Limits) -> tuple[int, list[str]]:
    """Check a Parquet file's footer against ``limits``; return ``(rows, column names)``.

    Nothing but the footer is read: row and column counts, column types and stored sizes.
    """
    metadata = parquet.metadata
    schema = parquet.schema_arrow
    names = [str(n) for n in schema.names]
    check_columns(max(len(names), metadata.num_columns), name, limits)
    rows = int(metadata.num_rows)
    in_groups = sum(int(metadata.row_group(i).num_rows) for i in range(metadata.num_row_groups))
    if rows < 0 or in_groups != rows:
        raise _invalid(name, f"its footer says {rows:,} rows but its row groups hold {in_groups:,}")
    check_rows(rows, name, limits)
    check_cells(rows, len(names), name, limits)
    check_memory(_footer_estimate(parquet, schema, rows), rows, len(names), name, limits)
    return rows, names


def _footer_length(data: bytes, name: str) -> int:
    if len(data) < 12 or data[-4:] != b"PAR1":
        raise _invalid(name, "it does not end with the Parquet marker PAR1; the file may be truncated")
    length = int.from_bytes(data[-8:-4], "little")
    if length > MAX_FOOTER_BYTES:
        raise LimitExceededError(
            f"{name} has a Parquet footer (its table of contents) of {size_text(length)}, more than the "
            f"{size_text(MAX_FOOTER_BYTES)} this server reads. Write the file with fewer, larger row groups "
            "(e.g. pandas.to_parquet with the default settings), or upload it as CSV.")
    return length


def _decoded_bytes(table: Any) -> int:
    """Bytes of ``table`` once its dictionary columns are expanded (computed, not expanded)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = 0
    for column in table.columns:
        if not pa.types.is_dictionary(column.type):
            total += column.nbytes
            continue
        for chunk in column.chunks:
            lengths = pc.binary_length(chunk.dictionary).fill_null(0).to_numpy(zero_copy_only=False)
            indices = chunk.indices.fill_null(0).to_numpy(zero_copy_only=False)
            counts = np.bincount(indices, minlength=len(lengths)) if len(indices) else np.zeros(0, int)
            total += int(counts[:len(lengths)].astype(np.int64) @ lengths.astype(np.int64)) + 8 * len(chunk)
    return total


def read_parquet(data: bytes, name: str, limits: Limits) -> pd.DataFrame:
    """Read a Parquet file into a pandas DataFrame, checked against ``limits`` before decoding.

    Raises
    ------
    AuditInputError
        If the file is not valid Parquet.
    LimitExceededError
        If its footer shows more rows, columns, cells or memory than allowed, or its text columns
        would expand past the memory limit.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    _footer_length(data, name)
    options = {"thrift_container_size_limit": _THRIFT_CONTAINER_LIMIT,
               "thrift_string_size_limit": MAX_FOOTER_BYTES}
    try:
        parquet = pq.ParquetFile(io.BytesIO(data), **options)
        rows, names = inspect_parquet(parquet, name, limits)
        schema = parquet.schema_arrow
        text = [f.name for f in schema if _is_text(f.type)]
        if text:  # text columns come back as dictionaries: an index per row, each distinct value once
            parquet = pq.ParquetFile(io.BytesIO(data), read_dictionary=text, **options)
        tables, decoded = [], 0
        for group in range(parquet.metadata.num_row_groups):
            table = parquet.read_row_group(group, use_threads=False)
            decoded += _decoded_bytes(table)
            check_memory(decoded, rows, len(names), name, limits)
            tables.append(table.cast(schema) if text else table)
        table = pa.concat_tables(tables) if tables else schema.empty_table()
    except (pa.ArrowException, OSError) as exc:
        raise _invalid(name, exc) from exc
    if table.num_rows != rows:
        raise _invalid(name, f"its footer says {rows:,} rows but {table.num_rows:,} were read")
    return table.to_pandas()
