"""Intervals and tests for gaps across many groups: max−min, min÷max and "each group against the highest".

A spread such as the demographic parity difference is a maximum over pairs of groups, so an interval
for it must hold for every pair at once. With up to ``PAIRWISE_MAX_GROUPS`` groups it comes from
simultaneous Miettinen–Nurminen intervals for every pairwise difference (ratio), Bonferroni-adjusted
over the ``m`` pairs (over both metrics' pairs for the equalized odds difference):

- lower end = the largest lower bound of ``|p_i − p_j|`` over pairs (0 when every pair's interval
  contains 0); upper end = the largest ``|bound|``; the ratio min÷max likewise from the pairs' ratio
  intervals. If every pair's interval holds (probability ≥ the confidence level), the spread lies in
  the interval, whatever the true rates, so it stays valid at and near parity, where a bootstrap of a
  maximum is biased.
- test of "no gap": the smallest pairwise score-test p-value times ``m`` (Bonferroni), so the interval
  excludes 0 exactly when this p-value is below 1 − confidence.

With more groups (intersections can have hundreds) the pairs would cost O(k²); the interval then comes
from per-group Wilson intervals that hold simultaneously (Šidák over the k groups): the spread lies
between ``max(0, max low − min high)`` and ``max high − min low``. Its test is the smallest level at
which two groups' intervals stop overlapping, found by bisection, so again it agrees with the interval.
Both hold at least the confidence level for any true rates; the per-group form is conservative (at
exact parity, where the truth 0 sits on the boundary, its coverage is close to 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from auditapp.core.intervals import (
    MIN_DENOMINATOR,
    bisect_levels,
    diff_interval,
    normal_two_sided_p,
    ratio_interval,
    score_test,
    wilson,
    z_value,
)

PAIRWISE_MAX_GROUPS = 40
_BISECTIONS = 50
NAN = float("nan")

# A metric per group at a critical value z: ``z -> (estimate, low, high)``.
Part = Callable[[float], tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class SpreadEstimate:
    """A spread across groups with its interval and test.

    ``difference`` is max−min (the largest over the parts for the equalized odds difference),
    ``ratio`` is min÷max (only for one part); ``p_value`` tests "no gap"; ``method`` is "pairwise" or
    "per_group"; ``groups`` counts the groups that could be estimated (denominator at least
    ``MIN_DENOMINATOR``), ``pairs`` the comparisons the Bonferroni adjustment counts.
    """

    difference: float
    difference_low: float
    difference_high: float
    ratio: float
    ratio_low: float
    ratio_high: float
    p_value: float
    method: str
    groups: int
    pairs: int


_EMPTY = SpreadEstimate(NAN, NAN, NAN, NAN, NAN, NAN, NAN, "", 0, 0)


def _pairs(k: int) -> tuple[np.ndarray, np.ndarray]:
    i, j = np.triu_indices(k, 1)
    return i, j


def spread_of_proportions(parts: Sequence[tuple[np.ndarray, np.ndarray]], confidence: float) -> SpreadEstimate:
    """The spread of one proportion metric (or the largest of several) across groups.

    Parameters
    ----------
    parts : sequence of (x, n)
        Per metric, the numerators and denominators of every group. Groups whose denominator is below
        ``MIN_DENOMINATOR`` are left out (too few to estimate).
    confidence : float
        The simultaneous confidence level of the interval.
    """
    return spreads_of_proportions([parts], confidence)[0]


def spreads_of_proportions(requests: Sequence[Sequence[tuple[np.ndarray, np.ndarray]]],
                           confidence: float) -> list[SpreadEstimate]:
    """``spread_of_proportions`` for several spreads, with every pairwise interval solved in one batch."""
    out: list[SpreadEstimate | None] = []
    batch = []  # (request index, kept parts, z, pair indices per part)
    for r, parts in enumerate(requests):
        kept = []
        for x, n in parts:
            x, n = np.asarray(x, dtype=np.float64), np.asarray(n, dtype=np.float64)
            ok = n >= MIN_DENOMINATOR
            kept.append((x[ok], n[ok]))
        sizes = [x.size for x, _ in kept]
        if min(sizes) < 2:
            out.append(_EMPTY)
        elif max(sizes) > PAIRWISE_MAX_GROUPS:
            out.append(_per_group([_wilson_part(x, n) for x, n in kept], confidence))
        else:
            m = sum(k * (k - 1) // 2 for k in sizes)
            batch.append((r, kept, float(z_value(1 - (1 - confidence) / m)), m))
            out.append(None)
    if batch:
        _solve_pairwise(batch, out)
    done = [estimate for estimate in out if estimate is not None]
    if len(done) != len(out):  # every placeholder is filled by the pairwise solve
        raise RuntimeError("A spread request was left without an estimate.")
    return done


def _solve_pairwise(batch: list[tuple[int, list[tuple[np.ndarray, np.ndarray]], float, int]],
                    out: list[SpreadEstimate | None]) -> None:
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("a", "b", "c", "d", "z")}
    slices, start = [], 0
    for _, kept, z, _m in batch:
        for x, n in kept:
            i, j = _pairs(x.size)
            for key, values in zip("abcd", (x[i], n[i], x[j], n[j]), strict=True):
                cols[key].append(values)
            cols["z"].append(np.full(i.size, z))
            slices.append(slice(start, start + i.size))
            start += i.size
    a, b, c, d, zs = (np.concatenate(cols[k]) for k in ("a", "b", "c", "d", "z"))
    d_lo, d_hi = diff_interval(a, b, c, d, zs)
    ratio_wanted = np.concatenate([np.full(sum(x.size * (x.size - 1) // 2 for x, _ in kept), len(kept) == 1)
                                   for _, kept, _z, _m in batch])
    r_lo, r_hi = np.full(a.size, np.nan), np.full(a.size, np.nan)
    if ratio_wanted.any():
        r_lo[ratio_wanted], r_hi[ratio_wanted] = ratio_interval(a[ratio_wanted], b[ratio_wanted],
                                                                 c[ratio_wanted], d[ratio_wanted], zs[ratio_wanted])
    p = score_test(a, b, c, d)
    position = 0
    for r, kept, _z, m in batch:
        value, ratio = _point(kept)
        lows, highs, p_min = [], [], 1.0
        r_low = r_high = NAN
        for _ in kept:
            part = slices[position]
            position += 1
            lo, hi = d_lo[part], d_hi[part]
            lows.append(np.max(np.maximum(0.0, np.maximum(lo, -hi))))
            highs.append(np.max(np.maximum(np.abs(lo), np.abs(hi))))
            p_min = min(p_min, float(np.min(p[part])))
            if len(kept) == 1:
                r_low, r_high = _ratio_spread(r_lo[part], r_hi[part])
        out[r] = SpreadEstimate(value, float(max(lows)), float(max(highs)), ratio, r_low, r_high,
                                min(1.0, m * p_min), "pairwise", int(max(x.size for x, _ in kept)), int(m))


def _ratio_spread(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Bounds of min÷max from every pair's ratio interval ``[a, b]`` for ``p_i / p_j``."""
    undefined = np.isnan(a)  # both rates 0: the pair says nothing about min÷max
    a, b = a[~undefined], b[~undefined]
    if not a.size:
        return NAN, NAN
    with np.errstate(divide="ignore"):
        contains_one = (a <= 1) & (b >= 1)
        low_pair = np.where(contains_one, np.minimum(a, 1 / b), np.where(b < 1, a, 1 / b))
        high_pair = np.where(contains_one, 1.0, np.where(b < 1, b, 1 / a))
    return float(np.min(low_pair)), float(min(1.0, np.min(high_pair)))


