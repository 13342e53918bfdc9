"""Score distributions for the lending simulation: synthetic defaults and the FICO/TransRisk tables.

A :class:`ScoreModel` holds, on one ascending score grid, each group's share of the population, its
score distribution (pmf) and the probability that a borrower with that score repays. The FICO tables
(Federal Reserve 2007, as used by Hardt et al. 2016 and Liu et al. 2018) give TransRisk scores 0–100;
Liu et al. map them to the 300–850 scale with the piecewise-linear conversion below.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError

FICO_CDF_FILE = "transrisk_cdf_by_race_ssa.csv"
FICO_PERFORMANCE_FILE = "transrisk_performance_by_race_ssa.csv"
FICO_TOTALS_FILE = "totals.csv"
FICO_GROUP_NAMES = {"Non- Hispanic white": "White"}
# Liu et al. (2018): percent of the population in each 50-point band of the 300-850 scale; a
# TransRisk score (a percentile) is mapped linearly inside the band that contains it.
_FICO_BANDS = ((300, 2.1), (350, 4.2), (400, 5.4), (450, 6.5), (500, 7.9), (550, 9.6),
               (600, 12.0), (650, 13.8), (700, 17.0), (750, 15.8), (800, 5.7), (850, 0.0))


@dataclass(frozen=True, eq=False)
class ScoreModel:
    """Groups' score distributions and repayment probabilities on one score grid.

    Attributes
    ----------
    scores : numpy.ndarray
        Strictly increasing score grid, shape (n_scores,).
    groups : tuple of str
        Group names.
    pmf : numpy.ndarray
        Shape (n_groups, n_scores); each row is a distribution summing to 1.
    repay : numpy.ndarray
        Shape (n_groups, n_scores); probability of repaying a loan, in [0, 1].
    group_shares : numpy.ndarray
        Each group's share of the population, summing to 1.
    source : str
        Where the numbers come from.
    """

    scores: np.ndarray
    groups: tuple[str, ...]
    pmf: np.ndarray
    repay: np.ndarray
    group_shares: np.ndarray
    source: str = "custom"

    def __post_init__(self) -> None:
        scores = np.asarray(self.scores, dtype=float)
        groups = tuple(str(g) for g in self.groups)
        pmf = np.atleast_2d(np.asarray(self.pmf, dtype=float))
        repay = np.atleast_2d(np.asarray(self.repay, dtype=float))
        shares = np.asarray(self.group_shares, dtype=float)
        n, g = scores.size, len(groups)
        if n < 2 or not np.all(np.isfinite(scores)) or np.any(np.diff(scores) <= 0):
            raise AuditInputError(
                f"The score grid must hold at least two finite, strictly increasing scores; got "
                f"{scores.tolist()[:10]}. Sort the scores and drop duplicates."
            )
        if g < 2 or len(set(groups)) != g:
            raise AuditInputError(f"The lending model needs at least two distinct groups, got {list(groups)}.")
        for name, table in (("score distribution", pmf), ("repayment probability", repay)):
            if table.shape != (g, n):
                raise AuditInputError(
                    f"The {name} table has shape {list(table.shape)}, but {g} groups × {n} scores "
                    "were expected. Give one row per group and one column per score."
                )
            if not np.all(np.isfinite(table)) or table.min() < 0:
                raise AuditInputError(f"The {name} table has negative or missing values. Fix the input table.")
        if repay.max() > 1:
            raise AuditInputError(
                f"Repayment probabilities must be at most 1, but got {float(repay.max()):g}. "
                "Divide percentages by 100."
            )
        totals = pmf.sum(axis=1)
        if np.any(np.abs(totals - 1) > 1e-3):
            raise AuditInputError(
                f"Each group's score distribution must sum to 1, but the sums are "
                f"{np.round(totals, 4).tolist()}. Normalise the distribution."
            )
        if shares.shape != (g,) or not np.all(np.isfinite(shares)) or shares.min() < 0 or shares.sum() <= 0:
            raise AuditInputError(
                f"Give one non-negative population share per group ({g}), got {shares.tolist()}."
            )
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "groups", groups)
        object.__setattr__(self, "pmf", pmf / totals[:, None])
        object.__setattr__(self, "repay", repay)
        object.__setattr__(self, "group_shares", shares / shares.sum())

    def mean_scores(self) -> np.ndarray:
        """Mean score of each group."""
        return np.asarray(self.pmf @ self.scores, dtype=np.float64)

    def with_pmf(self, pmf: np.ndarray) -> ScoreModel:
        """The same model with new score distributions."""
        return ScoreModel(self.scores, self.groups, pmf, self.repay, self.group_shares, self.source)


def synthetic_score_model() -> ScoreModel:
    """Two synthetic groups on a 300–850 grid (step 10) with the same repayment curve.

    Group ``A`` (70% of applicants) has scores around 690, group ``B`` (30%) around 590; the chance
    of repaying depends on the score only (a logistic curve through 0.5 at 560).
    """
    scores = np.arange(300.0, 851.0, 10.0)
    pmf = np.vstack([_discrete_normal(scores, 690.0, 75.0), _discrete_normal(scores, 590.0, 85.0)])
    repay = 1.0 / (1.0 + np.exp(-(scores - 560.0) / 45.0))
    return ScoreModel(scores, ("A", "B"), pmf, np.vstack([repay, repay]), np.array([0.7, 0.3]),
                      source="synthetic (two groups, same repayment curve)")


def _discrete_normal(scores: np.ndarray, mean: float, sd: float) -> np.ndarray:
    weights = np.exp(-0.5 * ((scores - mean) / sd) ** 2)
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def transrisk_to_fico(score: np.ndarray) -> np.ndarray:
    """Map TransRisk scores (0–100, percentiles) to the 300–850 scale as Liu et al. (2018) do."""
    score = np.asarray(score, dtype=float)
    if score.size and (np.nanmin(score) < 0 or np.nanmax(score) > 100):
        raise AuditInputError(
            f"TransRisk scores run from 0 to 100, but got values from {float(np.nanmin(score)):g} "
            f"to {float(np.nanmax(score)):g}."
        )
    starts = np.array([v for v, _ in _FICO_BANDS])
    percent = np.array([s for _, s in _FICO_BANDS])
    edges = np.concatenate([[0.0], np.cumsum(percent[:-1])])
    # np.interp over the cumulative-percent edges is the same piecewise-linear map.
    return np.asarray(np.interp(score, edges, starts), dtype=np.float64)


def read_fico_tables(directory: str | Path, *, groups: tuple[str, ...] | None = None) -> ScoreModel:
    """Read the FICO/TransRisk CSVs from ``directory`` into a :class:`ScoreModel`.

    Parameters
    ----------
    directory : str or Path
        Folder with ``transrisk_cdf_by_race_ssa.csv``, ``transrisk_performance_by_race_ssa.csv``
        and (optionally) ``totals.csv``; columns ``Score`` then one per group. The cdf is the
        cumulative percent of the group at or below each score, the performance the percent
        "bad" (not repaying) at each score.
    groups : tuple of str, optional
        Keep only these groups (names after renaming ``Non- Hispanic white`` to ``White``).

    Returns
    -------
    ScoreModel
        Scores mapped to 300–850; population shares from ``totals.csv`` (equal if it is missing).

    Raises
    ------
    AuditInputError
        If a file is missing or its columns or values do not fit the format.
    """
    folder = Path(directory)
    cdf = _read_fico_csv(folder / FICO_CDF_FILE)
    bad = _read_fico_csv(folder / FICO_PERFORMANCE_FILE)
    if list(cdf.columns) != list(bad.columns) or not np.allclose(cdf.index, bad.index):
        raise AuditInputError(
            f"{FICO_CDF_FILE} and {FICO_PERFORMANCE_FILE} must have the same scores and group columns; "
            f"got {list(cdf.columns)} and {list(bad.columns)}."
        )
    names = list(cdf.columns) if groups is None else [str(g) for g in groups]
    missing = [g for g in names if g not in cdf.columns]
    if missing:
        raise AuditInputError(f"Group(s) {missing} are not in the FICO tables; they hold {list(cdf.columns)}.")
    totals_path = folder / FICO_TOTALS_FILE
    if totals_path.exists():
        totals = pd.read_csv(totals_path).rename(columns=FICO_GROUP_NAMES)
        shares = np.array([float(totals[g].iloc[0]) for g in names])
    else:
        shares = np.ones(len(names))
    cumulative = np.clip(cdf[names].to_numpy().T / 100.0, 0.0, 1.0)
    cumulative = np.maximum.accumulate(cumulative, axis=1)
    pmf = np.diff(cumulative, axis=1, prepend=0.0)
    # The last row of the published cdf is 100%; rounding can leave the sum a hair off 1.
    pmf = pmf / pmf.sum(axis=1, keepdims=True)
    repay = 1.0 - bad[names].to_numpy().T / 100.0
    return ScoreModel(transrisk_to_fico(cdf.index.to_numpy()), tuple(names), pmf,
                      np.clip(repay, 0.0, 1.0), shares, source=f"FICO/TransRisk tables in {folder}")


def _read_fico_csv(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise AuditInputError(
            f"The FICO table {path.name} is missing from {path.parent}. Point --fico at the folder "
            f"holding {FICO_CDF_FILE} and {FICO_PERFORMANCE_FILE}."
        )
    frame = pd.read_csv(path).rename(columns=FICO_GROUP_NAMES)
    if "Score" not in frame.columns or frame.shape[1] < 3:
        raise AuditInputError(
            f"{path.name} must have a Score column and at least two group columns, but has "
            f"{list(map(str, frame.columns))}."
        )
    try:
        frame = frame.set_index("Score").astype(float)
    except ValueError as exc:
        raise AuditInputError(f"{path.name} holds values that are not numbers: {exc}.") from exc
    if frame.isna().any().any():
        raise AuditInputError(f"{path.name} has empty cells. Fill them or use the published file.")
    return frame


def score_model_from_tables(tables: Any, *, map_to_fico_scale: bool | None = None) -> ScoreModel:
    """Adapt any object with ``scores``, per-group ``pmf`` and ``repay`` (and optionally
    ``group_shares``/``totals``) to a :class:`ScoreModel`.

    ``pmf``/``repay`` may be DataFrames (one column per group), dicts of arrays, or 2-D arrays with a
    ``groups`` attribute. Scores on the 0–100 TransRisk scale are mapped to 300–850 unless
    ``map_to_fico_scale`` is False.
    """
    scores = np.asarray(tables.scores, dtype=float)
    pmf, names = _per_group(tables.pmf, getattr(tables, "groups", None))
    repay, _ = _per_group(tables.repay, names)
    shares = getattr(tables, "group_shares", None)
    if shares is None:
        shares = getattr(tables, "totals", None)
    if isinstance(shares, dict):
        shares = [shares[g] for g in names]
    elif isinstance(shares, pd.Series):
        shares = shares[list(names)].to_numpy()
    shares = np.ones(len(names)) if shares is None else np.asarray(shares, dtype=float)
    if map_to_fico_scale is None:
        map_to_fico_scale = bool(scores.size and scores.max() <= 100)
    if map_to_fico_scale:
        scores = transrisk_to_fico(scores)
    return ScoreModel(scores, names, pmf, repay, shares, source=str(getattr(tables, "source", "tables")))


def _per_group(table: Any, names: Any) -> tuple[np.ndarray, tuple[str, ...]]:
    if isinstance(table, pd.DataFrame):
        names = tuple(map(str, table.columns)) if names is None else tuple(names)
        return table[list(names)].to_numpy(dtype=float).T, names
    if isinstance(table, dict):
        names = tuple(table) if names is None else tuple(names)
        return np.vstack([np.asarray(table[g], dtype=float) for g in names]), names
    if names is None:
        raise AuditInputError("Score tables given as arrays need a 'groups' attribute naming the rows.")
    return np.atleast_2d(np.asarray(table, dtype=float)), tuple(map(str, names))
