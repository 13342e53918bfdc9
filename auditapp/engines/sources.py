"""What ``--data`` names: one file, a glob of files, or a table in a DuckDB database file.

- ``data.parquet``, ``data.csv``: one file;
- ``logs/*.parquet``, ``logs/**/*.parquet``: every matching file (sorted), all Parquet or all CSV;
- ``duckdb:audit.duckdb?table=decisions`` (or ``schema.table``): a table of a DuckDB database file,
  opened read-only;
- ``s3a://bucket/logs/*.parquet`` and other URLs: only with ``--engine spark``, which reads them itself.

A source is checked before any engine runs: the files exist, their format is known, the table name is a
plain identifier (it is quoted in SQL, never pasted), and, for the app, every file is inside the
operator's directory. Every file must have every column the audit needs: :func:`check_file_columns`
names the file and the column that is missing.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from auditapp.core.errors import AuditInputError

PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".tab")
DUCKDB_PREFIX = "duckdb:"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}(\.[A-Za-z_][A-Za-z0-9_]{0,127})?$")
_GLOB = re.compile(r"[*?\[]")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
MAX_FILES = 100_000


@dataclass(frozen=True)
class Source:
    """A data source: ``kind`` is ``"files"`` or ``"duckdb"`` (a table of a database file)."""

    text: str
    kind: str
    format: str
    paths: tuple[str, ...]
    table: str | None = None
    remote: bool = False

    @property
    def name(self) -> str:
        """How the source is named to the user and in the audit record."""
        if self.kind == "duckdb":
            return f"{Path(self.paths[0]).name} (table {self.table})"
        if len(self.paths) == 1 and not self.remote:
            return Path(self.paths[0]).name
        return self.text

    def display(self, path: str) -> str:
        """A file's name as messages show it (relative to the common folder of the files)."""
        if self.remote or len(self.paths) == 1:
            return Path(path).name if not self.remote else path
        common = os.path.commonpath(self.paths)
        return os.path.relpath(path, common if os.path.isdir(common) else os.path.dirname(common))

    def size_bytes(self) -> int:
        return 0 if self.remote else sum(os.path.getsize(p) for p in self.paths)

    def sha256(self) -> str:
        """The content hash of the source: the file's sha256 for one file (as an upload's); for several, the
        sha256 of the list of (relative name, sha256) pairs; for a DuckDB table, of the database file."""
        from auditapp.inputs.intake import sha256_file

        if self.remote:
            raise AuditInputError(f"{self.text}: files on a cluster's storage are not hashed by auditapp.")
        if len(self.paths) == 1:
            return sha256_file(self.paths[0])
        listing = [[self.display(p), sha256_file(p)] for p in self.paths]
        return hashlib.sha256(json.dumps(listing).encode()).hexdigest()


def _format_of(paths: list[str], text: str) -> str:
    kinds = set()
    for path in paths:
        suffix = Path(path).suffix.lower()
        if suffix in PARQUET_SUFFIXES:
            kinds.add("parquet")
        elif suffix in CSV_SUFFIXES:
            kinds.add("csv")
        else:
            kind = suffix or "files without an extension"
            raise AuditInputError(
                f"{path}: auditapp reads Parquet (.parquet) and CSV (.csv) files, not {kind}. Convert it, or "
                f"narrow the pattern {text!r} to the data files.")
    if len(kinds) > 1:
        raise AuditInputError(f"{text!r} matches both Parquet and CSV files; give a pattern that matches one kind "
                              "(e.g. logs/*.parquet).")
    return kinds.pop()


def _inside(path: str, root: str | None) -> str:
    real = os.path.realpath(path)
    if root is not None:
        base = os.path.realpath(root)
        if os.path.commonpath([real, base]) != base:
            raise AuditInputError(f"{path} is outside the data sources directory; only its files can be opened.")
    return real


