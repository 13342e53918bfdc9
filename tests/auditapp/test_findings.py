"""Findings: the exact wording, and every number in a sentence taken from the results."""

import re

import pytest

from auditapp.policy.criteria import Criterion, Policy, preset
from auditapp.policy.findings import (
    build_findings,
    describe_verdict,
    format_findings,
    pct,
    points,
    times,
)
from auditapp.policy.verdicts import evaluate_policy
from tests.auditapp.test_verdicts import hand_built
from tests.facts import says

OUTCOME = "hired = 1"


def _sentences(result, pol):
    evaluation = evaluate_policy(result, pol)
    return evaluation, build_findings(evaluation, result, outcome=OUTCOME)


def test_four_fifths_failure_sentence():
    result = hand_built({"a": (500, 500, 500, 500), "b": (700, 300, 700, 300)})  # selected 50% vs 30%
    _, findings = _sentences(result, preset("four-fifths"))
    assert findings[1].text == (
        "Group g = b received the favourable prediction (hired = 1) 30.0% of the time (95% CI 28.0% to "
        "32.0%) against 50.0% for g = a, the group with the highest rate (95% CI 47.8% to 52.2%): 0.60 "
        "times as often (95% CI 0.55 to 0.65). This fails “four-fifths rule” (required: the ratio must "
        "be at least 0.8).")
    assert (findings[1].kind, findings[1].group, findings[1].criterion) == ("fail", "b", "four-fifths rule")


def test_equalized_odds_gap_sentence():
    result = hand_built({"a": (500, 500, 500, 500), "b": (700, 300, 700, 300)})  # TPR and FPR 50% vs 30%
    _, findings = _sentences(result, preset("equalized-odds"))
    assert findings[1].text == (
        "Among people whose actual outcome was favourable (hired = 1), across the groups of g, the "
        "share who received the favourable prediction ranges from 30.0% for g = b (95% CI 27.2% to "
        "32.9%) to 50.0% for g = a (95% CI 46.9% to 53.1%): a gap of 20.0 percentage points (95% CI 15.8 "
        "to 24.2). This fails “true positive rate gap” (required: the difference must be at most 10.0 "
        "percentage points).")
    assert findings[2].text.startswith(
        "Among people whose actual outcome was unfavourable, across the groups of g, the share who "
        "wrongly received the favourable prediction (hired = 1) ranges from 30.0% for g = b (95% CI")


def test_monitored_difference_to_the_reference_sentence():
    # a is the larger group and the reference; false positive rates 60/120 = 50% and 15/50 = 30%
    result = hand_built({"a": (600, 600, 400, 400), "b": (350, 150, 250, 250)})
    c = Criterion(metric="false_positive_rate", measure="difference", scope="reference", at_least=-0.1,
                  at_most=0.1, required=False, name="fpr gap")
    evaluation, findings = _sentences(result, Policy(name="p", criteria=(c,)))
    says(findings[1].text, "actual outcome was unfavourable", "g = b", "wrongly received", "(hired = 1)",
         "30.0%", "26.1% to 34.2%", "50.0%", "g = a", "reference", "47.2% to 52.8%", "difference of -20.0",
         "-24.8 to -15.0", "fails “fpr gap”", "monitored", "between -10.0 and 10.0 percentage points")
    # A policy with no required check that was evaluated never passes (issue 13, finding 7).
    assert evaluation.overall == "inconclusive"
    says(findings[0].text, "“p”", "inconclusive", "no required check could be evaluated", "cannot pass")


def test_rate_floor_sentence_and_balanced_accuracy_wording():
    result = hand_built({"a": (500, 500, 500, 500), "b": (90, 10, 10, 90)})
    floor = Criterion(metric="accuracy", measure="rate", scope="group", at_least=0.7, name="accuracy floor")
    balanced = Criterion(metric="balanced_accuracy", measure="rate", scope="group", at_least=0.7,
                         name="balanced floor")
    _, findings = _sentences(result, Policy(name="p", criteria=(floor, balanced)))
    texts = [f.text for f in findings[1:]]
    assert texts == [
        "Group g = a got a correct prediction 50.0% of the time (95% CI 47.8% to 52.2%). This fails "
        "“accuracy floor” (required: the rate must be at least 70.0%).",
        "Group g = a had a balanced accuracy of 50.0% (95% CI 47.8% to 52.2%). This fails “balanced "
        "floor” (required: the rate must be at least 70.0%).",
    ]