def _point(kept: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float]:
    diffs, ratio = [], NAN
    for x, n in kept:
        rate = x / n
        diffs.append(rate.max() - rate.min())
        ratio = rate.min() / rate.max() if rate.max() > 0 else NAN
    return float(max(diffs)), (float(ratio) if len(kept) == 1 else NAN)


def _wilson_part(x: np.ndarray, n: np.ndarray) -> Part:
    def at(z: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lo, hi = wilson(x, n, z)
        return x / n, lo, hi
    return at


def _per_group_bounds(parts: Sequence[Part], z: float) -> tuple[float, float, list[tuple[float, float]]]:
    gaps_low, gaps_high, ratios = [], [], []
    for part in parts:
        _, lo, hi = part(z)
        gaps_low.append(np.max(lo) - np.min(hi))
        gaps_high.append(np.max(hi) - np.min(lo))
        ratios.append((np.min(lo) / np.max(hi) if np.max(hi) > 0 else NAN,
                       min(1.0, np.min(hi) / np.max(lo)) if np.max(lo) > 0 else 1.0))
    return max(gaps_low), max(gaps_high), ratios


def spread_per_group(parts: Sequence[Callable[[float], tuple[np.ndarray, np.ndarray, np.ndarray]]],
                     confidence: float) -> SpreadEstimate:
    """The per-group (Šidák) spread for metrics given as functions ``z -> (estimate, low, high)``.

    Used for many groups, and for metrics that are not single proportions (balanced accuracy).
    """
    return _per_group(parts, confidence)


def _per_group(parts: Sequence[Part], confidence: float) -> SpreadEstimate:
    estimates = [part(0.0)[0] for part in parts]
    keep = [~np.isnan(e) for e in estimates]
    if min(int(k.sum()) for k in keep) < 2:
        return _EMPTY
    parts = [_subset(part, k) for part, k in zip(parts, keep, strict=True)]
    estimates = [e[k] for e, k in zip(estimates, keep, strict=True)]
    total = sum(e.size for e in estimates)
    alpha_each = 1 - confidence ** (1 / total)
    z = float(z_value(1 - alpha_each))
    gap_low, gap_high, ratios = _per_group_bounds(parts, z)
    value = float(max(e.max() - e.min() for e in estimates))
    ratio = NAN
    r_low = r_high = NAN
    if len(parts) == 1:
        e = estimates[0]
        ratio = float(e.min() / e.max()) if e.max() > 0 else NAN
        r_low, r_high = (float(v) for v in ratios[0])
    # The test: the largest z at which two groups' intervals still do not overlap, as a level.
    if _per_group_bounds(parts, 0.0)[0] <= 0:
        p_value = 1.0
    else:
        lo_z, _ = bisect_levels(lambda z: _intervals_apart(parts, z), 0.0, 40.0, _BISECTIONS)
        each = float(normal_two_sided_p(float(lo_z)))
        p_value = min(1.0, 1 - (1 - each) ** total)
    return SpreadEstimate(value, max(0.0, float(gap_low)), float(gap_high), ratio, r_low, r_high,
                          float(p_value), "per_group", int(max(e.size for e in estimates)), int(total))


def _intervals_apart(parts: Sequence[Part], z: np.ndarray) -> np.ndarray:
    """Per critical value in ``z``: do two groups' intervals at it not overlap (``_per_group_bounds``' gap > 0)?

    The parts see ``z`` as a column, so each returns one row of groups per critical value."""
    column = np.reshape(z, (-1, 1))
    widest: np.ndarray | None = None
    for part in parts:
        _, lo, hi = part(column)  # type: ignore[arg-type]  # the parts work element-wise on arrays
        gap = np.max(lo, axis=-1) - np.min(hi, axis=-1)
        widest = gap if widest is None else np.where(gap > widest, gap, widest)  # as max() of the gaps
    if widest is None:
        raise ValueError("No parts to compare.")
    apart: np.ndarray = np.reshape(widest, np.shape(z)) > 0
    return apart


def _subset(part: Part, keep: np.ndarray) -> Part:
    def at(z: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        e, lo, hi = part(z)
        return e[..., keep], lo[..., keep], hi[..., keep]
    return at


def versus_highest(x: ArrayLike, n: ArrayLike, confidence: float, *,
                   measure: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each group against the group with the highest rate: value, low and high per group.

    ``measure`` "ratio": ``p_g / max_j p_j``; "difference": ``p_g − max_j p_j``. The highest group
    is unknown (the observed one is selected for being high), so group g's interval holds for its
    comparison with every other group at once: Bonferroni over its ``k − 1`` pairs (per-group Šidák
    intervals beyond ``PAIRWISE_MAX_GROUPS`` groups). Groups below the denominator floor get NaN.
    """
    x, n = np.asarray(x, dtype=np.float64), np.asarray(n, dtype=np.float64)
    k = x.size
    out = [np.full(k, np.nan) for _ in range(3)]
    ok = np.flatnonzero(n >= MIN_DENOMINATOR)
    if ok.size < 2:
        return out[0], out[1], out[2]
    rate = x[ok] / n[ok]
    top = rate.max()
    with np.errstate(invalid="ignore", divide="ignore"):
        value = rate / top if measure == "ratio" else rate - top
    cap = 1.0 if measure == "ratio" else 0.0
    if ok.size <= PAIRWISE_MAX_GROUPS:
        z = float(z_value(1 - (1 - confidence) / (ok.size - 1)))
        g, o = np.meshgrid(np.arange(ok.size), np.arange(ok.size), indexing="ij")
        off = g != o
        g, o = g[off], o[off]
        a, b, c, d = x[ok][g], n[ok][g], x[ok][o], n[ok][o]
        lo, hi = ratio_interval(a, b, c, d, z) if measure == "ratio" else diff_interval(a, b, c, d, z)
        lo = np.where(np.isnan(lo), cap, lo).reshape(ok.size, ok.size - 1)
        hi = np.where(np.isnan(hi), cap, hi).reshape(ok.size, ok.size - 1)
        low, high = np.minimum(cap, lo.min(axis=1)), np.minimum(cap, hi.min(axis=1))
    else:
        z = float(z_value(confidence ** (1 / ok.size)))
        lo, hi = wilson(x[ok], n[ok], z)
        with np.errstate(invalid="ignore", divide="ignore"):
            if measure == "ratio":
                low, high = lo / hi.max(), np.minimum(cap, hi / lo.max())
            else:
                low, high = lo - hi.max(), np.minimum(cap, hi - lo.max())
    out[0][ok], out[1][ok], out[2][ok] = value, low, high
    if measure == "ratio" and top == 0:
        out[0][ok] = np.nan
    return out[0], out[1], out[2]
