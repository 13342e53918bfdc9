"""One seeded train/test split, stratified by group × label, shared by every mitigation candidate."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from auditapp.core.errors import AuditInputError


@dataclass(frozen=True)
class SplitInfo:
    """Where the training and test rows came from.

    ``train_positions`` and ``test_positions`` are row positions in the training and test tables
    (the same table when ``source == "split"``). ``test_rows_sha256`` fingerprints the test rows
    (their index labels and labels), so results can prove they were evaluated on the same rows.
    """

    source: str
    train_rows: int
    test_rows: int
    seed: int
    test_size: float | None
    train_positions: np.ndarray
    test_positions: np.ndarray
    test_rows_sha256: str


def stratified_split(strata: Any, *, test_size: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split row positions into train and test, keeping each stratum's share in both parts.

    Each stratum (e.g. ``"female|1"``) sends ``round(n * test_size)`` of its rows, drawn at random,
    to the test part; a stratum of one row stays in training.

    Parameters
    ----------
    strata : array-like
        One stratum label per row.
    test_size : float
        Share of rows in the test part, in [0.05, 0.9].
    seed : int
        Seed for ``np.random.default_rng``.

    Returns
    -------
    train, test : ndarray of int
        Sorted row positions.

    Raises
    ------
    AuditInputError
        If ``test_size`` is outside [0.05, 0.9] or either part would be empty.
    """
    test_size = float(test_size)
    if not 0.05 <= test_size <= 0.9:
        raise AuditInputError(
            f"The test share must be between 0.05 and 0.9, got {test_size:g}. "
            "Use e.g. 0.3 to hold out 30% of the rows."
        )
    codes = np.unique(np.asarray(strata).astype(str), return_inverse=True)[1]
    rng = np.random.default_rng(seed)
    test_mask = np.zeros(codes.size, dtype=bool)
    for code in range(int(codes.max()) + 1 if codes.size else 0):
        members = np.flatnonzero(codes == code)
        n_test = int(round(members.size * test_size))
        if members.size > 1 and n_test > 0:
            test_mask[rng.choice(members, size=min(n_test, members.size - 1), replace=False)] = True
    if test_mask.all() or not test_mask.any():
        raise AuditInputError(
            f"Splitting {codes.size} rows with a test share of {test_size:g} leaves an empty part. "
            "Use more rows or give a separate test file."
        )
    return np.flatnonzero(~test_mask), np.flatnonzero(test_mask)


def rows_fingerprint(index: Any, y_true: Any) -> str:
    """sha256 of the test rows' index labels and true labels (order matters)."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, list(index))).encode("utf-8"))
    digest.update(np.asarray(y_true, dtype=np.int8).tobytes())
    return digest.hexdigest()
