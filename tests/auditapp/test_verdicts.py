"""Verdicts: the pass/fail/inconclusive rule, each scope on hand-built counts, and the overall verdict."""

import numpy as np
import pandas as pd
import pytest

from auditapp.core.metrics import compute_audit
from auditapp.core.power import rows_needed
from auditapp.policy.criteria import Criterion, Policy, preset
from auditapp.policy.verdicts import classify, evaluate_policy


def hand_built(groups, *, n_boot=0, min_group_size=1, second=None, seed=0, reference=None):
    """compute_audit on rows with exactly the given (tn, fp, fn, tp) per group."""
    y_true, y_pred, labels = [], [], []
    for label, (tn, fp, fn, tp) in groups.items():
        for truth, pred, k in ((0, 0, tn), (0, 1, fp), (1, 0, fn), (1, 1, tp)):
            y_true += [truth] * k
            y_pred += [pred] * k
            labels += [label] * k
    frame = pd.DataFrame({"g": labels})
    if second is not None:
        frame["h"] = second(len(labels))
    return compute_audit(np.array(y_true), np.array(y_pred), frame, n_boot=n_boot, seed=seed,
                         min_group_size=min_group_size, reference=reference or {})


def policy(*criteria):
    return Policy(name="test", criteria=tuple(criteria))


def test_classify_pass_fail_and_inconclusive_when_the_interval_straddles_the_bound():
    assert classify(0.9, 0.85, 0.95, at_least=0.8, at_most=None) == "pass"
    assert classify(0.6, 0.5, 0.7, at_least=0.8, at_most=None) == "fail"
    assert classify(0.85, 0.75, 0.95, at_least=0.8, at_most=None) == "inconclusive"
    assert classify(0.78, 0.70, 0.86, at_least=0.8, at_most=None) == "inconclusive"
    assert classify(1.0, 0.9, 1.3, at_least=0.8, at_most=1.25) == "inconclusive"
    assert classify(1.4, 1.3, 1.5, at_least=0.8, at_most=1.25) == "fail"
    assert classify(0.8, 0.8, 0.8, at_least=0.8, at_most=None) == "pass"


def test_classify_without_interval_uses_the_point_and_nan_is_not_evaluable():
    nan = float("nan")
    assert classify(0.05, nan, nan, at_least=None, at_most=0.1) == "pass"
    assert classify(0.15, nan, nan, at_least=None, at_most=0.1) == "fail"
    assert classify(nan, 0.1, 0.2, at_least=None, at_most=0.1) == "not_evaluable"


def test_group_scope_uses_the_audits_own_rate_intervals():
    result = hand_built({"a": (40, 30, 20, 60), "b": (50, 10, 30, 20)})
    c = Criterion(metric="precision", measure="rate", scope="group", at_least=0.5, min_group_size=1)
    table = result.grouping("g").groups
    for v in evaluate_policy(result, policy(c)).verdicts:
        assert (v.value, v.low, v.high) == tuple(table.loc[v.group, ["precision", "precision_low",
                                                                     "precision_high"]])


def test_reference_scope_matches_the_audits_disparities_exactly():
    result = hand_built({"a": (40, 30, 20, 60), "b": (50, 10, 30, 20), "c": (30, 20, 20, 30)}, n_boot=200)
    grouping = result.grouping("g")
    for measure in ("ratio", "difference"):
        c = Criterion(metric="true_positive_rate", measure=measure, scope="reference", at_least=-5,
                      min_group_size=1)
        verdicts = evaluate_policy(result, policy(c)).verdicts
        table = grouping.disparities.query("metric == 'true_positive_rate'").set_index("group")
        assert {v.group for v in verdicts} == set(table.index)
        for v in verdicts:
            row = table.loc[v.group]
            assert (v.value, v.low, v.high) == (row[measure], row[f"{measure}_low"], row[f"{measure}_high"])
            assert v.compared_with == grouping.reference


