"""SQL text shared by the DuckDB engine and its score queries: quoting, literals, the prefix read first."""

from __future__ import annotations

__all__ = ["PREFIX_ROWS", "lit", "num", "q"]

PREFIX_ROWS = 1_000_000


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def num(value: float) -> str:
    """An exact DOUBLE literal (parsed from its shortest round-trip text)."""
    return f"CAST({lit(repr(float(value)))} AS DOUBLE)"
