"""From a grouped table of raw values to the counts table and score histograms.

An out-of-core engine groups the rows by the raw values of the columns the spec names (the sensitive
features, the target, the prediction column) or by what it computed per row (a binned feature's bin,
the decision ``score >= threshold``, the score's histogram bin), and counts them. Such a table has a few
thousand rows at most, and the rules of ``spec.prepare`` are applied to it here, with the very same
functions (``_same_value``, ``_labels``, ``_predictions_from_column``, ``sensitive_frame``,
``bin_labels``): every engine maps a value to a label exactly as the pandas path maps each row.

The raw table's columns: ``s0 .. s{F-1}`` (a sensitive feature's raw value, or its bin index with -1 for
missing), ``t`` (the target's raw value), then either ``p`` (the prediction column's raw value) or ``d``
(the decision, 0/1) with ``b`` (the score's bin; -1 when there is no score, -2 when the score is missing)
and ``ssum`` (the sum of the scores), and ``n`` (the number of rows).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.core.spec import (
    MISSING_GROUP,
    _labels,
    _predictions_from_column,
    bin_labels,
    decision_rule,
    sensitive_frame,
)
from auditapp.engines.base import CELLS, Aggregates
from auditapp.engines.histograms import BinGrid, ScoreHistograms
from auditapp.engines.plan import Plan

MISSING_SCORE = -2  # the bin of a row whose score is NULL or NaN


def sensitive_column(i: int) -> str:
    return f"s{i}"


def _weighted_missing(values: pd.Series, weights: np.ndarray) -> int:
    return int(weights[values.isna().to_numpy()].sum())


def labels_of(raw: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """The sensitive labels of each raw row, as ``spec.sensitive_frame`` gives them for each data row."""
    spec = plan.spec
    out = {}
    plain = [name for name in spec.sensitive if name not in plan.edges]
    if plain:
        frame = pd.DataFrame({name: raw[sensitive_column(spec.sensitive.index(name))] for name in plain})
        texts = sensitive_frame(frame, replace(spec, sensitive=tuple(plain), bins={}, reference={}))
        out.update({name: texts[name].to_numpy(dtype=object) for name in plain})
    for name, edges in plan.edges.items():
        names = np.asarray([*bin_labels(edges), MISSING_GROUP], dtype=object)
        index = raw[sensitive_column(spec.sensitive.index(name))].to_numpy(dtype=np.int64)
        out[name] = names[np.where(index < 0, len(names) - 1, index)]
    return pd.DataFrame({name: out[name] for name in spec.sensitive})


def finish(raw: pd.DataFrame, plan: Plan, *, model: Any = None, engine: str, has_scores: bool) -> Aggregates:
    """The counts table and histograms of a grouped raw table (see the module docstring).

    Raises
    ------
    AuditInputError
        As ``spec.prepare`` would for the same rows (missing target or prediction values, a target that is
        not binary, a favourable value that never occurs, predictions that are not outcomes, too many groups).
    """
    spec = plan.spec
    raw = raw.reset_index(drop=True)
    weights = raw["n"].to_numpy(dtype=np.int64)
    keep = weights > 0
    raw, weights = raw[keep].reset_index(drop=True), weights[keep]
    if not len(raw):
        raise AuditInputError("The dataset has no rows to audit.")
    target = raw["t"].rename(spec.target)
    missing = _weighted_missing(target, weights)
    if missing:
        raise AuditInputError(
            f"The target column '{spec.target}' has {missing:,} missing value(s). Fill them or remove those "
            "rows before auditing.")
    y_true = _labels(target.to_frame(), spec).astype(np.int64)
    if plan.source == "prediction":
        predictions = raw["p"].rename(spec.prediction)
        missing = _weighted_missing(predictions, weights)
        if missing:
            raise AuditInputError(
                f"The prediction column '{spec.prediction}' has {missing:,} missing value(s). Every row needs "
                "a prediction.")
        both = pd.DataFrame({spec.target: target, spec.prediction: predictions})
        y_pred = _predictions_from_column(both, spec).astype(np.int64)
    else:
        y_pred = raw["d"].to_numpy(dtype=np.int64)
    notices = []
    positive = int(weights[y_pred == 1].sum())
    if positive in (0, int(weights.sum())):
        notices.append(
            f"Every row is predicted {'favourable' if positive else 'unfavourable'}; rates that divide by "
            "predicted positives or negatives are undefined.")
    bins = raw["b"].to_numpy(dtype=np.int64) if has_scores else None
    if bins is not None and (bins == MISSING_SCORE).any():
        missing = int(weights[bins == MISSING_SCORE].sum())
        raise AuditInputError(
            f"The score column '{spec.score}' has {missing:,} missing value(s). Every row needs a score.")
    labels = labels_of(raw, plan)
    sums = raw["ssum"].to_numpy(dtype=np.float64) if has_scores else None
    cells, histograms = tabulate(labels, y_true, y_pred, weights, bins=bins, sums=sums,
                                 grid=plan.grid if has_scores else None)
    threshold = plan.threshold if plan.source == "score" else spec.threshold
    rule = decision_rule(spec, model, True if has_scores else None)
    return Aggregates(features=spec.sensitive, cells=cells, histograms=histograms, source=plan.source,
                      threshold=threshold, decision_rule=rule, engine=engine, notices=tuple(notices))


def tabulate(labels: pd.DataFrame, y_true: np.ndarray, y_pred: np.ndarray, weights: np.ndarray, *,
             bins: np.ndarray | None = None, sums: np.ndarray | None = None,
             grid: BinGrid | None = None) -> tuple[pd.DataFrame, ScoreHistograms | None]:
    """The counts table (sorted by the labels) and the histograms aligned with it.

    ``labels`` has a column per feature; each of its rows stands for ``weights`` rows with that outcome
    ``y_true``, decision ``y_pred`` and (with histograms) score bin ``bins`` whose scores add up to ``sums``.
    """
    features = list(labels.columns)
    key = labels.astype(str)
    codes, uniques = pd.MultiIndex.from_frame(key).factorize(sort=True) if len(features) > 1 else \
        pd.factorize(key.iloc[:, 0], sort=True)
    codes = np.asarray(codes, dtype=np.int64)
    n_cells = len(uniques)
    table = np.zeros((n_cells, 4), dtype=np.int64)
    np.add.at(table, (codes, 2 * np.asarray(y_true, dtype=np.int64) + np.asarray(y_pred, dtype=np.int64)),
              np.asarray(weights, dtype=np.int64))
    values = pd.DataFrame(list(uniques), columns=features) if len(features) > 1 else \
        pd.DataFrame({features[0]: list(uniques)})
    cells = pd.concat([values.astype(str), pd.DataFrame(table, columns=list(CELLS))], axis=1)
    if grid is None or bins is None:
        return cells, None
    size = grid.bins + 1
    counts = np.zeros((n_cells, 2, size), dtype=np.int64)
    total = np.zeros((n_cells, 2, size), dtype=np.float64)
    scored = bins >= 0
    index = (codes[scored], np.asarray(y_true)[scored], bins[scored])
    np.add.at(counts, index, np.asarray(weights)[scored])
    np.add.at(total, index, np.asarray(sums, dtype=np.float64)[scored])
    return cells, ScoreHistograms(grid, counts, total)
