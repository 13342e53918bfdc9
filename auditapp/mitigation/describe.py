"""A mitigation comparison in words and table rows, for the Mitigation page, the CLI and the report.

Every number is read from the comparison (:mod:`auditapp.mitigation.costs` measures costs against the
refitted baseline and says how far the intervals support a claim); none is typed in.
"""

from __future__ import annotations

import math
from typing import Any

from auditapp.mitigation import wording
from auditapp.mitigation.costs import (
    accuracy_change,
    cost_baseline,
    disparity_verdict,
    finished,
    recommended_candidate,
)
from auditapp.mitigation.grouping import widest_pair

FAMILY_LABELS = {"baseline": "Baseline", "pre": "Pre-processing", "in": "In-processing", "post": "Post-processing"}
DISPARITY_SHORT = {
    "demographic_parity_difference": "selection-rate gap",
    "equalized_odds_difference": "equalized-odds gap",
    "equal_opportunity_difference": "true-positive-rate gap",
    "accuracy_equality_difference": "error-rate gap",
}
LEGAL_NOTE = (
    "It needs every person's sensitive attribute to decide, and treats two otherwise identical people "
    "differently because of it. Using a protected attribute in individual decisions can be unlawful disparate "
    "treatment even when it narrows a gap: for example, US employment law forbids different cut-off scores by "
    "race, sex, religion or national origin (Title VII, 42 U.S.C. § 2000e-2(l)). Ask your legal team before "
    "deploying it; this is not legal advice.")
TRAINING_ONLY_NOTE = "It uses the sensitive attribute only while training (if at all), not to decide."


def pct(value: Any) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{100 * value:.1f}%"


def num(value: Any) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.3f}"


def with_ci(estimate: Any, fmt: Any) -> str:
    if estimate is None:
        return "n/a"
    return f"{fmt(estimate.value)} [{fmt(estimate.low)}, {fmt(estimate.high)}]"


def points(estimate: Any) -> str:
    """An accuracy change in percentage points with its interval: ``"−1.2 points [−2.0, −0.4]"``."""
    if estimate is None or not math.isfinite(estimate.value):
        return "n/a"

    def p(v: Any) -> Any:
        return f"{100 * v:+.1f}".replace("-", "−")
    return f"{p(estimate.value)} points [{p(estimate.low)}, {p(estimate.high)}]"


def metric_name(comparison: Any) -> str:
    result: str = DISPARITY_SHORT.get(comparison.disparity_metric, comparison.disparity_metric)
    return result


def result_line(result: Any) -> str:
    """One line for a finished candidate: accuracy, disparity and fit time."""
    if result.error:
        message: str = result.error
        return message
    short = DISPARITY_SHORT.get(result.disparity_metric, result.disparity_metric)
    return (f"accuracy {pct(result.accuracy.value)}, {short} {num(result.disparity.value)}, "
            f"fitted in {result.fit_seconds:.1f} s")


def _widest(comparison: Any, result: Any) -> str:
    pair = widest_pair(result, comparison.disparity_metric)
    if pair is None:
        return ""
    sizes = comparison.group_sizes
    if sizes is None:
        return f"{pair[0]} vs {pair[1]}"
    return f"{sizes.describe(pair[0])} vs {sizes.describe(pair[1])}"


