"""Gap attribution between any two groups of one grouping (auditapp.explain.pairs)."""

import numpy as np
import pandas as pd
import pytest

from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec
from auditapp.explain import Grouping, ShapValues, attribute, explain_model, stratified_sample
from auditapp.explain.pairs import explanation_pair_gap, group_labels, pair_gap
from auditapp.inputs.models import from_estimator
from datasets.hiring import PROXY_FEATURE, generate_hiring, train_hiring_model

FEATURES = ("x1", "x2", "x3")


@pytest.fixture(scope="module")
def toy():
    """Three groups of unequal size, a second attribute, and attributions with a planted gap."""
    rng = np.random.default_rng(7)
    n = 400
    sensitive = pd.DataFrame({
        "race": rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1]),
        "sex": rng.choice(["f", "m"], n),
    })
    sample = stratified_sample(sensitive, rows_per_group=25, seed=3)
    rows = sensitive.iloc[sample.positions]
    values = rng.normal(0, 0.3, (sample.n_rows, len(FEATURES)))
    values[:, 0] += np.where(rows["race"] == "b", -1.0, 0.0)   # x1 pushes group b down
    values[:, 2] += np.where(rows["sex"] == "f", 0.5, 0.0)      # x3 pushes women up
    base = -0.4
    shap_values = ShapValues(
        features=FEATURES, values=values, base_value=base, output=base + values.sum(axis=1),
        output_space="log-odds", positive_class=1, method="tree",
        data=pd.DataFrame(rng.normal(size=(sample.n_rows, 3)), columns=list(FEATURES), index=rows.index),
    )
    return shap_values, sample, rows


def _population_mean(values, sample, mask_rows):
    """Mean over a group with each sampled row weighted by cell size / sampled rows of its cell."""
    counts = np.bincount(sample.cells, minlength=sample.cell_sizes.size)
    weights = sample.cell_sizes[sample.cells] / counts[sample.cells]
    return np.average(values[mask_rows], weights=weights[mask_rows], axis=0)


def test_contributions_add_up_to_the_difference_of_population_means(toy):
    shap_values, sample, rows = toy
    gap = pair_gap(shap_values, sample, features=("race",), group="b", other="c", n_boot=50, seed=1)
    is_b, is_c = (rows["race"] == "b").to_numpy(), (rows["race"] == "c").to_numpy()
    expected = (_population_mean(shap_values.output, sample, is_b)
                - _population_mean(shap_values.output, sample, is_c))
    assert gap.total == pytest.approx(expected, abs=1e-12)
    assert gap.contributions["value"].sum() == pytest.approx(gap.total, abs=1e-12)
    per_feature = (_population_mean(shap_values.values, sample, is_b)
                   - _population_mean(shap_values.values, sample, is_c))
    np.testing.assert_allclose(gap.contributions.loc[list(FEATURES), "value"], per_feature, atol=1e-12)
    assert gap.mean_group - gap.mean_reference == pytest.approx(gap.total, abs=1e-12)


def test_the_planted_feature_is_the_largest_step_and_inside_its_interval(toy):
    shap_values, sample, _ = toy
    gap = pair_gap(shap_values, sample, features=("race",), group="b", other="a", n_boot=100, seed=1)
    assert gap.contributions.index[0] == "x1"
    top = gap.contributions.iloc[0]
    assert top["low"] <= top["value"] <= top["high"] < -0.5
    assert gap.total_low <= gap.total <= gap.total_high
    assert (gap.group, gap.reference, gap.grouping) == ("b", "a", ("race",))
    assert gap.attributes == {"race": "b"} and gap.reference_attributes == {"race": "a"}


def test_swapping_the_groups_negates_every_number(toy):
    shap_values, sample, _ = toy
    forward = pair_gap(shap_values, sample, features=("race",), group="a", other="b", n_boot=40, seed=2)
    backward = pair_gap(shap_values, sample, features=("race",), group="b", other="a", n_boot=40, seed=2)
    assert backward.total == pytest.approx(-forward.total, abs=1e-12)
    assert backward.total_low == pytest.approx(-forward.total_high, abs=1e-12)
    np.testing.assert_allclose(backward.contributions.loc[list(FEATURES), "value"],
                               -forward.contributions.loc[list(FEATURES), "value"], atol=1e-12)


