"""Server-side data sources the operator offers in the app (``AUDITAPP_DATA_SOURCES``).

The operator names one directory. The app lists what is in it (at most two levels down): each Parquet or
CSV file; each folder of Parquet (or CSV) files as one source (``folder/*.parquet``); each table of each
DuckDB database file (``duckdb:file.duckdb?table=name``). A user picks an entry from that list; the
server lists again and opens only an entry it finds there, so nothing a browser sends is ever used as a
path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from auditapp.core.errors import AuditInputError
from auditapp.core.limits import runtime
from auditapp.engines.sources import (
    CSV_SUFFIXES,
    DUCKDB_PREFIX,
    PARQUET_SUFFIXES,
    Source,
    parse_source,
)

MAX_ENTRIES = 500
DUCKDB_SUFFIXES = (".duckdb", ".ddb")


@dataclass(frozen=True)
class Entry:
    """One source on offer: ``key`` (relative, what the browser holds) and ``label`` (what it shows)."""

    key: str
    label: str


def sources_root() -> str | None:
    """The operator's data sources directory, or None when the app offers none."""
    root = runtime().data_sources
    return os.path.realpath(root) if root else None


def _kind(name: str) -> str | None:
    suffix = os.path.splitext(name)[1].lower()
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in CSV_SUFFIXES:
        return "csv"
    return "duckdb" if suffix in DUCKDB_SUFFIXES else None


def _tables(path: str) -> list[str]:
    import duckdb

    try:
        con = duckdb.connect(path, read_only=True, config={"enable_external_access": False})
    except duckdb.Error:
        return []
    try:
        rows = con.sql("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY 1, 2").fetchall()
    finally:
        con.close()
    return [name if schema == "main" else f"{schema}.{name}" for schema, name in rows]


def list_sources(root: str) -> list[Entry]:
    """What ``root`` offers (see the module docstring), sorted, at most ``MAX_ENTRIES``."""
    entries: list[Entry] = []
    for folder, dirs, files in os.walk(root):
        depth = os.path.relpath(folder, root).count(os.sep) + (folder != root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if depth < 2 else []
        relative = os.path.relpath(folder, root)
        kinds: dict[str, list[str]] = {}
        for name in sorted(f for f in files if not f.startswith(".")):
            kind = _kind(name)
            if kind is None or os.path.islink(os.path.join(folder, name)):
                continue
            key = name if folder == root else os.path.join(relative, name)
            if kind == "duckdb":
                entries += [Entry(f"{DUCKDB_PREFIX}{key}?table={t}", f"{key} · table {t}")
                            for t in _tables(os.path.join(folder, name))]
            else:
                kinds.setdefault(kind, []).append(key)
                entries.append(Entry(key, key))
        if folder != root:
            for kind, keys in kinds.items():
                if len(keys) > 1:
                    pattern = os.path.join(relative, "*" + (".parquet" if kind == "parquet" else ".csv"))
                    entries.append(Entry(pattern, f"{pattern} ({len(keys)} files)"))
        if len(entries) >= MAX_ENTRIES:
            break
    return sorted(entries, key=lambda e: e.key)[:MAX_ENTRIES]


def open_entry(key: str, root: str | None = None) -> Source:
    """The source of an entry the server offers, or an error (never a path the browser made up)."""
    root = root or sources_root()
    if root is None:
        raise AuditInputError("This server offers no server-side data sources (the operator sets "
                              "AUDITAPP_DATA_SOURCES to a directory).")
    offered = {e.key for e in list_sources(root)}
    if key not in offered:
        raise AuditInputError("That data source is not on offer (any more). Pick one from the list.")
    if key.startswith(DUCKDB_PREFIX):
        path, _, query = key[len(DUCKDB_PREFIX):].rpartition("?")
        return parse_source(f"{DUCKDB_PREFIX}{os.path.join(root, path)}?{query}", root=root)
    return parse_source(os.path.join(root, key), root=root)
