"""Plain-language findings: one sentence per failing or inconclusive check, with its numbers and CIs.

Every number in a sentence is formatted from the verdicts and the audit result (the group's rate and
interval, the comparison group's, the checked ratio or difference and its interval, the bound). The
wording speaks of the favourable outcome (hiring, a loan) because the engine codes it as 1.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from auditapp.core.metrics import AuditResult
from auditapp.core.rates import LABELS
from auditapp.policy.verdict_format import exact, formatter
from auditapp.policy.verdicts import PolicyEvaluation, Verdict

_FAVOURABLE = "Among people whose actual outcome was favourable, "
_UNFAVOURABLE = "Among people whose actual outcome was unfavourable, "
_PREDICTED = "Among people who received the favourable prediction, "
_PREDICTED_NOT = "Among people who received the unfavourable prediction, "
# metric -> (population clause, what happened to the people counted); None: not a share of people.
_WORDS: dict[str, tuple[str, str | None]] = {
    "selection_rate": ("", "received the favourable prediction"),
    "base_rate": ("", "actually had the favourable outcome"),
    "accuracy": ("", "got a correct prediction"),
    "balanced_accuracy": ("", None),
    "true_positive_rate": (_FAVOURABLE, "received the favourable prediction"),
    "false_negative_rate": (_FAVOURABLE, "wrongly received the unfavourable prediction"),
    "false_positive_rate": (_UNFAVOURABLE, "wrongly received the favourable prediction"),
    "true_negative_rate": (_UNFAVOURABLE, "received the unfavourable prediction"),
    "precision": (_PREDICTED, "actually had the favourable outcome"),
    "negative_predictive_value": (_PREDICTED_NOT, "actually had the unfavourable outcome"),
    "false_discovery_rate": (_PREDICTED, "actually had the unfavourable outcome"),
    "false_omission_rate": (_PREDICTED_NOT, "actually had the favourable outcome"),
}
_FIRST_FAVOURABLE = re.compile(r"(?<![Uu]n)favourable(?: prediction| outcome)?")
_MEASURE_NOUN = {"rate": "the rate", "difference": "the difference", "ratio": "the ratio"}


@dataclass(frozen=True)
class Finding:
    """One sentence (or short paragraph) of the findings.

    ``kind`` is "overall", "fail", "inconclusive" or "not_evaluable"; ``criterion`` and
    ``grouping`` are empty for the overall finding.
    """

    kind: str
    text: str
    criterion: str = ""
    grouping: str = ""
    group: str | None = None
    required: bool = True


def pct(value: float) -> str:
    """A rate as a percentage with one decimal, e.g. ``0.4487 -> "44.9%"``; "n/a" if undefined."""
    return "n/a" if value is None or np.isnan(value) else f"{100 * value:.1f}%"


def points(value: float) -> str:
    """A difference of rates in percentage points with a sign, e.g. ``-0.152 -> "-15.2"``."""
    return "n/a" if value is None or np.isnan(value) else f"{100 * value:+.1f}"


def times(value: float) -> str:
    """A ratio with two decimals."""
    return "n/a" if value is None or np.isnan(value) else f"{value:.2f}"


def bound_words(verdict: Verdict) -> str:
    """What the criterion requires, in the units the sentence uses."""
    c = verdict.criterion
    def fmt(x: float) -> str:  # one decimal as before, unless that would round the bound
        if c.measure == "ratio":
            return f"{x:g}" if float(f"{x:g}") == x else exact(x, "ratio")
        usual = f"{100 * x:.1f}"
        shown = usual if abs(float(usual) - 100 * x) < 1e-9 else exact(x, c.measure).rstrip("%")
        return f"{shown}%" if c.measure == "rate" else shown
    unit = " percentage points" if c.measure == "difference" else ""
    if c.at_least is not None and c.at_most is not None:
        text = f"between {fmt(c.at_least)} and {fmt(c.at_most)}{unit}"
    elif c.at_least is not None:
        text = f"at least {fmt(c.at_least)}{unit}"
    elif c.at_most is not None:
        text = f"at most {fmt(c.at_most)}{unit}"
    else:  # a criterion always has a bound (``Criterion`` checks it); said plainly should one be missing
        return f"{_MEASURE_NOUN[c.measure]} has no bound"
    return f"{_MEASURE_NOUN[c.measure]} must be {text}"


def _name(result: AuditResult, verdict: Verdict, label: str | None) -> str:
    if label is None:
        raise ValueError(f"A verdict of {verdict.criterion.name} names no group to describe.")
    attributes = result.grouping(*verdict.features).attributes(label)
    return " & ".join(f"{k} = {v}" for k, v in attributes.items())


def _ci(confidence: float, low: float | None, high: float | None, fmt: Callable[[float], str]) -> str:
    """`` (95% CI a to b)`` with a leading space, or "" without an interval (no bootstrap)."""
    if low is None or high is None or np.isnan(low) or np.isnan(high):
        return ""
    return f" ({confidence * 100:g}% CI {fmt(low)} to {fmt(high)})"


def _outcome_note(text: str, outcome: str | None) -> str:
    """Name the favourable outcome in the data's terms once, after its first mention."""
    match = _FIRST_FAVOURABLE.search(text) if outcome else None
    if match is None:
        return text
    return f"{text[:match.end()]} ({outcome}){text[match.end():]}"


