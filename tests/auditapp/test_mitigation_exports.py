"""Exported randomised models decide by a seeded hash of a row key and carry their bins; re-audits reproduce."""

import json

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from auditapp.cli.main import main
from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec, Binning
from auditapp.inputs.models import from_estimator, load_model
from auditapp.mitigation.compare import compare_mitigations
from auditapp.mitigation.draws import keyed_decisions, row_keys, uniform_draws
from auditapp.mitigation.export import export_candidate
from datasets.hiring import generate_hiring, train_hiring_model


def test_hashed_draws_follow_the_row_not_its_position():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"id": np.arange(5000), "x": rng.normal(size=5000), "g": rng.choice(["a", "b"], 5000)})
    u = uniform_draws(frame, ["id", "x", "g"], seed=3)
    order = rng.permutation(5000)
    np.testing.assert_array_equal(uniform_draws(frame.iloc[order], ["id", "x", "g"], seed=3), u[order])
    assert not np.array_equal(uniform_draws(frame, ["id", "x", "g"], seed=4), u)
    assert 0 <= u.min() and u.max() < 1
    # Uniform: a quarter of the rows fall below 0.25 (within four standard errors).
    assert abs(np.mean(u < 0.25) - 0.25) < 4 * np.sqrt(0.25 * 0.75 / 5000)
    decided = keyed_decisions(np.full(5000, 0.3), frame, ["id"], seed=1)
    assert abs(decided.mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 5000)


def test_row_keys_read_numbers_the_same_whatever_their_type():
    as_int = pd.DataFrame({"age": [44, 30], "sex": ["f", "m"]})
    as_float = pd.DataFrame({"age": [44.0, 30.0], "sex": ["f", "m"]})
    as_text = pd.DataFrame({"age": ["44", "30"], "sex": ["f", "m"]})
    expected = row_keys(as_int, ["age", "sex"], seed=0)
    np.testing.assert_array_equal(row_keys(as_float, ["age", "sex"], seed=0), expected)
    np.testing.assert_array_equal(row_keys(as_text, ["age", "sex"], seed=0), expected)
    assert row_keys(pd.DataFrame({"sex": ["f", None]}), ["sex"])[1] != row_keys(pd.DataFrame({"sex": ["f", "None"]}),
                                                                                   ["sex"])[1]
    with pytest.raises(AuditInputError, match="row key column"):
        row_keys(as_int, ["applicant"])
    # Text is text whatever its column type (pandas' text type, objects, categories), missing values included.
    words = ["nurse", None, "clerk", "nurse", "Ölmüller", ""]
    expected = row_keys(pd.DataFrame({"job": pd.Series(words, dtype=object)}), ["job"], seed=5)
    for dtype in ("str", "string", "category"):
        np.testing.assert_array_equal(row_keys(pd.DataFrame({"job": pd.Series(words, dtype=dtype)}), ["job"], seed=5),
                                      expected)
    assert len(set(expected.tolist())) == 5 and expected[0] == expected[3]
    # A text column is read as numbers only when every value is one: whichever value is not, first or last.
    def keys(*values):
        return row_keys(pd.DataFrame({"c": list(values)}), ["c"], seed=0)

    number, word = keys(44.0)[0], keys("x")[0]
    assert keys("44")[0] == number  # all numbers: read as one
    mixed_last, mixed_first = keys(None, "44", "x"), keys("x", None, "44")
    assert mixed_last[1] == mixed_first[2] != number and mixed_last[2] == mixed_first[0] == word


@pytest.fixture(scope="module")
def hiring_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hiring")
    frame = generate_hiring(2000, seed=31)
    frame.to_csv(folder / "hiring.csv", index=False)
    model = train_hiring_model(generate_hiring(1500, seed=97), seed=0)
    sio.dump(model, folder / "model.skops")
    return folder, frame, model


