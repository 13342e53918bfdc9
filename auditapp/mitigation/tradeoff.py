"""fairlearn's ThresholdOptimizer trade-off curve, computed from arrays: the same points, in less time.

For each group, ThresholdOptimizer (fairlearn 0.15) sweeps every threshold between consecutive distinct
scores, turns each into a confusion matrix and then into an (x, y) point, sorts the points and keeps their
upper convex hull (``fairlearn.postprocessing._tradeoff_curve_utilities._tradeoff_curve``). It does so one
row at a time through dataframe row iterators: about 0.35 s of the 0.4 s the candidate takes on 31,655
rows. :func:`tradeoff_curve` computes the same thing with cumulative counts over the sorted scores: the
same integer counts, the same float divisions in the same order, the same stable sort and the same hull
test, hence the same points and operations bit for bit (``tests/auditapp/test_tradeoff.py`` compares the
two on inputs with many ties, both label balances, flipping and every metric pair).

:func:`exact_tradeoff_curves` puts it in fairlearn's place for the duration of one fit. It is used only on
the fairlearn version it was checked against, and only for data it covers (finite scores, 0/1 labels);
anything else goes to fairlearn's own function.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

CHECKED_FAIRLEARN = "0.15.0"
_SWAP = threading.Lock()


def _metric(name: str, tp: Any, fp: Any, tn: Any, fn: Any) -> Any:
    """fairlearn's ``METRIC_DICT[name]`` on count arrays (exact integers as float64: the same divisions)."""
    positives, negatives, n = tp + fn, tn + fp, tp + tn + fp + fn
    if name == "selection_rate":
        return (tp + fp) / n
    if name == "false_positive_rate":
        return fp / negatives
    if name == "false_negative_rate":
        return fn / positives
    if name == "true_positive_rate":
        return tp / positives
    if name == "true_negative_rate":
        return tn / negatives
    if name == "accuracy_score":
        return (tp + tn) / n
    if name == "balanced_accuracy_score":
        return 0.5 * tp / positives + 0.5 * tn / negatives
    raise KeyError(name)


def covered(data: Any) -> bool:
    """True when :func:`tradeoff_curve` reproduces fairlearn's function for ``data``."""
    if not isinstance(data, pd.DataFrame) or "score" not in data.columns or "label" not in data.columns:
        return False
    scores, labels = data["score"].to_numpy(), data["label"].to_numpy()
    if scores.dtype.kind != "f" or labels.dtype.kind not in "iub" or len(scores) == 0:
        return False
    return bool(np.isfinite(scores).all() and np.isin(labels, (0, 1)).all())


def tradeoff_curve(data: pd.DataFrame, sensitive_feature_value: Any, flip: bool = False,
                   x_metric: str = "false_positive_rate", y_metric: str = "true_positive_rate") -> pd.DataFrame:
    """The upper convex hull of the trade-off points, as fairlearn's ``_tradeoff_curve`` returns it.

    Raises
    ------
    ValueError
        When the group has only one label (fairlearn's message).
    """
    from fairlearn.postprocessing._threshold_operation import ThresholdOperation
    from fairlearn.postprocessing._tradeoff_curve_utilities import DEGENERATE_LABELS_ERROR_MESSAGE

    scores = data["score"].to_numpy(dtype=np.float64)
    labels = data["label"].to_numpy().astype(np.int64)
    order = np.argsort(-scores, kind="stable")
    scores, labels = scores[order], labels[order]
    n = len(labels)
    n_positive = int(labels.sum())
    n_negative = n - n_positive
    if n_positive == 0 or n_negative == 0:
        raise ValueError(DEGENERATE_LABELS_ERROR_MESSAGE.format(sensitive_feature_value))
    # the last row of each run of equal scores: the sweep's stops after the initial point
    last = np.flatnonzero(np.append(scores[1:] != scores[:-1], True))
    positives_seen = np.concatenate([[0], np.cumsum(labels)[last]]).astype(np.float64)
    negatives_seen = np.concatenate([[0], last + 1]).astype(np.float64) - positives_seen
    following = np.append(scores[last[1:]], -np.inf) if len(last) else np.array([])
    thresholds = np.concatenate([[np.inf], (scores[last] + following) / 2])
    pos, neg = float(n_positive), float(n_negative)
    kinds = [(">", positives_seen, negatives_seen, neg - negatives_seen, pos - positives_seen)]
    if flip:
        kinds.append(("<", pos - positives_seen, neg - negatives_seen, negatives_seen, positives_seen))
    # points in fairlearn's order: per threshold, '>' then '<'
    x = np.column_stack([_metric(x_metric, tp, fp, tn, fn) for _, tp, fp, tn, fn in kinds]).ravel()
    y = np.column_stack([_metric(y_metric, tp, fp, tn, fn) for _, tp, fp, tn, fn in kinds]).ravel()
    operators = [op for op, *_ in kinds]
    point_threshold = np.repeat(thresholds, len(kinds))
    point_operator = np.tile(np.arange(len(kinds)), len(thresholds))
    ranked = np.lexsort((y, x))  # stable: ties keep the sweep's order, as the dataframe sort does
    xs, ys = x[ranked].tolist(), y[ranked].tolist()
    selected: list[int] = []
    for index in range(len(xs)):  # Andrew's monotone chain, fairlearn's test
        x2, y2 = xs[index], ys[index]
        while len(selected) >= 2:
            r1, r0 = selected[-1], selected[-2]
            if (ys[r1] - ys[r0]) * (x2 - xs[r0]) <= (y2 - ys[r0]) * (xs[r1] - xs[r0]):
                selected.pop()
            else:
                break
        selected.append(index)
    kept = ranked[selected]
    return pd.DataFrame({
        "x": x[kept], "y": y[kept],
        "operation": [ThresholdOperation(operators[point_operator[i]], float(point_threshold[i])) for i in kept],
    })


def _either(original: Any) -> Any:
    def curve(data: Any, sensitive_feature_value: Any, flip: bool = False, x_metric: str = "false_positive_rate",
              y_metric: str = "true_positive_rate") -> Any:
        if covered(data):
            return tradeoff_curve(data, sensitive_feature_value, flip=flip, x_metric=x_metric, y_metric=y_metric)
        return original(data, sensitive_feature_value, flip=flip, x_metric=x_metric, y_metric=y_metric)

    return curve


@contextmanager
def exact_tradeoff_curves() -> Iterator[None]:
    """Within the block, ThresholdOptimizer fits compute their curves with :func:`tradeoff_curve`.

    One block at a time (the swap is of a module attribute); outside it fairlearn is untouched. On a
    fairlearn version other than the one checked, nothing is swapped.
    """
    import fairlearn
    from fairlearn.postprocessing import _threshold_optimizer as module

    if fairlearn.__version__ != CHECKED_FAIRLEARN:
        yield
        return
    with _SWAP:
        original = module._tradeoff_curve
        module._tradeoff_curve = _either(original)
        try:
            yield
        finally:
            module._tradeoff_curve = original
