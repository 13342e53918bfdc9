"""Confidence intervals and tests computed from counts: one proportion, and two independent proportions.

Every function takes arrays of counts (numerator ``x`` and denominator ``n``) and works element-wise, so
one call serves every group, metric and grouping of an audit. Nothing here draws random numbers: the
intervals are closed-form or found by bisection, and the same counts always give the same numbers.

- One proportion: the **Wilson score interval**, except that a bound next to 0 or 1 events
  (``x <= EXACT_ENDS`` events, or as few non-events) is the exact Clopper–Pearson bound, where Wilson
  is known to under-cover. It never has zero width from a zero count. A denominator below
  ``MIN_DENOMINATOR`` gets no interval: the rate is "too few to estimate".
- Two proportions, difference ``p1 - p2``: the **Miettinen–Nurminen score interval** (the score test
  inverted, with the small-sample variance factor N/(N−1)); ratio ``p1 / p2``: the Miettinen–Nurminen
  (Koopman-type) score interval for the risk ratio. The test of "no difference" is the same score
  statistic at 0 (which is also the ratio's statistic at 1), so an interval excludes 0 (or 1) exactly
  when the test's p-value is below 1 − confidence.
- Sums of independent proportions (balanced accuracy, the average odds difference): MOVER (Newcombe's
  method of variance estimates recovery) from Wilson limits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from auditapp.core.rates import normal_quantile

MIN_DENOMINATOR = 10
EXACT_ENDS = 5
_BISECTIONS = 60
_TREE_POINTS = 256  # bisection midpoints evaluated per call, over all elements (see ``bisect_levels``)
_erfc = np.vectorize(math.erfc, otypes=[float])


def bisect_levels(move_low: Callable[[np.ndarray], np.ndarray], low: ArrayLike, high: ArrayLike,
                  iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """Bisection of every element's bracket ``[low, high]`` (``iterations`` halvings), several levels per call.

    ``move_low(points)`` gets points shaped like ``low`` or ``(P, *low.shape)`` and says, per point, whether the
    root lies above it (the bracket's low end moves up to it); it must work element-wise. Each call evaluates
    a whole tree of midpoints, every one computed as one-at-a-time bisection computes it (``(lo + hi) / 2`` of
    its parent's half), then walks it: the brackets are one-at-a-time bisection's, in about
    ``iterations / depth`` calls instead of ``iterations`` (the depth is chosen so that a call sees at most
    ``_TREE_POINTS`` points). For the small arrays of an audit (a few groups) a call costs what one midpoint
    costs, so this is several times faster.
    """
    lo, hi = np.array(low, dtype=np.float64), np.array(high, dtype=np.float64)
    shape = lo.shape
    lo, hi = lo.ravel(), hi.ravel()
    columns = np.arange(lo.size)
    depth = max(1, min(6, int(math.log2(_TREE_POINTS / max(lo.size, 1) + 1))))
    if depth == 1:  # many elements: one midpoint each per call
        for _ in range(iterations):
            mid = (lo + hi) / 2
            move = np.asarray(move_low(mid.reshape(shape)), dtype=bool).ravel()
            lo, hi = np.where(move, mid, lo), np.where(move, hi, mid)
        return lo.reshape(shape), hi.reshape(shape)
    done = 0
    while done < iterations:
        levels = min(depth, iterations - done)
        # Row 2**k - 1 + j holds bracket j of level k; its halves are brackets 2j (low) and 2j + 1 of level k + 1.
        points = np.empty((2 ** levels - 1, lo.size))
        los, his = lo[None], hi[None]
        for k in range(levels):
            mid = (los + his) / 2
            points[2 ** k - 1:2 ** (k + 1) - 1] = mid
            if k + 1 < levels:
                next_lo, next_hi = np.empty((2 * len(mid), lo.size)), np.empty((2 * len(mid), lo.size))
                next_lo[0::2], next_lo[1::2], next_hi[0::2], next_hi[1::2] = los, mid, mid, his
                los, his = next_lo, next_hi
        moves = np.asarray(move_low(points.reshape(-1, *shape)), dtype=bool).reshape(points.shape)
        node = np.zeros(lo.size, dtype=np.intp)
        for k in range(levels):
            row = 2 ** k - 1 + node
            mid, move = points[row, columns], moves[row, columns]
            lo, hi = np.where(move, mid, lo), np.where(move, hi, mid)
            node = 2 * node + move
        done += levels
    return lo.reshape(shape), hi.reshape(shape)


def z_value(confidence: ArrayLike) -> np.ndarray:
    """The two-sided normal critical value for a confidence level (array or scalar)."""
    level = np.asarray(confidence, dtype=np.float64)
    result: np.ndarray = normal_quantile(0.5 + level / 2.0)
    return result


def normal_two_sided_p(statistic: ArrayLike) -> np.ndarray:
    """Two-sided p-value of a standard normal statistic (NaN stays NaN)."""
    stat = np.abs(np.asarray(statistic, dtype=np.float64))
    out = np.full(stat.shape, np.nan)
    ok = ~np.isnan(stat)
    out[ok] = _erfc(stat[ok] / math.sqrt(2.0))
    result: np.ndarray = np.minimum(out, 1.0)
    return result


def _arrays(*values: ArrayLike) -> tuple[np.ndarray, ...]:
    return np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in values))


def wilson(x: ArrayLike, n: ArrayLike, z: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The plain Wilson score interval (NaN where ``n`` is 0)."""
    x, n, z = _arrays(x, n, z)
    with np.errstate(invalid="ignore", divide="ignore"):
        z2 = z * z
        centre = (x + z2 / 2) / (n + z2)
        half = z * np.sqrt(np.maximum(x * (n - x) / n, 0.0) + z2 / 4) / (n + z2)
        low, high = centre - half, centre + half
    low = np.where(x <= 0, 0.0, np.clip(low, 0.0, 1.0))
    high = np.where(x >= n, 1.0, np.clip(high, 0.0, 1.0))
    bad = n <= 0
    return np.where(bad, np.nan, low), np.where(bad, np.nan, high)


def _binomial_cdf(k: np.ndarray, n: np.ndarray, p: np.ndarray, kmax: int) -> np.ndarray:
    """P(X <= k) for X ~ Binomial(n, p), for small ``k`` (at most ``kmax``)."""
    total = np.zeros(np.broadcast(k, n, p).shape)
    log_p, log_q = np.log(np.maximum(p, 1e-300)), np.log1p(-np.minimum(p, 1 - 1e-16))
    log_choose = np.zeros(total.shape)
    for j in range(kmax + 1):
        if j:
            log_choose = log_choose + np.log(np.maximum(n - (j - 1), 1.0)) - math.log(j)
        term = np.exp(log_choose + j * log_p + (n - j) * log_q)
        total += np.where((j <= k) & (j <= n), term, 0.0)
    return np.minimum(total, 1.0)


def _exact_lower(x: np.ndarray, n: np.ndarray, tail: np.ndarray) -> np.ndarray:
    """Clopper–Pearson lower bound for small ``x`` >= 1: p with P(X >= x | p) = tail (bisection)."""
    kmax = int(x.max()) if x.size else 0
    lo, _ = bisect_levels(lambda p: 1.0 - _binomial_cdf(x - 1, n, p, kmax) <= tail, np.zeros(x.shape),
                          np.ones(x.shape), _BISECTIONS)
    return lo


def proportion_interval(x: ArrayLike, n: ArrayLike, z: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Interval for one proportion: Wilson, with exact (Clopper–Pearson) bounds next to 0 and 1 events.

    NaN where ``n`` is below ``MIN_DENOMINATOR`` (too few to estimate).
    """
    x, n, z = _arrays(x, n, z)
    low, high = wilson(x, n, z)
    tail = 1.0 - normal_quantile_cdf(z)
    few = (x >= 1) & (x <= EXACT_ENDS) & (n >= MIN_DENOMINATOR)
    if few.any():
        low[few] = np.minimum(low[few], _exact_lower(x[few], n[few], tail[few]))
    few_not = (n - x >= 1) & (n - x <= EXACT_ENDS) & (n >= MIN_DENOMINATOR)
    if few_not.any():
        high[few_not] = np.maximum(high[few_not],
                                   1.0 - _exact_lower(n[few_not] - x[few_not], n[few_not], tail[few_not]))
    too_few = n < MIN_DENOMINATOR
    return np.where(too_few, np.nan, low), np.where(too_few, np.nan, high)


def normal_quantile_cdf(z: ArrayLike) -> np.ndarray:
    """Standard normal CDF of ``z`` (array)."""
    z = np.asarray(z, dtype=np.float64)
    result: np.ndarray = 1.0 - 0.5 * _erfc(z / math.sqrt(2.0))
    return result


# --- two proportions: Miettinen–Nurminen score statistic ------------------------------------------

def _diff_null(x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray,
               delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood (p1, p2) under p1 - p2 = delta (Farrington–Manning closed form).

    The cubic in p2 is ``N p^3 + t2 p^2 + t1 p + t0``; its ``delta^2`` term is ``n2 delta^2``
    (statsmodels 0.15 writes ``x2 delta^2`` there, which picks an infeasible root when x2 < n2).
    """
    nobs, count = n1 + n2, x1 + x2
    with np.errstate(invalid="ignore", divide="ignore"):
        t3 = nobs
        t2 = (n1 + 2 * n2) * delta - nobs - count
        t1 = (n2 * delta - nobs - 2 * x2) * delta + count
        t0 = x2 * delta * (1 - delta)
        q = (t2 / (3 * t3)) ** 3 - t1 * t2 / (6 * t3 ** 2) + t0 / (2 * t3)
        p = np.sign(q) * np.sqrt(np.maximum((t2 / (3 * t3)) ** 2 - t1 / (3 * t3), 0.0))
        cosine = np.where(p != 0, np.clip(q / p ** 3, -1.0, 1.0), 0.0)
        a = (np.pi + np.arccos(cosine)) / 3
        p2 = 2 * p * np.cos(a) - t2 / (3 * t3)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = count / nobs
    p2 = np.where(delta == 0, pooled, p2)
    p2 = np.minimum(np.maximum(p2, 0.0), 1.0)
    p1 = np.minimum(np.maximum(p2 + delta, 0.0), 1.0)
    return p1, p2


def diff_score_statistic(x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike,
                         delta: ArrayLike = 0.0) -> np.ndarray:
    """Miettinen–Nurminen score statistic for H0: p1 - p2 = delta (NaN where undefined)."""
    result: np.ndarray = _diff_statistic(*_arrays(x1, n1, x2, n2, delta))
    return result


def _diff_statistic(x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray,
                    delta: np.ndarray) -> np.ndarray:
    p1, p2 = _diff_null(x1, n1, x2, n2, delta)
    nobs = n1 + n2
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2) * nobs / (nobs - 1)
        statistic: np.ndarray = (x1 / n1 - x2 / n2 - delta) / np.sqrt(var)
        return statistic


def ratio_score_statistic(x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike,
                          ratio: ArrayLike = 1.0) -> np.ndarray:
    """Miettinen–Nurminen score statistic for H0: p1 / p2 = ratio."""
    result: np.ndarray = _ratio_statistic(*_arrays(x1, n1, x2, n2, ratio))
    return result


def _ratio_statistic(x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray,
                     ratio: np.ndarray) -> np.ndarray:
    nobs, count = n1 + n2, x1 + x2
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        a = nobs * ratio
        b = -(n1 * ratio + x1 + n2 + x2 * ratio)
        p2 = (-b - np.sqrt(np.maximum(b * b - 4 * a * count, 0.0))) / (2 * a)
        p2 = np.where(ratio == 1, count / nobs, np.clip(p2, 0.0, 1.0))
        p1 = np.clip(p2 * ratio, 0.0, 1.0)
        var = (p1 * (1 - p1) / n1 + ratio ** 2 * p2 * (1 - p2) / n2) * nobs / (nobs - 1)
        statistic: np.ndarray = (x1 / n1 - ratio * x2 / n2) / np.sqrt(var)
        return statistic


def score_test(x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike) -> np.ndarray:
    """Two-sided p-value of the Miettinen–Nurminen score test of p1 == p2 (1 when both rates are 0 or 1)."""
    stat = diff_score_statistic(x1, n1, x2, n2, 0.0)
    x1, n1, x2, n2 = _arrays(x1, n1, x2, n2)
    p = normal_two_sided_p(stat)
    degenerate = np.isnan(stat) & (n1 > 0) & (n2 > 0)
    return np.where(degenerate, 1.0, p)


def _bisect(statistic: Callable[[np.ndarray], np.ndarray], low: np.ndarray, high: np.ndarray, z: np.ndarray,
            is_lower: np.ndarray, iterations: int) -> np.ndarray:
    """Both ends of score intervals at once, by bisection (the statistic decreases in the parameter).

    An element with ``is_lower`` looks for the lower end, where the statistic equals ``z``; the others
    for the upper end, where it equals ``-z``. ``statistic`` sees the midpoints of every element.
    """
    sign = np.where(is_lower, 1.0, -1.0)
    lo, hi = bisect_levels(lambda mid: (sign * statistic(mid) > z) == is_lower, low, high, iterations)
    result: np.ndarray = (lo + hi) / 2
    return result


def _stacked(x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray,
             z: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each element twice (first for the lower end, then for the upper end)."""
    both = [np.concatenate([v, v]) for v in (x1, n1, x2, n2, z)]
    is_lower = np.concatenate([np.ones(x1.size, dtype=bool), np.zeros(x1.size, dtype=bool)])
    return (*both, is_lower)


def diff_interval(x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike,
                  z: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Miettinen–Nurminen score interval for ``p1 - p2`` (NaN where a denominator is below the floor)."""
    x1, n1, x2, n2, z = _arrays(x1, n1, x2, n2, z)
    shape = x1.shape
    x1, n1, x2, n2, z = (v.ravel() for v in (x1, n1, x2, n2, z))
    ok = (n1 >= MIN_DENOMINATOR) & (n2 >= MIN_DENOMINATOR)
    low, high = np.full(x1.shape, np.nan), np.full(x1.shape, np.nan)
    if ok.any():
        a, b, c, d, zz, is_lower = _stacked(*(v[ok] for v in (x1, n1, x2, n2, z)))
        est = a / b - c / d
        start = np.where(is_lower, -1.0, est)
        stop = np.where(is_lower, est, 1.0)
        ends = _bisect(lambda delta: _diff_statistic(a, b, c, d, delta), start, stop, zz, is_lower, 56)
        ends = np.where(is_lower & (est <= -1), -1.0, np.where(~is_lower & (est >= 1), 1.0, ends))
        half = ends.size // 2
        low[ok], high[ok] = ends[:half], ends[half:]
    return low.reshape(shape), high.reshape(shape)


def ratio_interval(x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike,
                   z: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Miettinen–Nurminen score interval for ``p1 / p2``, found on the log scale.

    Zero counts: 0 events in group 1 give a lower bound of 0; 0 events in group 2 an upper bound of
    infinity; 0 events in both leave the ratio undefined (NaN interval).
    """
    x1, n1, x2, n2, z = _arrays(x1, n1, x2, n2, z)
    shape = x1.shape
    x1, n1, x2, n2, z = (v.ravel() for v in (x1, n1, x2, n2, z))
    ok = (n1 >= MIN_DENOMINATOR) & (n2 >= MIN_DENOMINATOR) & ((x1 > 0) | (x2 > 0))
    low, high = np.full(x1.shape, np.nan), np.full(x1.shape, np.nan)
    if ok.any():
        a, b, c, d, zz, is_lower = _stacked(*(v[ok] for v in (x1, n1, x2, n2, z)))
        with np.errstate(divide="ignore"):
            log_est = np.log(a / b) - np.log(c / d)
        span = 60.0
        centre = np.where(np.isfinite(log_est), log_est, np.where(a > 0, span, -span))
        start = np.where(is_lower, -span, centre)
        stop = np.where(is_lower, centre, span)
        ends = _bisect(lambda v: _ratio_statistic(a, b, c, d, np.exp(v)), start, stop, zz, is_lower, 62)
        ends = np.exp(ends)
        ends = np.where(is_lower & (a == 0), 0.0, np.where(~is_lower & (c == 0), np.inf, ends))
        half = ends.size // 2
        low[ok], high[ok] = ends[:half], ends[half:]
    return low.reshape(shape), high.reshape(shape)


# --- sums of independent proportions (MOVER) -----------------------------------------------------

def mover(estimates: Sequence[np.ndarray], lows: Sequence[np.ndarray], highs: Sequence[np.ndarray],
          weights: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Interval for ``sum(w_i * p_i)`` of independent estimates from their own intervals (MOVER).

    ``estimates``, ``lows``, ``highs`` are sequences of arrays; ``weights`` a sequence of numbers.
    """
    total: np.ndarray = sum(w * e for w, e in zip(weights, estimates, strict=True))  # type: ignore[assignment]  # sum of arrays
    below = sum((w * e - np.minimum(w * lo, w * hi)) ** 2
                for w, e, lo, hi in zip(weights, estimates, lows, highs, strict=True))
    above = sum((np.maximum(w * lo, w * hi) - w * e) ** 2
                for w, e, lo, hi in zip(weights, estimates, lows, highs, strict=True))
    return total - np.sqrt(below), total + np.sqrt(above)


def mover_wilson(counts: Sequence[tuple[ArrayLike, ArrayLike]], weights: Sequence[float],
                 z: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimate and MOVER interval of ``sum(w_i * x_i / n_i)`` with Wilson limits at ``z``.

    ``counts`` is a sequence of ``(x, n)`` array pairs. NaN where any denominator is below the floor.
    """
    estimates: list[np.ndarray] = []
    lows: list[np.ndarray] = []
    highs: list[np.ndarray] = []
    few: Any = None
    for x, n in counts:
        x, n = _arrays(x, n)
        with np.errstate(invalid="ignore", divide="ignore"):
            estimates.append(x / n)
        lo, hi = wilson(x, n, z)
        lows.append(lo)
        highs.append(hi)
        few = (n < MIN_DENOMINATOR) if few is None else few | (n < MIN_DENOMINATOR)
    total: np.ndarray = sum(w * e for w, e in zip(weights, estimates, strict=True))  # type: ignore[assignment]  # sum of arrays
    low, high = mover(estimates, lows, highs, weights)
    return total, np.where(few, np.nan, low), np.where(few, np.nan, high)


def mover_p_value(counts: Sequence[tuple[ArrayLike, ArrayLike]], weights: Sequence[float]) -> np.ndarray:
    """Two-sided p-value that inverts the MOVER–Wilson interval of a sum at 0.

    The smallest level at which the interval excludes 0, found by bisection on the critical value, so
    "p < 1 − confidence" exactly when the interval at that confidence excludes 0.
    """
    first = np.asarray(counts[0][0], dtype=np.float64)
    lo_z, hi_z = np.zeros(first.shape), np.full(first.shape, 40.0)
    total, _, _ = mover_wilson(counts, weights, lo_z)

    def excludes(z: np.ndarray) -> np.ndarray:
        _, low, high = mover_wilson(counts, weights, z)
        return (low > 0) | (high < 0)

    lo_z, hi_z = bisect_levels(excludes, lo_z, hi_z, _BISECTIONS)
    p = normal_two_sided_p((lo_z + hi_z) / 2)
    p = np.where(np.isnan(total), np.nan, p)
    result: np.ndarray = np.where(total == 0, 1.0, p)
    return result


def mover_ratio(a_in: ArrayLike, a_low_in: ArrayLike, a_high_in: ArrayLike, b_in: ArrayLike, b_low_in: ArrayLike,
                b_high_in: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """MOVER-R (Donner & Zou) interval for ``a / b`` of two independent positive estimates."""
    a, a_low, a_high, b, b_low, b_high = _arrays(a_in, a_low_in, a_high_in, b_in, b_low_in, b_high_in)
    with np.errstate(invalid="ignore", divide="ignore"):
        ab = a * b
        low = (ab - np.sqrt(np.maximum(ab ** 2 - a_low * b_high * (2 * a - a_low) * (2 * b - b_high), 0.0))) \
            / (b_high * (2 * b - b_high))
        high_den = b_low * (2 * b - b_low)
        high = (ab + np.sqrt(np.maximum(ab ** 2 - a_high * b_low * (2 * a - a_high) * (2 * b - b_low), 0.0))) \
            / high_den
    high = np.where(high_den <= 0, np.inf, high)
    bad = np.isnan(a_low) | np.isnan(b_low) | (b <= 0)
    return np.where(bad, np.nan, np.maximum(low, 0.0)), np.where(bad, np.nan, high)
