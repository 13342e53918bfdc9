"""No silent guesses: suggestions with reasons, what the form still needs, refusals, warnings, bins, digits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from auditapp.cli.main import EXIT_BAD_INPUT, main
from auditapp.core.audit import run_audit
from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec, Binning
from auditapp.core.suggestions import bin_offers, suggest, suggest_favorable
from auditapp.inputs.source_checks import agreement_notice
from auditapp.policy.verdict_format import decisive_decimals, exact, formatter
from auditapp.service.form_check import check_form
from tests.facts import says


@pytest.fixture
def credit() -> pd.DataFrame:
    """The predictions-only upload that once audited its prediction column as the outcome."""
    rng = np.random.default_rng(5)
    n = 400
    score = rng.uniform(0, 1, n).round(4)
    return pd.DataFrame({"sex": rng.choice(["female", "male"], n), "age": rng.integers(19, 76, n),
                         "credit_risk": np.where(rng.uniform(0, 1, n) < score, "good", "bad"),
                         "predicted": np.where(score >= 0.6, "good", "bad"), "score_good": score})


def _form(**fields):
    form = {"target": "credit_risk", "favorable": "good", "source": "prediction", "prediction": "predicted",
            "score": None, "threshold": None, "sensitive": ["sex"], "bins": ""}
    form.update(fields)
    return form


def test_suggestions_never_offer_the_prediction_column_as_the_outcome(credit):
    found = suggest(credit)
    assert found.target.value == "credit_risk" and "named like an outcome" in found.target.reason
    assert (found.prediction.value, found.score.value, found.threshold.value) == ("predicted", "score_good", 0.5)
    assert found.source.value == "prediction" and found.sensitive.value == ["sex", "age"]
    assert suggest(credit, has_model=True).source.value == "model"
    unnamed = credit.rename(columns={"credit_risk": "col_c"})
    assert suggest(unnamed).target.value == "col_c"  # the one two-valued column not named like anything else
    assert suggest(unnamed.assign(extra=unnamed["sex"].map({"female": "x", "male": "y"})).drop(columns="sex")) \
        .target is None  # two candidates: no suggestion rather than a guess


def test_favourable_suggestion_reads_the_values_or_says_nothing():
    assert suggest_favorable(["bad", "good"]).value == "good"
    assert suggest_favorable([0, 1]).value == 1
    assert suggest_favorable(["female", "male"]) is None  # once 'male' was guessed as a favourable outcome


def test_the_form_is_not_ready_until_every_choice_is_made(credit):
    empty = check_form(credit, _form(target=None, favorable=None, source=None, prediction=None, sensitive=[]),
                       has_model=False)
    assert not empty.ready
    says(empty.sentence(), "choose", "the outcome column", "where the predictions come from",
         "at least one sensitive feature")
    assert check_form(credit, _form(favorable=None), has_model=False).missing == \
        ("the favourable value of 'credit_risk'",)
    assert check_form(credit, _form(prediction=None), has_model=False).missing == ("the prediction column",)
    ready = check_form(credit, _form(), has_model=False)
    assert ready.ready and ready.sentence() == "Ready: press Run audit." and ready.warnings == ()


@pytest.mark.parametrize(("fields", "message"), [
    ({"target": "predicted"}, "'predicted' cannot be both the outcome and the prediction column"),
    ({"target": "score_good", "source": "score", "score": "score_good", "favorable": 0.5},
     "'score_good' cannot be both the outcome and the score column"),
    ({"sensitive": ["sex", "credit_risk"]}, "'credit_risk' is the outcome; it cannot also be a sensitive feature"),
    ({"source": "model"}, "There is no model"),
    ({"bins": "income=q4"}, "Bins are given for 'income', which is not a sensitive feature"),
    ({"bins": "sex=lots"}, "Cannot read bin edges 'lots'"),
    ({"favorable": "excellent"}, "The favourable value 'excellent' never occurs in 'credit_risk'"),
])
def test_choices_that_cannot_be_audited_are_refused(credit, fields, message):
    check = check_form(credit, _form(**fields), has_model=False)
    assert not check.ready and any(message in p for p in check.problems), check.problems


def test_predictions_copied_into_the_outcome_are_warned_about(credit):
    copied = credit.assign(credit_risk=credit["predicted"])
    check = check_form(copied, _form(), has_model=False)
    assert check.ready and len(check.warnings) == 1
    assert "The predictions equal the outcome 'credit_risk' in every rows (100.0%)" in check.warnings[0]
    assert agreement_notice([1] * 995 + [0] * 5, [1] * 1000, target="y", source="the model") is not None
    assert agreement_notice([1] * 990 + [0] * 10, [1] * 1000, target="y", source="the model") is None  # exactly 99%
    text = agreement_notice([1] * 9999 + [0], [1] * 10000, target="y", source="the model")
    assert "9,999 of 10,000 rows (99.99%)" in text  # never rounded up to 100%


def test_the_library_and_cli_refuse_the_outcome_as_prediction_and_warn_about_copies(credit, tmp_path, capsys):
    with pytest.raises(AuditInputError, match="'predicted' is chosen as both the outcome"):
        AuditSpec(target="predicted", prediction="predicted", sensitive=("sex",))
    with pytest.raises(AuditInputError, match="as both the outcome .target. and the score column"):
        AuditSpec(target="score_good", score="score_good", sensitive=("sex",))
    path = tmp_path / "credit.csv"
    credit.to_csv(path, index=False)
    status = main(["audit", "--data", str(path), "--target", "predicted", "--prediction", "predicted",
                   "--sensitive", "sex"])
    assert status == EXIT_BAD_INPUT and "'predicted' is chosen as both the outcome" in capsys.readouterr().err
    copied = credit.assign(credit_risk=credit["predicted"])
    audit = run_audit(copied, AuditSpec(target="credit_risk", favorable="good", prediction="predicted",
                                        sensitive=("sex",)))
    assert any("every error rate 0" in n for n in audit.notices)
    copied.to_csv(path, index=False)
    assert main(["audit", "--data", str(path), "--target", "credit_risk", "--favorable", "good",
                 "--prediction", "predicted", "--sensitive", "sex"]) == 0
    assert "Note: The predictions equal the outcome 'credit_risk' in every rows" in capsys.readouterr().out


def test_a_numeric_feature_with_many_values_needs_bins_and_gets_one_click_offers(credit):
    check = check_form(credit, _form(sensitive=["sex", "age"]), has_model=False)
    assert not check.ready and check.bins_needed == {"age": credit["age"].nunique()}
    says(check.sentence(), "choose bins for 'age'", "below the sensitive features")
    offers = {o["rule"]: o["label"] for o in bin_offers(credit["age"])}
    assert offers["10,20,30,40,50,60,70,80"] == "Decades: 10–20, …, 70–80"
    assert "q4" in offers
    for rule in offers:  # every offer is a valid binning that leaves no row out
        spec = AuditSpec(target="credit_risk", favorable="good", prediction="predicted", sensitive=("age",),
                         bins={"age": Binning.parse(rule)}, min_group_size=1)
        groups = run_audit(credit, spec).result.grouping("age").groups
        assert int(groups["count"].sum()) == len(credit) and len(groups) <= 10
    assert check_form(credit, _form(sensitive=["sex", "age"], bins="age=q4"), has_model=False).ready
    audit = run_audit(credit, AuditSpec(target="credit_risk", favorable="good", prediction="predicted",
                                        sensitive=("age",), min_group_size=1))
    assert any("'age' is a number with" in n and "Bin it" in n for n in audit.notices)


def test_numbers_get_the_digits_that_put_them_on_the_right_side_of_a_bound():
    ratio = formatter("ratio", (0.8,))
    assert (ratio(0.798), ratio(0.84), ratio(0.8), ratio(0.79996)) == ("0.798", "0.84", "0.80", "0.79996")
    assert formatter("rate", (0.8,))(0.7996) == "79.96%" and formatter("rate")(0.5) == "50.0%"
    assert formatter("difference", (-0.1, 0.1))(0.0999) == "+9.99" and formatter("ratio")(float("nan")) == "n/a"
    assert decisive_decimals(0.8046, [0.8045], decimals=2) == 3 and decisive_decimals(0.8049, [0.805]) == 2
    assert (exact(0.8, "rate"), exact(-0.1, "difference"), exact(1.25, "ratio")) == ("80%", "-10", "1.25")


def test_an_outcome_of_amounts_or_classes_is_sent_to_the_amounts_and_classes_page():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"price": rng.gamma(2, 50, 300), "band": rng.choice(["a", "b", "c"], 300),
                          "stars": rng.integers(1, 6, 300), "y": rng.integers(0, 2, 300),
                          "g": rng.choice(["m", "f"], 300), "p": rng.integers(0, 2, 300)})

    def check(target):
        return check_form(frame, {"target": target, "favorable": None, "source": "prediction", "prediction": "p",
                                  "sensitive": ["g"]}, has_model=False)

    for target, kind in (("price", "amounts"), ("band", "several classes")):
        result = check(target)
        assert not result.ready
        says(result.problems[0], f"'{target}'", kind, "yes/no decisions", "Amounts & classes page")
    unclear = check("stars").problems[0]
    says(unclear, "'stars'", "5 distinct whole numbers", "classes or amounts", "Amounts & classes page")
    assert check("y").problems == ()  # two values: a yes/no outcome, this page's (its favourable value is asked)