def _comparison(verdict: Verdict, result: AuditResult, confidence: float) -> str:
    c = verdict.criterion
    population, event = _WORDS[c.metric]
    group = _name(result, verdict, verdict.group)
    group_ci = _ci(confidence, verdict.group_low, verdict.group_high, pct)
    if event is None:
        subject = f"group {group} had a {LABELS[c.metric].lower()} of {pct(verdict.group_value)}{group_ci}"
    else:
        subject = f"group {group} {event} {pct(verdict.group_value)} of the time{group_ci}"
    sentence = population + subject
    if c.scope == "group":
        return sentence[0].upper() + sentence[1:] + "."
    other = _name(result, verdict, verdict.compared_with)
    role = "the reference group" if c.scope == "reference" else "the group with the highest rate"
    other_ci = _ci(confidence, verdict.other_low, verdict.other_high, pct)
    sentence += f" against {pct(verdict.other_value)} for {other}, {role}{other_ci}"
    checked = formatter(c.measure, (c.at_least, c.at_most))  # enough digits to tell the side of a bound
    if c.measure == "ratio":
        tail = "times as often" if event is not None else "times as high"
        sentence += f": {checked(verdict.value)} {tail}{_ci(confidence, verdict.low, verdict.high, checked)}."
    else:
        sentence += (f": a difference of {checked(verdict.value)} percentage points"
                     f"{_ci(confidence, verdict.low, verdict.high, checked)}.")
    return sentence[0].upper() + sentence[1:]


def _spread(verdict: Verdict, result: AuditResult, confidence: float) -> str:
    c = verdict.criterion
    population, event = _WORDS[c.metric]
    what = f"the share who {event}" if event is not None else LABELS[c.metric].lower()
    low_name = _name(result, verdict, verdict.group)
    high_name = _name(result, verdict, verdict.compared_with)
    sentence = (
        f"{population}across the groups of {verdict.grouping}, {what} ranges from "
        f"{pct(verdict.group_value)} for {low_name}"
        f"{_ci(confidence, verdict.group_low, verdict.group_high, pct)} to "
        f"{pct(verdict.other_value)} for {high_name}"
        f"{_ci(confidence, verdict.other_low, verdict.other_high, pct)}"
    )
    checked = formatter(c.measure, (c.at_least, c.at_most))
    if c.measure == "ratio":
        sentence += (f": the lowest is {checked(verdict.value)} times the highest"
                     f"{_ci(confidence, verdict.low, verdict.high, checked)}.")
    else:
        sentence += (f": a gap of {checked(verdict.value).lstrip('+')} percentage points"
                     f"{_ci(confidence, verdict.low, verdict.high, lambda x: checked(x).lstrip('+'))}.")
    return sentence[0].upper() + sentence[1:]


def _unsigned(value: float) -> str:
    return points(value).lstrip("+")


def describe_verdict(verdict: Verdict, result: AuditResult, *, confidence: float,
                     outcome: str | None = None) -> str:
    """The sentence for one failing or inconclusive verdict.

    Parameters
    ----------
    verdict : Verdict
        From ``evaluate_policy``.
    result : AuditResult
        The audit the verdict was computed on (for the groups' attributes).
    confidence : float
        The interval level, e.g. 0.95.
    outcome : str, optional
        The favourable outcome in the data's terms, e.g. ``"hired = 1"``, added once in brackets.
    """
    c = verdict.criterion
    facts = _spread(verdict, result, confidence) if c.scope == "spread" else \
        _comparison(verdict, result, confidence)
    kind = "required" if c.required else "monitored, not part of the verdict"
    rule = f"“{c.name}” ({kind}: {bound_words(verdict)})"
    if verdict.verdict == "fail":
        judgement = f"This fails {rule}."
    elif verdict.rows_needed is not None:
        judgement = (f"The interval crosses the bound, so {rule} is inconclusive here; about "
                     f"{verdict.rows_needed:,} rows per group would likely settle this (80% power at the "
                     "observed rates).")
    else:
        judgement = (f"The interval crosses the bound, so {rule} is inconclusive here; the estimate sits "
                     "on the bound, so more data alone is unlikely to settle it.")
    return f"{_outcome_note(facts, outcome)} {judgement}"