def test_spread_scope_matches_the_audits_summary_when_every_group_is_evaluable():
    result = hand_built({"a": (40, 30, 20, 60), "b": (50, 10, 30, 20), "c": (30, 20, 20, 30)}, n_boot=200)
    summary = result.grouping("g").summary.loc["false_positive_rate"]
    diff = Criterion(metric="false_positive_rate", measure="difference", scope="spread", at_most=0.1,
                     min_group_size=1)
    ratio = Criterion(metric="false_positive_rate", measure="ratio", scope="spread", at_least=0.8,
                      min_group_size=1)
    (d,), (r,) = (evaluate_policy(result, policy(c)).verdicts for c in (diff, ratio))
    assert (d.value, d.low, d.high) == pytest.approx(
        (summary["max_min_difference"], summary["max_min_difference_low"], summary["max_min_difference_high"]),
        abs=1e-12)
    assert (r.value, r.low, r.high) == pytest.approx(
        (summary["min_max_ratio"], summary["min_max_ratio_low"], summary["min_max_ratio_high"]), abs=1e-12)
    assert (d.group, d.compared_with) == ("b", "a")  # FPR: b 10/60, a 30/70


def test_four_fifths_compares_each_group_with_the_highest_not_the_reference():
    # selection rates: a 0.5 (largest, the reference), b 0.6 (highest), c 0.45
    result = hand_built({"a": (2000, 1000, 2000, 3000), "b": (800, 1200, 800, 1200), "c": (1200, 800, 1000, 1000)},
                        reference={"g": "a"})
    verdicts = {v.group: v for v in evaluate_policy(result, preset("four-fifths")).verdicts}
    assert set(verdicts) == {"a", "c"}
    assert verdicts["a"].value == pytest.approx(0.5 / 0.6) and verdicts["a"].verdict == "pass"
    assert verdicts["c"].value == pytest.approx(0.45 / 0.6) and verdicts["c"].verdict == "fail"
    assert verdicts["c"].compared_with == "b"


def test_ratio_near_the_bound_is_inconclusive_and_decided_with_more_data():
    small = hand_built({"a": (25, 25, 25, 25), "b": (30, 20, 30, 20)}, n_boot=400)  # 0.4 / 0.5 = 0.8
    (v,) = evaluate_policy(small, preset("four-fifths")).verdicts
    assert v.value == pytest.approx(0.8) and v.low < 0.8 < v.high
    assert v.verdict == "inconclusive"
    assert v.rows_needed is None  # the estimate sits on the bound: no amount of data settles it
    large = hand_built({"a": (2500, 2500, 2500, 2500), "b": (2850, 2150, 2850, 2150)}, n_boot=400)
    (v,) = evaluate_policy(large, preset("four-fifths")).verdicts
    assert v.value == pytest.approx(0.86) and v.low > 0.8
    assert v.verdict == "pass"


def test_small_groups_are_not_evaluable_and_never_the_highest_group():
    # "tiny" is selected 100% of the time but has 5 rows, under the minimum of 30
    result = hand_built({"a": (400, 400, 400, 400), "b": (450, 350, 450, 350), "tiny": (0, 3, 0, 2)})
    evaluation = evaluate_policy(result, preset("four-fifths"))
    by_group = {v.group: v for v in evaluation.verdicts}
    assert by_group["tiny"].verdict == "not_evaluable"
    assert by_group["tiny"].reason == "5 rows, fewer than the criterion's minimum of 30"
    assert by_group["b"].compared_with == "a" and by_group["b"].value == pytest.approx(70 / 80)
    assert evaluation.overall == "pass" and evaluation.not_evaluable == 1


def test_an_undefined_rate_is_not_evaluable():
    # group b has no true positives or false negatives: its true positive rate is undefined
    result = hand_built({"a": (20, 20, 20, 20), "b": (30, 10, 0, 0)})
    c = Criterion(metric="true_positive_rate", measure="rate", scope="group", at_least=0.3)
    by_group = {v.group: v for v in evaluate_policy(result, policy(c)).verdicts}
    assert by_group["b"].verdict == "not_evaluable" and "undefined" in by_group["b"].reason
    assert by_group["a"].verdict == "pass" and by_group["a"].value == 0.5


