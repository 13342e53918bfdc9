"""Plain-language summary of the largest gaps in an audit, for readers who do not read tables.

Every number in a sentence is taken from the ``AuditResult`` and only formatted here: group rates and
their CIs from ``GroupingResult.groups``, differences, ratios and q-values from ``.disparities``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from auditapp.core.errors import AuditInputError
from auditapp.core.metrics import AuditResult, GroupingResult
from auditapp.core.rates import LABELS, METRICS

SUMMARY_METRICS: tuple[str, ...] = (
    "selection_rate", "true_positive_rate", "false_positive_rate", "precision",
)
FOUR_FIFTHS = (0.8, 1.25)
NOT_AVAILABLE = "n/a"


def _missing(value: float | None) -> bool:
    if value is None:
        return True
    return math.isnan(float(value))


def format_pct(x: float | None, *, digits: int = 1) -> str:
    """A proportion as a percentage: ``0.2134`` → ``"21.3%"``; NaN or None → ``"n/a"``."""
    if x is None or _missing(x):
        return NOT_AVAILABLE
    return f"{float(x) * 100:.{digits}f}%"


def format_ci(lo: float | None, hi: float | None, *, percent: bool = True, digits: int | None = None) -> str:
    """An interval: ``"19.8–22.9%"`` for proportions, ``"0.54–0.88"`` with ``percent=False``.

    Parameters
    ----------
    lo, hi : float
        The interval's ends (NaN or None when there is no interval, e.g. ``n_boot=0``).
    percent : bool
        Show as percentages (one decimal by default) or as plain numbers (two decimals by default).
    digits : int, optional
        Decimals to show.

    Returns
    -------
    str
        ``"n/a"`` when either end is missing. Negative ends are joined by " to " so a minus sign
        is never mistaken for the dash.
    """
    if lo is None or hi is None or _missing(lo) or _missing(hi):
        return NOT_AVAILABLE
    digits = (1 if percent else 2) if digits is None else digits
    scale, unit = (100.0, "%") if percent else (1.0, "")
    low, high = float(lo) * scale, float(hi) * scale
    joiner = " to " if min(low, high) < 0 else "–"
    return f"{_signed(low, digits)}{joiner}{_signed(high, digits)}{unit}"


def format_ratio(x: float | None, *, digits: int = 2) -> str:
    """A ratio such as ``"0.61"``; NaN or None → ``"n/a"``."""
    return NOT_AVAILABLE if x is None or _missing(x) else f"{float(x):.{digits}f}"


def format_q(q: float | None) -> str:
    """A q-value for prose: ``"q = 0.32"``, ``"q = 0.004"``, ``"q < 0.001"``."""
    if q is None or _missing(q):
        return "q = n/a"
    q = float(q)
    if q < 0.001:
        return "q < 0.001"
    return f"q = {q:.3f}" if q < 0.01 else f"q = {q:.2f}"


def _signed(value: float, digits: int) -> str:
    text = f"{abs(value):.{digits}f}"
    return f"−{text}" if value < 0 and float(text) != 0 else text


@dataclass(frozen=True)
class _Gap:
    grouping: GroupingResult
    metric: str
    group: str
    row: dict[str, Any]
    tier: int
    small: bool
    breach: bool = False
    matters: bool = False  # statistically significant, large enough, and not from a small group

    @property
    def size(self) -> float:
        return abs(float(self.row["difference"]))


def summarize_gaps(
    result: AuditResult, *, max_items: int = 3, metrics: Sequence[str] = SUMMARY_METRICS,
    min_gap: float = 0.05, alpha: float = 0.05,
) -> list[str]:
    """Short sentences about the gaps that matter most between groups and their reference groups.

    A gap *matters* when it is statistically significant (Benjamini–Hochberg q-value below ``alpha``),
    large enough (a difference of at least ``min_gap``, or a selection-rate ratio outside the
    four-fifths band 0.8–1.25) and neither group is small. For each grouping and metric the candidate
    is the largest gap that matters, else the largest gap when it is at least ``min_gap`` (or outside
    the band). Gaps that matter come first; when none does, a first sentence says so, and the other
    gaps follow as possibly chance or too uncertain. Within each part: single-feature groupings before
    intersections; the top gap of every grouping before the second gap of any, so one attribute cannot
    crowd out the others; then groups of adequate size before small ones, selection-rate ratios
    outside the four-fifths band before other gaps, larger absolute differences first, and names, so
    the output is deterministic.

    Parameters
    ----------
    result : AuditResult
        The output of ``compute_audit``.
    max_items : int
        At most this many sentences about gaps (the sentence saying that none matters comes on top).
    metrics : sequence of str
        Metrics to consider (names from ``auditapp.core.rates.METRICS``).
    min_gap : float
        Smallest absolute difference (as a proportion, 0.05 = 5 percentage points) worth reporting.
    alpha : float
        A gap is called statistically significant when its Benjamini–Hochberg q-value is below it.

    Returns
    -------
    list of str
        One sentence per gap, or a single sentence saying that there are no notable gaps.

    Raises
    ------
    AuditInputError
        If a metric is unknown, or ``max_items`` is below 1.
    """
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise AuditInputError(
            f"Unknown metric(s) for the summary: {', '.join(map(str, unknown)) or '(none given)'}. "
            f"Use one or more of: {', '.join(METRICS)}."
        )
    if int(max_items) < 1:
        raise AuditInputError(
            f"max_items must be at least 1, but is {int(max_items)}. Ask for one or more sentences."
        )
    candidates, largest = _candidates(result, metrics, min_gap, alpha)
    if not candidates:
        return [_no_gaps_sentence(result, metrics, min_gap, largest)]
    mattering = [g for g in candidates if g.matters]
    chosen = (_ordered(mattering, metrics) + _ordered([g for g in candidates if not g.matters], metrics))
    sentences = [_gap_sentence(g, result, alpha) for g in chosen[: int(max_items)]]
    if not mattering:
        sentences.insert(0, _nothing_matters_sentence(min_gap, alpha))
    return sentences


def _nothing_matters_sentence(min_gap: float, alpha: float) -> str:
    return (f"No gap is both statistically significant (q < {alpha:g}) and at least {min_gap * 100:.1f} "
            "percentage points (or outside the four-fifths band) between groups of adequate size. The largest "
            "gaps follow; they may be chance, or come from groups too small to tell.")


def _ordered(candidates: list[_Gap], metrics: tuple[str, ...]) -> list[_Gap]:
    """Single features before intersections; within each, every grouping's top gap first, so one
    attribute cannot crowd out another, then the remaining gaps, each part by size."""
    candidates = sorted(candidates, key=lambda g: (g.tier, g.small, not g.breach, -g.size, g.grouping.name,
                                                   metrics.index(g.metric), g.group))
    out = []
    for tier in sorted({g.tier for g in candidates}):
        in_tier = [g for g in candidates if g.tier == tier]
        seen: set[str] = set()
        firsts: list[Any] = []
        rest: list[Any] = []
        for gap in in_tier:
            (rest if gap.grouping.name in seen else firsts).append(gap)
            seen.add(gap.grouping.name)
        out.extend(firsts + rest)
    return out


def _candidates(result: AuditResult, metrics: tuple[str, ...], min_gap: float,
                alpha: float = 0.05) -> tuple[list[_Gap], _Gap | None]:
    candidates: list[_Gap] = []
    largest: _Gap | None = None
    for grouping in result.groupings:
        table = grouping.disparities
        tier = 0 if len(grouping.features) == 1 else 1
        for metric in metrics:
            rows = table[table["metric"] == metric]
            rows = rows[rows["difference"].notna()]
            if rows.empty:
                continue
            gaps = [_gap(grouping, metric, row, tier, min_gap, alpha) for row in rows.to_dict("records")]
            top = min(gaps, key=lambda g: (-g.size, g.group))
            if largest is None or top.size > largest.size:
                largest = top
            best = min(gaps, key=lambda g: (not g.matters, -g.size, g.group))
            if best.size >= min_gap or best.breach:
                candidates.append(best)
    return candidates, largest


def _gap(grouping: GroupingResult, metric: str, row: dict[str, Any], tier: int, min_gap: float, alpha: float) -> _Gap:
    group = str(row["group"])
    ratio = float(row["ratio"])
    outside_band = metric == "selection_rate" and not math.isnan(ratio) and not (
        FOUR_FIFTHS[0] <= ratio <= FOUR_FIFTHS[1])
    small = _is_small(grouping, group) or _is_small(grouping, str(grouping.reference))
    q = row.get("q_value")
    significant = q is not None and not _missing(q) and float(q) < alpha
    large = abs(float(row["difference"])) >= min_gap or outside_band
    return _Gap(grouping, metric, group, row, tier, _is_small(grouping, group), outside_band,
                matters=significant and large and not small)


def _is_small(grouping: GroupingResult, label: str) -> bool:
    return "small_group" in tuple(grouping.groups.loc[label, "flags"])


def _where(grouping: GroupingResult) -> str:
    return f"By {grouping.name}"


def _gap_sentence(gap: _Gap, result: AuditResult, alpha: float) -> str:
    grouping, metric, row = gap.grouping, gap.metric, gap.row
    groups = grouping.groups
    ref = grouping.reference
    level = f"{result.confidence:.0%} CI"
    value, value_low, value_high = (groups.loc[gap.group, c] for c in (metric, f"{metric}_low",
                                                                       f"{metric}_high"))
    ci = format_ci(value_low, value_high)
    ci_text = "" if ci == NOT_AVAILABLE else f" ({level} {ci})"
    ref_value = format_pct(row["reference_value"])
    if metric == "selection_rate":
        head = (f"{_where(grouping)}, group “{gap.group}” was selected {format_pct(value)} of the time"
                f"{ci_text} against {ref_value} for “{ref}”, the reference group")
    else:
        head = (f"{_where(grouping)}, the {LABELS[metric].lower()} of group “{gap.group}” is "
                f"{format_pct(value)}{ci_text} against {ref_value} for “{ref}”, the reference group")
    sentence = f"{head}: {_comparison(metric, row, level)}."
    sentence += _significance(row["q_value"], alpha)
    sentence += _smallness(grouping, gap.group, ref, result.min_group_size)
    return sentence


def _comparison(metric: str, row: dict[str, Any], level: str) -> str:
    ratio = float(row["ratio"])
    if metric == "selection_rate" and not math.isnan(ratio):
        ci = format_ci(row["ratio_low"], row["ratio_high"], percent=False)
        ci_text = "" if ci == NOT_AVAILABLE else f" ({level} {ci})"
        text = f"{format_ratio(ratio)} times as often{ci_text}"
        if ratio < FOUR_FIFTHS[0]:
            return f"{text}, below the four-fifths (0.8) line"
        if ratio > FOUR_FIFTHS[1]:
            return f"{text}, above 1.25, the four-fifths rule read the other way"
        return f"{text}, within the four-fifths band (0.8–1.25)"
    difference = float(row["difference"])
    points = f"{abs(difference) * 100:.1f} percentage points {'higher' if difference > 0 else 'lower'}"
    ci = format_ci(row["difference_low"], row["difference_high"])
    if ci == NOT_AVAILABLE:
        return points
    return f"{points} ({level} of the difference {ci.removesuffix('%')} points)"


def _significance(q_value: float, alpha: float) -> str:
    if q_value is None or _missing(q_value):
        return ""
    if float(q_value) < alpha:
        return f" The gap is statistically significant ({format_q(q_value)})."
    return f" The gap is not statistically significant ({format_q(q_value)}), so it may be chance."


def _smallness(grouping: GroupingResult, group: str, ref: str, min_group_size: int) -> str:
    notes = []
    for label in dict.fromkeys((group, ref)):
        if _is_small(grouping, label):
            n = int(grouping.groups.loc[label, "count"])
            notes.append(f" Group “{label}” has only {n} rows (fewer than {int(min_group_size)}), "
                         "so its numbers are uncertain.")
    return "".join(notes)


def _metric_list(metrics: tuple[str, ...]) -> str:
    names = [LABELS[m].lower() for m in metrics]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _no_gaps_sentence(result: AuditResult, metrics: tuple[str, ...], min_gap: float,
                      largest: _Gap | None) -> str:
    if largest is None:
        return ("No gaps to report: every grouping has a single group, or the chosen metrics are "
                "undefined for every comparison, so no group could be compared with a reference.")
    threshold = f"{min_gap * 100:.1f} percentage points"
    band = (", and every selection-rate ratio is within the four-fifths band (0.8–1.25)"
            if "selection_rate" in metrics else "")
    return (f"No notable gaps: no group's {_metric_list(metrics)} differs from its reference group by "
            f"{threshold} or more{band}. The largest difference is {abs(float(largest.row['difference'])) * 100:.1f} "
            f"percentage points, in the {LABELS[largest.metric].lower()} of group “{largest.group}” "
            f"({largest.grouping.name}).")
