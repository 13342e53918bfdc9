"""Random decisions that do not depend on row order: a seeded hash of a stable row key.

A randomised classifier (ThresholdOptimizer's mix of two thresholds, ExponentiatedGradient's mix of
models) gives each row a probability ``p`` of the favourable decision. To decide, each row gets a number
``u`` in [0, 1) from a seeded hash of its key, and is favourable when ``u < p``. The key is a column the
user names (an applicant id), or the row's own content (every input column). So the same person gets the
same decision whatever the order of the rows, in whatever file, and over many rows the share decided
favourably is ``p`` on average (the hash behaves like a uniform draw).

Canonical values: a column whose every value reads as a number is hashed as float64 numbers (so 44,
44.0 and "44" are the same key); other columns are hashed as text (missing values as one marker).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError

_MISSING_TEXT = "\x00missing"


def _splitmix(values: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a bijection on uint64 that spreads every input bit over the output."""
    z = values.astype(np.uint64, copy=True)
    z += np.uint64(0x9E3779B97F4A7C15)
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def _numeric(column: pd.Series) -> np.ndarray | None:
    """The column as float64 when every present value is a number (or a bool), else None."""
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_numeric_dtype(column.dtype):
        result2: np.ndarray | None = column.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
        return result2
    present = column.notna()
    if present.any():  # one value that does not read as a number settles it, without coercing the column
        first = column[present].iloc[:1]
        if bool(pd.to_numeric(first, errors="coerce").isna().any()):
            return None
    numbers = pd.to_numeric(column.where(present), errors="coerce")
    if bool((numbers.isna() & present).any()):
        return None
    result: np.ndarray | None = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    return result


def _column_hash(column: pd.Series, seed_text: str) -> np.ndarray:
    numbers = _numeric(column)
    if numbers is not None:
        numbers = np.where(numbers == 0.0, 0.0, numbers)  # -0.0 and 0.0 are one value
        bits = numbers.view(np.uint64).copy()
        bits[np.isnan(numbers)] = np.uint64(0x7FF8000000000001)
        return _splitmix(bits)
    if isinstance(column.dtype, pd.StringDtype):  # already text: the same strings, without str() of each value
        text = column.to_numpy(dtype=object, na_value=_MISSING_TEXT)
    else:
        text = column.astype(object).where(column.notna(), _MISSING_TEXT).map(str).to_numpy(dtype=object)
    result: np.ndarray = pd.util.hash_array(text, encoding="utf8", hash_key=seed_text, categorize=True).astype(np.uint64)
    return result


def row_keys(frame: pd.DataFrame, columns: Sequence[str], *, seed: int = 0) -> np.ndarray:
    """A seeded 64-bit hash of each row's values in ``columns`` (in that order).

    Raises
    ------
    AuditInputError
        If a column is missing from ``frame`` or no column is given.
    """
    columns = list(columns)
    if not columns:
        raise AuditInputError("Random decisions need at least one column to key the rows on.")
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise AuditInputError(
            f"The row key column(s) {', '.join(map(repr, absent))} are not in the table, so the random "
            "decisions cannot be keyed. Include them in the rows to decide."
        )
    seed_value = np.uint64(int(seed) & 0xFFFFFFFFFFFFFFFF)
    seed_text = f"{int(seed) & 0xFFFFFFFFFFFFFFFF:016x}"
    state = _splitmix(np.full(len(frame), seed_value, dtype=np.uint64))
    for name in columns:
        state = _splitmix(state ^ _column_hash(frame[name], seed_text))
    return state


def uniform_draws(frame: pd.DataFrame, columns: Sequence[str], *, seed: int = 0) -> np.ndarray:
    """One number in [0, 1) per row from the seeded hash of its key (53 bits, like ``random()``)."""
    keys = row_keys(frame, columns, seed=seed)
    return (keys >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def keyed_decisions(probabilities: Any, frame: pd.DataFrame, columns: Sequence[str], *, seed: int = 0) -> np.ndarray:
    """0/1 decisions: favourable where the row's hashed number is below its probability."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.shape != (len(frame),):
        raise AuditInputError(f"Got {p.size} probabilities for {len(frame)} rows.")
    return (uniform_draws(frame, columns, seed=seed) < p).astype(np.int64)


def key_columns(input_columns: Sequence[str], row_key: str | None) -> list[str]:
    """The columns that key a row: the named ``row_key``, or every input column (the row's content)."""
    return [row_key] if row_key else list(input_columns)


def describe_keys(frame: pd.DataFrame, columns: Sequence[str], *, row_key: str | None, seed: int) -> str:
    """How a candidate's random decisions are keyed, and a warning when many rows share their key."""
    key = f"the column '{row_key}'" if row_key else "the row's content (every input column)"
    note = (f"Each decision is drawn from its probability by a seeded hash (seed {seed}) of {key}, so a "
            "row gets the same decision in any order; the numbers shown are expectations over those draws, "
            "with the spread of single draws beside them.")
    shared = float(pd.Series(row_keys(frame, columns, seed=seed)).duplicated(keep=False).mean()) if len(frame) else 0.0
    if shared >= 0.01:
        note += (f" {100 * shared:.0f}% of the rows share their key with another row and so get the same "
                 "decision; name a column that identifies each person (--row-key) for independent decisions.")
    return note