def test_a_too_small_reference_makes_the_comparisons_not_evaluable():
    result = hand_built({"a": (20, 20, 20, 20), "b": (3, 3, 3, 3)}, reference={"g": "b"})
    c = Criterion(metric="selection_rate", measure="ratio", scope="reference", at_least=0.8)
    verdicts = {v.group: v for v in evaluate_policy(result, policy(c)).verdicts}
    assert verdicts["b"].verdict == "not_evaluable"
    assert verdicts["a"].verdict == "not_evaluable" and "reference group b" in verdicts["a"].reason


def test_overall_verdict_follows_required_criteria_only():
    result = hand_built({"a": (50, 50, 50, 50), "b": (80, 20, 80, 20)})  # selection 0.5 vs 0.2
    failing = Criterion(metric="selection_rate", measure="ratio", scope="vs_best", at_least=0.8,
                        name="fails")
    passing = Criterion(metric="accuracy", measure="difference", scope="spread", at_most=0.5, name="passes")
    assert evaluate_policy(result, policy(failing, passing)).overall == "fail"
    monitored = Criterion(metric="selection_rate", measure="ratio", scope="vs_best", at_least=0.8,
                          required=False, name="monitored")
    evaluation = evaluate_policy(result, policy(monitored, passing))
    assert evaluation.overall == "pass"
    assert evaluation.criterion_verdict("monitored") == "fail"


def test_overall_is_inconclusive_when_a_required_check_is_inconclusive_and_none_fails():
    result = hand_built({"a": (25, 25, 25, 25), "b": (30, 20, 30, 20)}, n_boot=400)
    ok = Criterion(metric="accuracy", measure="difference", scope="spread", at_most=0.9, name="ok",
                   min_group_size=1)
    evaluation = evaluate_policy(result, policy(preset("four-fifths").criteria[0], ok))
    assert evaluation.overall == "inconclusive"
    summary = evaluation.summary()
    assert summary.loc["four-fifths rule", "inconclusive"] == 1
    assert summary.loc["ok", "verdict"] == "pass"


def test_groupings_option_limits_criteria_to_single_features_or_intersections():
    rng = np.random.default_rng(0)
    result = hand_built({"a": (40, 40, 40, 40), "b": (45, 35, 45, 35)},
                        second=lambda n: rng.choice(["x", "y"], n))
    for which, expected in (("single", {("g",), ("h",)}), ("intersections", {("g", "h")})):
        c = Criterion(metric="selection_rate", measure="difference", scope="spread", at_most=0.5,
                      groupings=which, min_group_size=1)
        assert {v.features for v in evaluate_policy(result, policy(c)).verdicts} == expected


def test_evaluation_serialises_to_plain_json_types():
    result = hand_built({"a": (40, 40, 40, 40), "b": (45, 35, 45, 35), "tiny": (1, 1, 1, 1)}, n_boot=50)
    data = evaluate_policy(result, preset("four-fifths")).to_dict()
    assert data["overall"] in ("pass", "fail", "inconclusive")
    tiny = [v for v in data["verdicts"] if v["group"] == "tiny"][0]
    assert tiny["value"] is None and tiny["verdict"] == "not_evaluable"
    assert all(isinstance(v["count"], int) for v in data["verdicts"])


def test_a_required_criterion_not_evaluable_anywhere_makes_the_verdict_inconclusive():
    # Every group is below the criterion's minimum size: nothing was checked, so nothing passed.
    result = hand_built({"a": (5, 5, 5, 5), "b": (6, 4, 6, 4)})
    c = Criterion(metric="selection_rate", measure="ratio", scope="vs_best", at_least=0.8, min_group_size=50,
                  name="four-fifths")
    evaluation = evaluate_policy(result, policy(c))
    assert {v.verdict for v in evaluation.verdicts} == {"not_evaluable"}
    assert evaluation.overall == "inconclusive"
    assert evaluation.unevaluated == ("four-fifths",)
    assert evaluation.to_dict()["unevaluated_required"] == ["four-fifths"]