def comparison_rows(comparison: Any) -> list[dict[str, Any]]:
    """Grid rows: numbers as plain floats (for sorting) next to their display text with the interval.

    ``accuracy_change`` is measured against :func:`cost_baseline` on the same test rows; ``widest`` names
    the two groups whose gap is the disparity, each with its test rows and a small-group flag.
    """
    base = cost_baseline(comparison)
    recommended = recommended_candidate(comparison)
    rows = []
    for r in comparison.candidates:
        ok = r.error is None and r.accuracy is not None and r.disparity is not None
        change = accuracy_change(comparison, r.name, base.name) if ok and base is not None else None
        if base is not None and r.name == base.name:
            change_text = "the point of comparison"
        else:
            change_text = points(change)
        verdict = (disparity_verdict(r, base, metric_name=metric_name(comparison)).kind
                   if ok and base is not None and r.name != base.name else "")
        rows.append({
            "name": r.name, "candidate": r.title, "family": FAMILY_LABELS[r.family],
            "accuracy": _plain(r.accuracy.value) if ok else None, "accuracy_text": with_ci(r.accuracy, pct),
            "accuracy_change": _plain(change.value) if change is not None else None,
            "accuracy_change_text": change_text,
            "balanced_accuracy": _plain(r.balanced_accuracy.value) if ok else None,
            "balanced_accuracy_text": with_ci(r.balanced_accuracy, pct),
            "disparity": _plain(r.disparity.value) if ok else None, "disparity_text": with_ci(r.disparity, num),
            "disparity_vs_baseline": {"lower": "lower (intervals apart)", "higher": "higher (intervals apart)",
                                      "unclear": "cannot tell (intervals overlap)"}.get(verdict, ""),
            "widest": _widest(comparison, r) if ok else "",
            "fit_seconds": round(float(r.fit_seconds), 2),
            "needs_sensitive": "yes" if r.needs_sensitive_at_predict else "no",
            "pareto": "yes" if r.name in comparison.pareto else "",
            "recommended": "recommended" if r.name == recommended else "",
            "learner": r.learner or "", "draws": wording.draws_range(r), "warnings": wording.warnings_text(r),
            "notes": f"Failed: {r.error}" if r.error else " ".join(r.notes),
        })
    return rows


def _plain(value: Any) -> float | None:
    return float(value) if math.isfinite(float(value)) else None


def group_rows(comparison: Any) -> list[dict[str, Any]]:
    """One row per group of the comparison's grouping: training and test rows, and the small-group flag."""
    sizes = comparison.group_sizes
    if sizes is None:
        return []
    return [{"group": str(group), "train_rows": int(row["train_rows"]), "test_rows": int(row["test_rows"]),
             "test_favourable": int(row["test_favourable"]),
             "small": f"small: fewer than {sizes.min_group_size} test rows" if row["small"] else ""}
            for group, row in sizes.table.iterrows()]


def grouping_sentence(comparison: Any) -> str:
    """Which groups were equalised, how many test rows each has, and which are too small to trust."""
    sizes = comparison.group_sizes
    if sizes is None:
        return ""
    name = " × ".join(comparison.grouping)
    listed = ", ".join(sizes.describe(g) for g in sizes.table.index[:6])
    more = f" and {len(sizes.table) - 6} more" if len(sizes.table) > 6 else ""
    text = f"Groups of {name}: {listed}{more}."
    small = sizes.small_groups
    if small:
        text += (f" {len(small)} group{'s have' if len(small) > 1 else ' has'} fewer than {sizes.min_group_size} "
                 "test rows: their rates, and any gap involving them, are too uncertain to act on. Group by one "
                 "feature, or use more rows.")
    return text


def tradeoff_summary(comparison: Any) -> list[str]:
    """Plain sentences under the trade-off chart: the groups, the baselines, the recommended fix and its cost.

    Costs are against the refitted baseline when there is one; a difference in disparity is claimed only
    when the two intervals do not overlap.
    """
    done = {c.name: c for c in finished(comparison)}
    metric = metric_name(comparison)
    rows = comparison.split.test_rows
    lines = [line for line in (grouping_sentence(comparison),) if line]
    if not done:
        return [*lines, f"No candidate finished on the {rows:,} test rows; the table shows why."]
    uploaded, refit = done.get("baseline"), done.get("baseline_refit")
    if uploaded is not None:
        lines.append(f"{uploaded.title}: accuracy {pct(uploaded.accuracy.value)}, {metric} "
                     f"{num(uploaded.disparity.value)} on {rows:,} held-out test rows.")
    base = cost_baseline(comparison)
    if refit is not None:
        lines.append(f"The same learner refitted on the {comparison.split.train_rows:,} training rows: accuracy "
                     f"{pct(refit.accuracy.value)}, {metric} {num(refit.disparity.value)}. Every candidate that "
                     "retrains learns from those rows too, so costs below are measured against it.")
    elif base is not None:
        lines.append(f"There is no refitted baseline (the model cannot be refitted here), so costs are measured "
                     f"against {base.title.lower()}, which did not learn from the same rows.")
    best_name = recommended_candidate(comparison)
    if best_name is None:
        lines.append("No mitigation is on the Pareto front (a baseline is at least as accurate and as fair as "
                     "each of them), so none is recommended.")
        return lines
    best = done[best_name]
    if base is None:
        lines.append(f"Recommended: {best.title}, accuracy {pct(best.accuracy.value)}, {metric} "
                     f"{num(best.disparity.value)}.")
        return lines
    change = accuracy_change(comparison, best.name, base.name)
    cost = "" if change is None else f", accuracy {points(change)} against {base.title.lower()}"
    lines.append(f"Recommended: {best.title}, the fairest mitigation on the Pareto front: {metric} "
                 f"{num(base.disparity.value)} → {num(best.disparity.value)}{cost}.")
    lines.append(disparity_verdict(best, base, metric_name=metric).sentence)
    if change is not None and change.low <= 0 <= change.high:
        lines.append("The accuracy interval includes 0: on these test rows the fix has no measurable cost.")
    lines.append(LEGAL_NOTE if best.needs_sensitive_at_predict else TRAINING_ONLY_NOTE)
    return lines


