"""Read an uploaded table (CSV or Parquet) into a :class:`Dataset`, with clear errors.

CSV files have their delimiter sniffed (comma, semicolon, tab or pipe) and may be UTF-8 (with or
without a byte-order mark), UTF-16 with a byte-order mark, or Latin-1/Windows-1252 (read with a
notice). Parquet files are read with pyarrow. Rows are never dropped silently: a row with the wrong
number of fields is an error naming its line. Only empty cells are missing, unless the caller lists
words that mean missing (see :mod:`auditapp.core.missing`); a notice lists what was read as missing.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError, LimitExceededError
from auditapp.inputs.table_limits import (
    Limits,
    check_columns,
    check_csv,
    check_separators,
    csv_header_width,
    read_parquet,
)

__all__ = ["Dataset", "Limits", "read_source_bytes", "read_table", "sha256_bytes", "sha256_file"]

_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_SNIFF_BYTES = 16 * 1024
_CSV_SUFFIXES = {".csv", ".tsv", ".txt", ".tab"}
_PARQUET_SUFFIXES = {".parquet", ".pq", ".parq"}
_PARQUET_MAGIC = b"PAR1"
_ZIP_MAGIC = b"PK\x03\x04"
_NAME = "\x00name\x00"  # stands for the file name in notice templates


@dataclass(frozen=True, eq=False)
class Dataset:
    """A table read from one file, with the facts needed to audit and re-check it.

    ``eq=False``: datasets compare by identity (compare ``sha256`` to compare contents).
    """

    frame: pd.DataFrame
    name: str
    sha256: str
    format: str
    notices: tuple[str, ...] = ()
    notice_templates: tuple[str, ...] = ()  # the notices with the file name left out (``renamed``)
    missing_values: tuple[str, ...] = ()

    def renamed(self, name: str) -> Dataset:
        """The same table under another file name (the one a session gave the same bytes)."""
        templates = getattr(self, "notice_templates", ())
        return replace(self, name=name, notices=tuple(t.replace(_NAME, name) for t in templates))

    @property
    def rows(self) -> int:
        """Number of data rows."""
        return int(len(self.frame))

    @property
    def columns(self) -> list[str]:
        """Column names, in file order."""
        return [str(c) for c in self.frame.columns]

    @property
    def dtypes(self) -> dict[str, str]:
        """Column name → pandas dtype name."""
        return {str(c): str(t) for c, t in self.frame.dtypes.items()}

    def summary(self) -> pd.DataFrame:
        """One row per column: column, dtype, missing, distinct, example (first non-missing value).

        Returns
        -------
        pandas.DataFrame
            Columns ``column`` (str), ``dtype`` (str), ``missing`` (int), ``distinct`` (int, not
            counting missing) and ``example`` (str, empty when the column is all missing).
        """
        records = []
        for column, values in self.frame.items():
            present = values.dropna()
            records.append((str(column), str(values.dtype), int(len(values) - len(present)),
                            int(present.nunique()), str(present.iloc[0]) if len(present) else ""))
        return pd.DataFrame.from_records(
            records, columns=["column", "dtype", "missing", "distinct", "example"]
        )


def sha256_bytes(data: bytes) -> str:
    """Return the sha256 hex digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Return the sha256 hex digest of the file at ``path``, read in chunks (not all at once)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def read_source_bytes(source: str | os.PathLike[str] | bytes, *, filename: str | None, default_name: str,
                      max_bytes: int) -> tuple[bytes, str]:
    """Return ``(data, name)`` from a path or bytes; used by read_table and models.load_model.

    Raises AuditInputError if the path is not a file, LimitExceededError if it is too large.
    """
    in_memory: bytes | bytearray | memoryview | None = None
    path: Path | None = None
    if isinstance(source, (bytes, bytearray, memoryview)):
        in_memory = source
        name, size = filename or default_name, len(source)
    else:
        path = Path(source)
        name = filename or path.name
        if not path.is_file():
            raise AuditInputError(f"{name}: there is no file at {str(path)!r}. Check the path.")
        size = path.stat().st_size
    if size > max_bytes:
        raise LimitExceededError(
            f"{name} is {size:,} bytes, more than the limit of {max_bytes:,} bytes. "
            "Raise the limit with the AUDITAPP_MAX_BYTES environment variable, or upload a sample."
        )
    if in_memory is not None:
        return bytes(in_memory), name
    if path is None:  # one of the two branches above set it
        raise AuditInputError(f"{name}: nothing to read.")
    return path.read_bytes(), name