def test_a_required_criterion_not_evaluable_beside_a_passing_one_is_still_inconclusive():
    result = hand_built({"a": (40, 40, 40, 40), "b": (45, 35, 45, 35)})
    passing = Criterion(metric="accuracy", measure="difference", scope="spread", at_most=0.9, name="passes")
    impossible = Criterion(metric="selection_rate", measure="rate", scope="group", at_least=0.1,
                           min_group_size=10_000, name="needs more rows")
    assert evaluate_policy(result, policy(passing)).overall == "pass"
    evaluation = evaluate_policy(result, policy(passing, impossible))
    assert evaluation.overall == "inconclusive" and evaluation.unevaluated == ("needs more rows",)
    monitored = Criterion(metric="selection_rate", measure="rate", scope="group", at_least=0.1,
                          min_group_size=10_000, name="monitored", required=False)
    assert evaluate_policy(result, policy(passing, monitored)).overall == "pass"


def test_a_rate_with_too_few_in_its_denominator_is_not_evaluable():
    # b has 5 people with the favourable outcome: its true positive rate cannot be estimated
    result = hand_built({"a": (40, 40, 40, 40), "b": (60, 35, 2, 3)})
    c = Criterion(metric="true_positive_rate", measure="rate", scope="group", at_least=0.3, min_group_size=1)
    by_group = {v.group: v for v in evaluate_policy(result, policy(c)).verdicts}
    assert by_group["b"].verdict == "not_evaluable" and "too few to estimate" in by_group["b"].reason


def test_inconclusive_verdicts_say_how_many_rows_would_settle_them():
    # selection 0.45 vs 0.5: ratio 0.9 against 0.8, inconclusive at 100 rows per group
    result = hand_built({"a": (25, 25, 25, 25), "b": (28, 27, 27, 18)})
    (v,) = evaluate_policy(result, preset("four-fifths")).verdicts
    assert v.verdict == "inconclusive" and v.rows_needed is not None
    z = 1.959963984540054 + 0.8416212335729143  # alpha 0.05 (one comparison), 80% power
    expected = z ** 2 * ((1 - 0.45) / 0.45 + (1 - 0.5) / 0.5) / np.log(0.9 / 0.8) ** 2
    assert v.rows_needed == int(np.ceil(expected))
    assert evaluate_policy(result, preset("four-fifths")).to_dict()["verdicts"][0]["rows_needed"] == v.rows_needed
    # With that many rows per group at the same rates, the verdict is decided most of the time.
    rng = np.random.default_rng(0)
    decided = 0
    for _ in range(60):
        n = v.rows_needed
        sel = {"a": rng.binomial(n, 0.5), "b": rng.binomial(n, 0.45)}
        big = hand_built({k: (n - x, 0, 0, x) for k, x in sel.items()})
        decided += evaluate_policy(big, preset("four-fifths")).overall != "inconclusive"
    assert decided / 60 >= 0.65


def test_rows_needed_formula_for_a_rate_and_a_difference():
    z = 1.959963984540054 + 0.8416212335729143
    assert rows_needed(measure="rate", value=0.35, bound=0.3, p1=0.35, p2=None, share=0.5, alpha=0.05) == \
        int(np.ceil(z ** 2 * 0.35 * 0.65 / 0.05 ** 2 / 0.5))
    assert rows_needed(measure="difference", value=0.12, bound=0.1, p1=0.5, p2=0.38, share=1.0, alpha=0.05) == \
        int(np.ceil(z ** 2 * (0.25 + 0.38 * 0.62) / 0.02 ** 2))
    assert rows_needed(measure="difference", value=0.1, bound=0.1, p1=0.5, p2=0.4, share=1.0, alpha=0.05) is None
