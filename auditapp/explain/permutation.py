"""Model-agnostic Shapley values by permutation sampling over the dataset's raw columns.

For a row ``x``, a permutation of the features switches them one by one from a background row to
``x``; each feature is credited with the change of the model's output (averaged over the
background rows) when it is switched. Averaging over permutations gives Shapley values of the
interventional game ``v(S) = mean_b f(x_S, background_b)`` — the estimator of
``shap.PermutationExplainer``. Every permutation telescopes, so ``base + Σ values == f(x)`` holds
exactly for any number of permutations. When there are no more orderings than ``n_permutations``
(three features or fewer with the default), all of them are used and the values are exact. Sampled
permutations come in antithetic pairs (an order and its reverse), which cancels much of the noise.

This is our own, vectorised implementation rather than ``shap.PermutationExplainer`` because the
latter seeds NumPy's global random state and calls the model once per row; here each chunk of rows
is one call, and the model sees DataFrames with the original column types (strings stay strings).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import permutations
from typing import Any

import numpy as np
import pandas as pd

CHUNK_EVALUATIONS = 200_000


def permutation_shapley(f: Callable[[pd.DataFrame], np.ndarray], rows: pd.DataFrame,
                        background: pd.DataFrame, *, n_permutations: int = 10,
                        seed: int = 0) -> tuple[np.ndarray, float, np.ndarray]:
    """Shapley values of ``f`` at each of ``rows`` against ``background``.

    Parameters
    ----------
    f : callable
        Maps a DataFrame with the columns of ``rows`` to one number per row.
    rows, background : DataFrame
        Rows to explain, and background rows (same columns).
    n_permutations : int, default 10
        Feature orderings per row (rounded up to an even number for antithetic pairs).
    seed : int, default 0
        Seed for ``np.random.default_rng``.

    Returns
    -------
    values : ndarray, shape (n_rows, n_features)
    base_value : float
        Mean of ``f`` over ``background``.
    output : ndarray, shape (n_rows,)
        ``f(rows)``; ``base_value + values.sum(axis=1) == output``.
    """
    columns = list(rows.columns)
    n, p = len(rows), len(columns)
    base = float(np.mean(f(background)))
    output = np.asarray(f(rows), dtype=np.float64) if n else np.zeros(0)
    if n == 0 or p == 1:
        return (output - base).reshape(n, p), base, output
    rng = np.random.default_rng(seed)
    if math.factorial(p) <= n_permutations:
        orders = np.broadcast_to(np.array(list(permutations(range(p)))), (n, math.factorial(p), p))
    else:
        half = max(1, (n_permutations + 1) // 2)
        forward = rng.permuted(np.broadcast_to(np.arange(p), (n, half, p)).copy(), axis=2)
        orders = np.concatenate([forward, forward[:, :, ::-1]], axis=1)
    rank = np.argsort(orders, axis=2)
    per_row = orders.shape[1] * (p - 1) * len(background)
    chunk = max(1, CHUNK_EVALUATIONS // per_row)
    values = np.empty((n, p))
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        steps = _intermediate_outputs(f, rows.iloc[start:stop], background, rank[start:stop])
        full = np.concatenate([np.full(steps.shape[:2] + (1,), base), steps,
                               np.broadcast_to(output[start:stop, None, None],
                                               steps.shape[:2] + (1,))], axis=2)
        gains = np.diff(full, axis=2)
        values[start:stop] = np.take_along_axis(gains, rank[start:stop], axis=2).mean(axis=1)
    return values, base, output


def _intermediate_outputs(f: Callable[[pd.DataFrame], Any], rows: pd.DataFrame, background: pd.DataFrame,
                          rank: np.ndarray) -> np.ndarray:
    """Mean output over the background after switching the first t features, t = 1 … p−1.

    Returns shape ``(rows, permutations, p − 1)``.
    """
    n, n_orders, p = rank.shape
    m = len(background)
    t = np.arange(1, p)
    switched = rank[:, :, None, :] < t[None, None, :, None]
    hybrid = {}
    for j, name in enumerate(rows.columns):
        own = rows[name].to_numpy(dtype=object)[:, None, None, None]
        other = background[name].to_numpy(dtype=object)[None, None, None, :]
        column = np.where(switched[:, :, :, j, None], own, other).reshape(-1)
        hybrid[name] = pd.Series(column).astype(rows[name].dtype)
    result = np.asarray(f(pd.DataFrame(hybrid)), dtype=np.float64)
    return np.asarray(result.reshape(n, n_orders, p - 1, m).mean(axis=3), dtype=np.float64)