def read_table(source: str | os.PathLike[str] | bytes, *, filename: str | None = None,
               limits: Limits | None = None, missing_values: Sequence[str] | str | None = ()) -> Dataset:
    """Read a CSV or Parquet file into a :class:`Dataset`.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        A path, or the raw bytes of an upload.
    filename : str, optional
        The name shown to the user and used to pick the format by extension (``.csv``, ``.tsv``,
        ``.txt``, ``.parquet``, ``.pq``). Defaults to the path's file name. Without a known
        extension the format is chosen from the content (Parquet starts with ``PAR1``).
    limits : Limits, optional
        Byte, row and column limits; defaults to :meth:`Limits.configured`.
    missing_values : sequence of str or str, optional
        Words that mean missing in text columns (e.g. ``("None", "NA")``). Without them only empty
        cells are missing, and "None", "NA", "null"... are categories (in a column of numbers they
        are read as missing). See :mod:`auditapp.core.missing`.

    Returns
    -------
    Dataset
        The table with string column names stripped of surrounding whitespace.

    Raises
    ------
    AuditInputError
        If the file is empty, is not a table, has duplicate column names, has rows with the wrong
        number of fields, or cannot be decoded.
    LimitExceededError
        If the file has more bytes, rows or columns than ``limits`` allow.
    """
    from auditapp.core.missing import parse_missing_values, settle_missing

    limits = limits if limits is not None else Limits.configured()
    words = parse_missing_values(missing_values)
    data, name = read_source_bytes(source, filename=filename, default_name="uploaded file",
                                   max_bytes=limits.max_bytes)
    if not data.strip():
        raise AuditInputError(
            f"{name} is empty ({len(data)} bytes). Upload a CSV or Parquet file with a header row "
            "and at least one data row."
        )
    suffix = Path(name).suffix.lower()
    magic = data[:4] == _PARQUET_MAGIC
    notices: list[str] = []
    if suffix in _CSV_SUFFIXES and magic and data[-4:] == _PARQUET_MAGIC:
        notices.append(f"{_NAME} is named like a CSV file but holds Parquet; read it as Parquet.")
        suffix = ".parquet"
    if suffix in _PARQUET_SUFFIXES or (suffix not in _CSV_SUFFIXES and magic):
        frame, fmt = _read_parquet(data, name, limits), "parquet"
    else:
        frame, fmt = _read_csv(data, name, limits, notices), "csv"
    frame, missing_notices = settle_missing(frame, _NAME, words, numbers_from_text=fmt == "csv")
    notices.extend(missing_notices)
    return Dataset(frame=frame, name=name, sha256=sha256_bytes(data), format=fmt,
                   notices=tuple(n.replace(_NAME, name) for n in notices), notice_templates=tuple(notices),
                   missing_values=words)


def _check_names(names: list[str], name: str, limits: Limits) -> list[str]:
    """Strip names, refuse duplicates and too many columns; return the cleaned names."""
    cleaned = [str(n).strip() for n in names]
    check_columns(len(cleaned), name, limits)
    positions: dict[str, list[int]] = {}
    for index, column in enumerate(cleaned, start=1):
        positions.setdefault(column, []).append(index)
    duplicates = {c: p for c, p in positions.items() if len(p) > 1}
    if duplicates:
        listed = "; ".join(
            f"{c!r} (columns {', '.join(map(str, p))})" for c, p in duplicates.items()
        )
        raise AuditInputError(
            f"{name} has duplicate column names: {listed}. "
            "Rename them so that every column name is unique."
        )
    return cleaned