def build_findings(evaluation: PolicyEvaluation, result: AuditResult, *,
                   outcome: str | None = None) -> tuple[Finding, ...]:
    """The overall finding, then one per failing or inconclusive verdict, then what was not evaluable.

    Parameters
    ----------
    evaluation : PolicyEvaluation
        From ``evaluate_policy(result, policy)``.
    result : AuditResult
        The audit it was computed on.
    outcome : str, optional
        The favourable outcome in the data's terms, e.g. ``"hired = 1"``.

    Returns
    -------
    tuple of Finding
    """
    out = [Finding("overall", _overall(evaluation))]
    order = {"fail": 0, "inconclusive": 1}
    flagged = sorted((v for v in evaluation.verdicts if v.verdict in order),
                     key=lambda v: (not v.criterion.required, order[v.verdict]))
    for v in flagged:
        out.append(Finding(v.verdict, describe_verdict(v, result, confidence=evaluation.confidence,
                                                       outcome=outcome),
                           v.criterion.name, v.grouping, v.group, v.criterion.required))
    out.extend(_not_evaluable(evaluation))
    return tuple(out)


def _overall(evaluation: PolicyEvaluation) -> str:
    name = evaluation.policy.name
    required = [v for v in evaluation.verdicts if v.criterion.required]
    fails = sum(v.verdict == "fail" for v in required)
    unsure = sum(v.verdict == "inconclusive" for v in required)
    passed = sum(v.verdict == "pass" for v in required)
    if evaluation.overall == "fail":
        text = (f"The policy “{name}” fails: {fails} required check(s) fail"
                + (f" and {unsure} are inconclusive." if unsure else "."))
    elif evaluation.overall == "inconclusive":
        names = ", ".join(f"“{n}”" for n in evaluation.unevaluated)
        plural = "criteria" if len(evaluation.unevaluated) > 1 else "criterion"
        if not passed and not unsure:
            text = f"The policy “{name}” is inconclusive: no required check could be evaluated, so it cannot pass"
            text += (f" (the required {plural} {names} could not be evaluated for any group)."
                     if names else ".")
        else:
            reasons = [f"{unsure} check(s) have confidence intervals that cross a bound"] if unsure else []
            if names:
                reasons.append(f"the required {plural} {names} could not be evaluated for any group")
            text = f"The policy “{name}” is inconclusive: no required check fails, but " + " and ".join(reasons) + "."
    else:
        text = f"The policy “{name}” passes: all {passed} required check(s) that could be evaluated pass."
    missing = evaluation.not_evaluable
    if missing:
        text += (f" {missing} check(s) could not be evaluated (too few rows or an undefined rate); "
                 "the verdict says nothing about them.")
    return text


def _not_evaluable(evaluation: PolicyEvaluation) -> list[Finding]:
    out = []
    keys = []
    for v in evaluation.verdicts:
        if v.verdict == "not_evaluable" and (v.criterion.name, v.features) not in keys:
            keys.append((v.criterion.name, v.features))
    for name, features in keys:
        items = [v for v in evaluation.verdicts if v.verdict == "not_evaluable"
                 and v.criterion.name == name and v.features == features]
        listed = "; ".join(f"{v.group}: {v.reason}" for v in items)
        out.append(Finding(
            "not_evaluable",
            f"“{name}” could not be evaluated for {len(items)} group(s) of {items[0].grouping}: {listed}.",
            name, items[0].grouping, None, items[0].criterion.required,
        ))
    return out


def format_findings(evaluation: PolicyEvaluation, findings: tuple[Finding, ...]) -> str:
    """Plain text for the command line: the verdict per criterion, then the findings."""
    marks = {"pass": "PASS", "fail": "FAIL", "inconclusive": "INCONCLUSIVE", "not_evaluable": "N/A"}
    lines = [f"Policy {evaluation.policy.name}: {marks[evaluation.overall]}"]
    for name, row in evaluation.summary().iterrows():
        role = "required" if row["required"] else "monitored"
        lines.append(f"  [{marks[row['verdict']]:>12}] {name} ({role}, {row['bound']}): "
                     f"{row['pass']} pass, {row['fail']} fail, {row['inconclusive']} inconclusive, "
                     f"{row['not_evaluable']} not evaluable")
    lines += ["", *(f"- {f.text}" for f in findings)]
    return "\n".join(lines)