def test_every_number_in_an_inconclusive_sentence_comes_from_the_results():
    result = hand_built({"a": (25, 25, 25, 25), "b": (30, 20, 30, 20)}, n_boot=300)
    evaluation = evaluate_policy(result, preset("four-fifths"))
    (v,) = evaluation.verdicts
    text = describe_verdict(v, result, confidence=result.confidence, outcome=OUTCOME)
    groups = result.grouping("g").groups
    allowed = {pct(groups.loc[g, col]) for g in ("a", "b")
               for col in ("selection_rate", "selection_rate_low", "selection_rate_high")}
    allowed |= {times(x) for x in (v.value, v.low, v.high)} | {"0.8", "95%", "1"}
    found = re.findall(r"-?\d+(?:\.\d+)?%?", text)
    assert found and set(found) <= allowed
    assert "0.80 times as often (95% CI" in text
    assert "The interval crosses the bound, so “four-fifths rule” (required: the ratio must be at " \
           "least 0.8) is inconclusive here; the estimate sits on the bound, so more data alone is unlikely " \
           "to settle it." in text


def test_intersection_groups_are_named_by_their_attributes():
    result = hand_built({"a": (50, 50, 50, 50), "b": (70, 30, 70, 30)},
                        second=lambda n: ["x", "y"] * (n // 2))
    c = Criterion(metric="selection_rate", measure="ratio", scope="vs_best", at_least=0.8,
                  groupings="intersections", name="ff")
    _, findings = _sentences(result, Policy(name="p", criteria=(c,)))
    assert any(f.text.startswith("Group g = b & h = x received") for f in findings), findings


def test_not_evaluable_groups_are_listed_and_the_overall_verdict_says_so():
    result = hand_built({"a": (400, 400, 400, 400), "b": (450, 350, 450, 350), "tiny": (0, 3, 0, 2)})
    evaluation, findings = _sentences(result, preset("four-fifths"))
    assert evaluation.overall == "pass"
    says(findings[0].text, "“four-fifths” passes", "all 1 required check(s)", "evaluated pass",
         "1 check(s) could not be evaluated", "too few rows", "verdict says nothing about them")
    assert findings[-1].kind == "not_evaluable"
    says(findings[-1].text, "“four-fifths rule”", "could not be evaluated", "1 group(s) of g", "tiny: 5 rows",
         "minimum of 30")


def test_overall_failure_counts_failing_and_inconclusive_checks():
    result = hand_built({"a": (50, 50, 50, 50), "b": (70, 30, 70, 30), "c": (52, 48, 52, 48)})
    _, findings = _sentences(result, preset("ratio-band"))
    fails = sum(f.kind == "fail" and f.required for f in findings)
    assert findings[0].text.startswith(f"The policy “ratio-band” fails: {fails} required check(s) fail")
    kinds = [f.kind for f in findings[1:]]
    assert kinds == sorted(kinds, key=["fail", "inconclusive", "not_evaluable"].index)


def test_format_findings_gives_one_line_per_criterion_then_the_sentences():
    result = hand_built({"a": (500, 500, 500, 500), "b": (700, 300, 700, 300)})
    evaluation, findings = _sentences(result, preset("equalized-odds"))
    lines = format_findings(evaluation, findings).splitlines()
    assert lines[0] == "Policy equalized-odds: FAIL"
    assert lines[1] == ("  [        FAIL] true positive rate gap (required, at most 0.1): 0 pass, 1 fail, "
                        "0 inconclusive, 0 not evaluable")
    assert lines[4] == f"- {findings[0].text}"


@pytest.mark.parametrize(("value", "text"), [(0.4487, "44.9%"), (float("nan"), "n/a")])
def test_percentages(value, text):
    assert pct(value) == text


def test_points_keep_their_sign():
    assert points(-0.152) == "-15.2" and points(0.05) == "+5.0"


def test_inconclusive_sentence_says_how_many_rows_would_settle_it():
    result = hand_built({"a": (25, 25, 25, 25), "b": (28, 27, 27, 18)})  # selection 0.45 vs 0.5
    evaluation, findings = _sentences(result, preset("four-fifths"))
    (v,) = evaluation.verdicts
    assert findings[1].text.endswith(
        f"is inconclusive here; about {v.rows_needed:,} rows per group would likely settle this (80% power "
        "at the observed rates).")


def test_an_unevaluable_required_criterion_is_named_in_the_overall_finding():
    result = hand_built({"a": (5, 5, 5, 5), "b": (6, 4, 6, 4)})
    evaluation, findings = _sentences(result, preset("four-fifths"))
    assert evaluation.overall == "inconclusive"
    assert findings[0].text.startswith(
        "The policy “four-fifths” is inconclusive: no required check could be evaluated, so it cannot pass "
        "(the required criterion “four-fifths rule” could not be evaluated for any group).")