def test_a_pair_with_the_reference_reproduces_the_engines_gap_and_interval(toy):
    shap_values, sample, _ = toy
    engine = attribute(shap_values, sample, [Grouping(("race", "sex"), "a & m")], n_boot=60,
                       confidence=0.9, seed=5)
    expected = next(g for g in engine.gaps if g.group == "b & f")
    gap = pair_gap(shap_values, sample, features=("race", "sex"), group="b & f", other="a & m",
                   n_boot=60, confidence=0.9, seed=5)
    assert (gap.total, gap.total_low, gap.total_high) == pytest.approx(
        (expected.total, expected.total_low, expected.total_high), abs=1e-12)
    pd.testing.assert_frame_equal(gap.contributions, expected.contributions, atol=1e-12, rtol=0)


def test_without_bootstrap_the_intervals_are_missing(toy):
    shap_values, sample, _ = toy
    gap = pair_gap(shap_values, sample, features=("sex",), group="f", other="m", n_boot=0)
    assert np.isnan(gap.total_low) and np.isnan(gap.contributions["high"]).all()
    assert gap.contributions.index[0] == "x3" and gap.contributions.iloc[0]["value"] > 0.3


def test_group_labels_lists_intersections_with_the_engines_separator(toy):
    _, sample, _ = toy
    assert group_labels(sample, ("race",)) == ["a", "b", "c"]
    assert group_labels(sample, ("sex", "race")) == ["f & a", "f & b", "f & c", "m & a", "m & b", "m & c"]


def test_an_unknown_group_is_rejected_with_the_groups_listed(toy):
    shap_values, sample, _ = toy
    with pytest.raises(AuditInputError, match=r"'d' is not a group of race .*the groups are: a, b, c"):
        pair_gap(shap_values, sample, features=("race",), group="d", other="a")


def test_the_same_group_twice_is_rejected(toy):
    shap_values, sample, _ = toy
    with pytest.raises(AuditInputError, match="no gap to explain"):
        pair_gap(shap_values, sample, features=("race",), group="a", other="a")


def test_an_unknown_grouping_is_rejected(toy):
    shap_values, sample, _ = toy
    with pytest.raises(AuditInputError, match="'age' is not a sensitive feature .*choose from: race, sex"):
        pair_gap(shap_values, sample, features=("age",), group="a", other="b")
    with pytest.raises(AuditInputError, match="No feature is not a sensitive feature"):
        group_labels(sample, ())


@pytest.fixture(scope="module")
def hiring_explanation():
    frame = generate_hiring(1200, seed=5)
    model = from_estimator(train_hiring_model(frame, seed=5))
    spec = AuditSpec(target="hired", sensitive=("sex", "ethnicity"), reference={"sex": "male"})
    return explain_model(frame, spec, model, rows_per_group=60, n_boot=60)


def test_explanation_pairs_reuse_the_explanations_bootstrap(hiring_explanation):
    explanation = hiring_explanation
    engine = explanation.gap("female", grouping=("sex",))
    gap = explanation_pair_gap(explanation, grouping="sex", group="female", other="male")
    assert (gap.total, gap.total_low, gap.total_high) == pytest.approx(
        (engine.total, engine.total_low, engine.total_high), abs=1e-12)
    assert gap.contributions.index[0] == PROXY_FEATURE
    assert gap.output_space == engine.output_space


def test_explanation_pairs_work_for_intersections_named_as_in_the_app(hiring_explanation):
    gap = explanation_pair_gap(hiring_explanation, grouping="sex × ethnicity", group="female & black",
                               other="male & asian")
    groups = hiring_explanation.attributions.groups.set_index(["grouping", "group"])
    expected = (groups.loc[("sex × ethnicity", "female & black"), "mean_output"]
                - groups.loc[("sex × ethnicity", "male & asian"), "mean_output"])
    assert gap.total == pytest.approx(expected, abs=1e-9)
    assert gap.contributions["value"].sum() == pytest.approx(gap.total, abs=1e-9)
    assert gap.grouping == ("sex", "ethnicity")