def test_exported_threshold_optimizer_with_binned_age_reproduces_in_shuffled_order(hiring_files, tmp_path):
    folder, frame, model = hiring_files
    spec = AuditSpec(target="hired", sensitive=("sex", "age"), bins={"age": Binning.parse("18,30,45,70")},
                     n_boot=200, seed=5)
    comparison = compare_mitigations(frame, spec, from_estimator(model), constraint="equalized_odds", grouping=("sex", "age"),
                                     candidates=["threshold_optimizer"])
    result = comparison.candidate("threshold_optimizer")
    assert result.error is None
    files = export_candidate(comparison, "threshold_optimizer", tmp_path / "export")
    test = frame.iloc[comparison.split.test_positions]
    test.sample(frac=1.0, random_state=7).to_csv(tmp_path / "shuffled.csv", index=False)
    test.to_csv(tmp_path / "ordered.csv", index=False)
    records = {}
    for name in ("shuffled", "ordered"):
        out = tmp_path / f"{name}.json"
        status = main(["audit", "--data", str(tmp_path / f"{name}.csv"), "--model", str(files.model_path),
                       "--target", "hired", "--sensitive", "sex,age", "--bins", "age=18,30,45,70",
                       "--bootstrap", "0", "--json", str(out)])
        assert status == 0
        records[name] = json.loads(out.read_text())
    assert "random decision" in records["shuffled"]["settings"]["decision_rule"]

    def per_group(record):
        return {tuple(sorted(g["attributes"].items())): (g["count"], g["confusion"]) for g in record["groups"]}

    # The same people get the same decisions in any order ...
    assert per_group(records["shuffled"]) == per_group(records["ordered"])
    # ... and the re-audit lands inside the intervals the comparison reported for every group.
    reported = result.audit
    checked = 0
    for g in records["shuffled"]["groups"]:
        features = tuple(g["attributes"])
        groups = reported.grouping(*features).groups
        label = " & ".join(g["attributes"][f] for f in reported.grouping(*features).features)
        rate = g["metrics"]["selection_rate"]["value"]
        assert groups.loc[label, "selection_rate_low"] <= rate <= groups.loc[label, "selection_rate_high"], label
        checked += 1
    assert checked == 2 + 3 + 6  # sex, age bins, and their intersections


def test_row_key_column_keys_the_exported_decisions(hiring_files, tmp_path):
    _, frame, model = hiring_files
    spec = AuditSpec(target="hired", sensitive=("sex",), n_boot=0, seed=5)
    comparison = compare_mitigations(frame, spec, from_estimator(model), candidates=["exponentiated_gradient"],
                                     row_key="applicant_id")
    files = export_candidate(comparison, "exponentiated_gradient", tmp_path)
    loaded = load_model(files.model_path)
    assert "applicant_id" in loaded.feature_names and loaded.decides_at_random
    test = frame.iloc[comparison.split.test_positions]
    changed = test.assign(years_experience=test["years_experience"] + 0.0)
    decisions = loaded.predict(changed[list(loaded.feature_names)])
    np.testing.assert_array_equal(decisions, comparison.candidate("exponentiated_gradient").y_pred)
    manifest = json.loads(files.manifest_path.read_text())
    assert "the column 'applicant_id'" in manifest["decides"] and "never by row order" in manifest["decides"]
    with pytest.raises(AuditInputError, match="row key column 'nope'"):
        compare_mitigations(frame, spec, from_estimator(model), candidates=["baseline"], row_key="nope")


def test_quantile_bins_are_frozen_into_the_export(hiring_files, tmp_path):
    _, frame, model = hiring_files
    spec = AuditSpec(target="hired", sensitive=("age",), bins={"age": Binning.parse("q3")}, n_boot=0)
    comparison = compare_mitigations(frame, spec, from_estimator(model), candidates=["threshold_optimizer"])
    exported = comparison.candidate("threshold_optimizer").model
    edges = tuple(np.quantile(frame["age"].to_numpy(float), [0, 1 / 3, 2 / 3, 1]))
    assert exported.bins["age"] == pytest.approx(edges)
    # A handful of new people (not the whole table) are grouped by the frozen edges, not their own quantiles.
    few = frame.iloc[:5]
    np.testing.assert_allclose(exported.predict_proba(few)[:, 1],
                               exported.predict_proba(frame)[:5, 1], atol=0)


def test_rows_that_share_their_content_are_named_in_a_note():
    rng = np.random.default_rng(8)
    n = 600
    sex = rng.choice(["female", "male"], n)
    club = (rng.random(n) < np.where(sex == "female", 0.6, 0.1)).astype(int)
    frame = pd.DataFrame({"club": club, "pred": club, "sex": sex, "id": np.arange(n),
                          "hired": (rng.random(n) < 0.3 + 0.4 * club).astype(int)})
    spec = AuditSpec(target="hired", sensitive=("sex",), prediction="pred", n_boot=0)
    coarse = compare_mitigations(frame, spec, candidates=["exponentiated_gradient"], features=["club"])
    note = next(n for n in coarse.candidate("exponentiated_gradient").notes if "seeded hash" in n)
    assert "100% of the rows share their key with another row" in note
    keyed = compare_mitigations(frame, spec, candidates=["exponentiated_gradient"], features=["club"], row_key="id")
    note = next(n for n in keyed.candidate("exponentiated_gradient").notes if "seeded hash" in n)
    assert "the column 'id'" in note and "share their key" not in note
