"""What a mitigation costs, measured against the right baseline, and which candidate to recommend.

Every candidate that retrains learns from the comparison's training rows only, so its fair point of
comparison is the same learner refitted on those rows (``baseline_refit``), not the uploaded model, which
may have been trained on more rows (or on some of the test rows). :func:`cost_baseline` picks it whenever
it finished. :func:`accuracy_change` gives the accuracy difference of two candidates on the same test rows
with a paired t interval over the rows (each row's correctness, or its expectation for a randomised
candidate), so "costs 1.2 points" comes with how sure that is. :func:`recommended_candidate` never
recommends a baseline: the uploaded model refitted is no fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from auditapp.mitigation.evaluation import Estimate

BASELINES = ("baseline", "baseline_refit")


def finished(comparison: Any) -> list[Any]:
    """The candidates with a finite accuracy and disparity, in the comparison's order."""
    return [c for c in comparison.candidates if c.error is None and c.accuracy is not None
            and c.disparity is not None and math.isfinite(c.accuracy.value) and math.isfinite(c.disparity.value)]


def cost_baseline(comparison: Any) -> Any:
    """The candidate every cost is measured against: the refitted baseline when it finished, else the
    uploaded model (or prediction column) as it is, else None."""
    done = {c.name: c for c in finished(comparison)}
    return done.get("baseline_refit") or done.get("baseline")


def recommended_candidate(comparison: Any) -> str | None:
    """The fairest mitigation on the Pareto front (lowest disparity; ties go to higher accuracy).

    Baselines are never recommended; None when no mitigation finished on the front.
    """
    front = [c for c in finished(comparison) if c.name in comparison.pareto and c.family != "baseline"]
    if not front:
        return None
    result: str | None = min(front, key=lambda c: (c.disparity.value, -c.accuracy.value)).name
    return result


def _row_correctness(result: Any, y_true: np.ndarray) -> np.ndarray | None:
    """Each test row's correctness (1/0), or its probability of being right for a randomised candidate."""
    decision = result.y_score if result.randomized else result.y_pred
    if decision is None or len(decision) != len(y_true):
        return None
    p = np.asarray(decision, dtype=np.float64)
    return np.where(y_true == 1, p, 1.0 - p)


def true_labels(comparison: Any) -> np.ndarray:
    """The test rows' true labels (1 = favourable)."""
    return np.asarray(comparison.test_rows[comparison.target], dtype=np.int64)


def accuracy_change(comparison: Any, name: str, against: str, *, confidence: float = 0.95) -> Estimate | None:
    """Accuracy of ``name`` minus accuracy of ``against`` on the shared test rows, with a paired t interval.

    The value equals the difference of the two reported accuracies (expectations for randomised candidates).
    None when either candidate has no decisions (failed) or the comparison has no labels.
    """
    from scipy import stats

    by_name = {c.name: c for c in comparison.candidates}
    if not comparison.target or name not in by_name or against not in by_name:
        return None
    y_true = true_labels(comparison)
    one, two = _row_correctness(by_name[name], y_true), _row_correctness(by_name[against], y_true)
    if one is None or two is None or y_true.size < 2:
        return None
    diff = one - two
    mean = float(diff.mean())
    spread = float(diff.std(ddof=1)) / math.sqrt(diff.size)
    if spread == 0.0:
        return Estimate(mean, mean, mean)
    half = float(stats.t.ppf(0.5 + confidence / 2, diff.size - 1)) * spread
    return Estimate(mean, mean - half, mean + half)


@dataclass(frozen=True)
class Verdict:
    """How a candidate's disparity compares with the baseline's, as far as the intervals allow.

    ``kind`` is ``"lower"`` (intervals apart, candidate fairer), ``"higher"`` (apart, candidate less fair)
    or ``"unclear"`` (the intervals overlap: this test set cannot tell them apart).
    """

    kind: str
    sentence: str


def disparity_verdict(candidate: Any, baseline: Any, *, metric_name: str) -> Verdict:
    """Compare two disparities only as far as their confidence intervals support a claim."""
    low, high = candidate.disparity, baseline.disparity
    if math.isfinite(low.high) and math.isfinite(high.low) and low.high < high.low:
        return Verdict("lower", f"Its {metric_name} interval lies wholly below that of {baseline.title}: the "
                                "improvement is unlikely to be noise.")
    if math.isfinite(low.low) and math.isfinite(high.high) and low.low > high.high:
        return Verdict("higher", f"Its {metric_name} interval lies wholly above that of {baseline.title}: it is "
                                 "less fair on these test rows.")
    return Verdict("unclear", f"Its {metric_name} interval overlaps that of {baseline.title}, so these test rows "
                              "cannot tell whether it is fairer: do not rely on the difference.")