def parse_source(text: str, *, allow_remote: bool = False, root: str | None = None) -> Source:
    """Parse ``--data`` (see the module docstring).

    ``root``: every file must be inside this directory (the app's ``AUDITAPP_DATA_SOURCES``).

    Raises
    ------
    AuditInputError
        If nothing matches, a format is unknown, a table name is not a plain identifier, or a file is
        outside ``root``.
    """
    text = str(text).strip()
    if not text:
        raise AuditInputError("--data is empty: give a file, a glob such as logs/*.parquet, or "
                              "duckdb:FILE.duckdb?table=NAME.")
    if text.startswith(DUCKDB_PREFIX):
        return _duckdb_source(text, root)
    if _URL.match(text):
        if not allow_remote:
            raise AuditInputError(f"{text}: URLs are read by the Spark engine only (--engine spark).")
        fmt = _format_of([re.sub(r"[*?\[\]]", "x", text)], text)
        return Source(text=text, kind="files", format=fmt, paths=(text,), remote=True)
    if _GLOB.search(text):
        matches = sorted(p for p in glob.glob(text, recursive=True) if os.path.isfile(p))
        if not matches:
            raise AuditInputError(f"No file matches {text!r}. Check the pattern (e.g. logs/*.parquet).")
        if len(matches) > MAX_FILES:
            raise AuditInputError(f"{text!r} matches {len(matches):,} files, more than {MAX_FILES:,}. Narrow it.")
        paths = [_inside(p, root) for p in matches]
        return Source(text=text, kind="files", format=_format_of(paths, text), paths=tuple(paths))
    if os.path.isdir(text):
        raise AuditInputError(f"{text} is a folder. Give a pattern for its files, e.g. {os.path.join(text, '*.parquet')}.")
    if not os.path.isfile(text):
        raise AuditInputError(f"{Path(text).name}: there is no file at {text!r}. Check the path.")
    path = _inside(text, root)
    suffix = Path(path).suffix.lower()
    # One file of another name is read as today (intake recognises Parquet by its content); engines refuse it.
    known = suffix in PARQUET_SUFFIXES or suffix in CSV_SUFFIXES
    return Source(text=text, kind="files", format=_format_of([path], text) if known else "unknown", paths=(path,))


def _duckdb_source(text: str, root: str | None) -> Source:
    body = text[len(DUCKDB_PREFIX):]
    path, sep, query = body.rpartition("?")
    table = query[len("table="):] if query.startswith("table=") else ""
    if not sep or not path or not table:
        raise AuditInputError(f"{text!r}: write a DuckDB table as duckdb:FILE.duckdb?table=NAME.")
    if not _IDENTIFIER.match(table):
        raise AuditInputError(f"{table!r} is not a table name auditapp accepts: letters, digits and underscores "
                              "(optionally schema.table).")
    if not os.path.isfile(path):
        raise AuditInputError(f"{Path(path).name}: there is no DuckDB database file at {path!r}. Check the path.")
    return Source(text=text, kind="duckdb", format="duckdb", paths=(_inside(path, root),), table=table)


def check_file_columns(source: Source, columns_by_file: dict[str, list[str]], needed: list[str]) -> list[str]:
    """Raise when a file lacks a needed column (naming the file and the column); return the common columns."""
    common: list[str] | None = None
    for path, columns in columns_by_file.items():
        present = set(columns)
        missing = [c for c in needed if c not in present]
        if missing:
            others = "" if len(columns_by_file) == 1 else " (the other files are checked the same way)"
            raise AuditInputError(
                f"{source.display(path)} has no column {', '.join(repr(m) for m in missing)}{others}, which the "
                f"audit needs. Its columns are: {', '.join(columns[:12])}{' ...' if len(columns) > 12 else ''}. "
                "Fix or leave out that file, or choose columns every file has.")
        common = list(columns) if common is None else [c for c in common if c in present]
    return common or []


def parquet_columns(path: str) -> list[str]:
    """A Parquet file's column names, from its footer alone."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return [str(n) for n in pq.read_schema(path).names]
    except (pa.ArrowException, OSError) as exc:
        raise AuditInputError(f"{Path(path).name} is not a readable Parquet file ({exc}).") from exc