def _read_parquet(data: bytes, name: str, limits: Limits) -> pd.DataFrame:
    frame = read_parquet(data, name, limits)  # checked from the footer before any page is decoded
    if not isinstance(frame.index, pd.RangeIndex):  # a pandas index saved in the file: keep it
        frame = frame.reset_index()
    frame.columns = _check_names(list(frame.columns), name, limits)
    return frame


def _to_utf8(data: bytes, name: str, notices: list[str]) -> bytes:
    """Return the text as UTF-8 bytes without a BOM, adding a notice when it was re-encoded."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        notices.append(f"{_NAME} is UTF-16; read it as UTF-16.")
        data = data.decode("utf-16").encode("utf-8")
    if data.startswith(_ZIP_MAGIC):
        raise AuditInputError(f"{name} is not a table: it is a ZIP archive (an Excel workbook?). "
                              "Export the sheet as CSV or Parquet and upload that.")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise AuditInputError(
            f"{name} is not a text table: it contains binary data (byte 0x00 at position {nul}). "
            "Upload a CSV (text) or Parquet file."
        )
    if not _is_utf8(data):
        try:
            text, encoding = data.decode("cp1252"), "Windows-1252"
        except UnicodeDecodeError:
            text, encoding = data.decode("latin-1"), "Latin-1"
        notices.append(
            f"{_NAME} is not UTF-8; read it as Latin-1 ({encoding}). If accented letters look "
            "wrong, save the file as UTF-8 and upload it again."
        )
        data = text.encode("utf-8")
    sample = data[:_SNIFF_BYTES].decode("utf-8", errors="ignore")
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n" or
                   0x7F <= ord(ch) < 0xA0)
    if controls > max(2, len(sample) // 100):
        raise AuditInputError(
            f"{name} is not a text table: it contains {controls} control characters in its first "
            f"{len(sample):,} characters. Upload a CSV (text) or Parquet file."
        )
    return data


def _is_utf8(data: bytes) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    step = 1 << 20
    try:
        for start in range(0, len(data), step):
            decoder.decode(data[start:start + step])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _sniff(data: bytes, name: str) -> tuple[str, list[str]]:
    """Return the delimiter and the raw header fields, or raise when the text is not a table."""
    # The whole header line (which can be long: thousands of columns) plus a few hundred data lines.
    header_end = data.find(b"\n")
    limit = (len(data) if header_end < 0 else header_end + 1) + _SNIFF_BYTES
    sample = data[:limit]
    if len(data) > limit and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n")]
    text = sample.decode("utf-8", errors="ignore")
    best = None
    too_long = False
    for preference, delimiter in enumerate(_DELIMITERS):
        try:
            rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r]
        except csv.Error:  # a field over the csv module's size limit: not this separator
            too_long = True
            continue
        if not rows or len(rows[0]) < 2:
            continue
        counts = np.array([len(r) for r in rows[1:]])
        consistency = float(np.mean(counts == len(rows[0]))) if len(counts) else 1.0
        key = (consistency, len(rows[0]), -preference)
        if best is None or key > best[0]:
            best = (key, delimiter, rows)
    if best is None and too_long:
        raise AuditInputError(
            f"{name} is not a table this server can read: its first lines hold a value longer than "
            f"{csv.field_size_limit():,} characters for every separator tried (comma, semicolon, tab, "
            "pipe). Check that it is a CSV file, and shorten or drop the long values."
        )
    if best is None:
        raise AuditInputError(
            f"{name} is not a table: it has only one column (no comma, semicolon, tab or pipe "
            "separates its first line into columns). Upload a CSV with a header row, with columns "
            "separated by commas."
        )
    (consistency, _, _), delimiter, rows = best
    if len(rows) >= 4 and consistency < 0.5:
        raise AuditInputError(
            f"{name} is not a table: its lines have different numbers of fields for every "
            "separator tried (comma, semicolon, tab, pipe). Upload a CSV with a header row and "
            "the same number of fields on every line."
        )
    return delimiter, rows[0]


def _count(data: bytes, byte: int) -> int:
    """How many times ``byte`` occurs in ``data`` (in 16 MB steps: no file-sized temporary array)."""
    arr = np.frombuffer(data, dtype=np.uint8)
    step = 16 << 20
    return sum(int(np.count_nonzero(arr[i:i + step] == byte)) for i in range(0, len(arr), step))


def _find_ragged_line(data: bytes, delimiter: str, expected: int) -> tuple[int, int, int]:
    """Return ``(first bad line, its field count, data rows)``; bad line is 0 when none."""
    if b'"' not in data:
        arr = np.frombuffer(data, dtype=np.uint8)
        newlines = np.flatnonzero(arr == ord("\n"))
        starts = np.concatenate(([0], newlines + 1))
        ends = np.concatenate((newlines, [len(arr)]))
        first = arr[np.minimum(starts, len(arr) - 1)]
        blank = (ends == starts) | ((ends - starts == 1) & (first == ord("\r")))
        separators = np.flatnonzero(arr == ord(delimiter))
        counts = np.searchsorted(separators, ends) - np.searchsorted(separators, starts) + 1
        bad = np.flatnonzero(~blank & (counts != expected))
        rows = int(np.count_nonzero(~blank)) - 1
        if len(bad):
            return int(bad[0]) + 1, int(counts[bad[0]]), rows
        return 0, 0, rows
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline=""),
                        delimiter=delimiter)
    rows = -1
    for row in reader:
        if not row:
            continue
        rows += 1
        if len(row) != expected:
            return reader.line_num, len(row), rows
    return 0, 0, rows


def _read_csv(data: bytes, name: str, limits: Limits, notices: list[str]) -> pd.DataFrame:
    data = _to_utf8(data, name, notices)
    width = csv_header_width(data, _DELIMITERS)
    check_columns(width, name, limits)  # before the csv module reads the header (its field limit)
    if b'"' not in data:  # unquoted: every separator starts a cell; counted before any index array
        check_separators(max(_count(data, ord(d)) for d in _DELIMITERS), name, limits)
    delimiter, header = _sniff(data, name)
    names = [c.strip() or f"unnamed_{i}" for i, c in enumerate(header, start=1)]
    notices.extend(f"Column {i} of {_NAME} has no name; called it unnamed_{i}."
                   for i, c in enumerate(header, start=1) if not c.strip())
    names = _check_names(names, name, limits)
    if all(n.lstrip("-+").replace(".", "", 1).isdigit() for n in names):
        notices.append(
            f"The first row of {_NAME} looks like data (every column name is a number). If the "
            "file has no header row, add one: it is read as the column names."
        )
    try:
        line, found, rows = _find_ragged_line(data, delimiter, len(names))
    except csv.Error as exc:
        message = f"{name} could not be read as CSV: {exc}. Check the quoting."
        raise AuditInputError(message) from exc
    if line:
        raise AuditInputError(
            f"{name} line {line} has {found} fields but the header has {len(names)} (separator: "
            f"{_DELIMITER_NAMES[delimiter]}). The file may be truncated, or a value may contain an "
            "unquoted separator. Fix that line, or quote values that contain the separator."
        )
    check_csv(data, rows, len(names), name, limits)  # rows, cells and memory, before pandas parses
    try:
        # Only empty cells are missing here; auditapp.core.missing decides about "None", "NA" and the like.
        frame = pd.read_csv(io.BytesIO(data), sep=delimiter, header=0, names=names, keep_default_na=False,
                            na_values=[""], encoding="utf-8", low_memory=False, nrows=limits.max_rows + 1)
    except (pd.errors.ParserError, csv.Error) as exc:
        raise AuditInputError(
            f"{name} could not be read as CSV: {exc}. Fix that line (a missing closing quote "
            "or a truncated file are the usual causes)."
        ) from exc
    if len(frame) != rows:  # never drop rows silently
        raise AuditInputError(
            f"{name} has {rows:,} data rows but only {len(frame):,} could be read as a table. "
            "Check the file's quoting and line endings, or export it again."
        )
    return frame