def learner_notes(comparison: Any) -> list[str]:
    """Which candidates trained a default learner instead of the uploaded model, and why (engine notes)."""
    lines = []
    for result in comparison.candidates:
        if result.learner.startswith("default learner"):
            reason = next((n for n in result.notes if "cannot be refitted" in n or "instead" in n
                           or "trains a logistic regression" in n or "takes no sample weights" in n), "")
            lines.append(f"{result.title}: {reason or 'trained the default learner.'}")
    return lines


def candidate_summary(comparison: Any, name: str) -> list[str]:
    """Sentences about one candidate: its numbers with intervals, its cost, learner, use of the sensitive attribute."""
    result = comparison.candidate(name)
    if result.error:
        return [f"{result.title} failed: {result.error}"]
    metric = DISPARITY_SHORT.get(result.disparity_metric, result.disparity_metric)
    lines = [
        f"{result.title} ({FAMILY_LABELS[result.family].lower()}, {result.learner}): accuracy "
        f"{with_ci(result.accuracy, pct)}, balanced accuracy {with_ci(result.balanced_accuracy, pct)}, "
        f"{metric} {with_ci(result.disparity, num)}.",
    ]
    base = cost_baseline(comparison)
    if base is not None and base.name != name:
        change = accuracy_change(comparison, name, base.name)
        if change is not None:
            lines.append(f"Against {base.title.lower()}: accuracy {points(change)}. "
                         + disparity_verdict(result, base, metric_name=metric).sentence)
    widest = _widest(comparison, result)
    if widest:
        lines.append(f"Its {metric} is the gap between {widest}.")
    lines.append(f"Needs the sensitive attribute for every decision. {LEGAL_NOTE}" if result.needs_sensitive_at_predict
                 else "Does not need the sensitive attribute to decide (only during training, if at all).")
    extra = [wording.draws_sentence(result), wording.warnings_sentence(result)]
    return [*lines, *(e for e in extra if e), *result.notes]


def context_line(dataset: Any, model: Any, spec: Any, *, grouping: Any = (), test_size: float = 0.3) -> str:
    """What the comparison will run on: rows, model and whether it can be refitted, grouping, split, seed."""
    if model is None:
        source = (f"no model: the baseline is the {'prediction' if spec.prediction else 'score'} column; "
                  "candidates that retrain use a default learner (logistic regression)")
    elif model.refittable:
        source = f"model {model.name} ({model.format}, can be refitted)"
    else:
        source = (f"model {model.name} ({model.format}, cannot be refitted here: candidates that retrain use a "
                  "default learner, ThresholdOptimizer uses its scores)")
    train = int(round(100 * (1 - test_size)))
    groups = " × ".join(grouping or spec.sensitive[:1])
    return (f"{dataset.name}: {dataset.rows:,} rows · {source} · groups: {groups} · "
            f"split {train}% training / {100 - train}% test, stratified by group and label, seed {spec.seed}.")
