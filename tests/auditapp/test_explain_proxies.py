"""Proxy detection: one-feature AUC with cross-fitting, mutual information, all features together."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from auditapp.explain import detect_proxies
from auditapp.explain.proxies import _rank_auc


@pytest.fixture(scope="module")
def people():
    rng = np.random.default_rng(7)
    n = 3000
    sex = rng.choice(["female", "male"], n)
    region = rng.choice(["north", "south", "east", "west"], n, p=[0.4, 0.3, 0.2, 0.1])
    frame = pd.DataFrame({
        "height": np.where(sex == "female", 165, 178) + rng.normal(0, 7, n),
        "postcode": np.where(region == "north", rng.choice(["N1", "N2"], n),
                             rng.choice(["S1", "S2", "E1", "W1"], n)),
        "noise": rng.normal(size=n),
        "row_id": np.arange(n),
        "weak_a": (sex == "female") * 0.4 + rng.normal(size=n),
        "weak_b": (sex == "female") * 0.4 + rng.normal(size=n),
        "weak_c": (sex == "female") * 0.4 + rng.normal(size=n),
        "weak_d": (sex == "female") * 0.4 + rng.normal(size=n),
    })
    sensitive = pd.DataFrame({"sex": sex, "region": region})
    return frame, sensitive


def test_rank_auc_matches_scikit_learn_with_ties():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 200).astype(float)
    target = rng.random(200) < 0.3
    assert _rank_auc(scores, target) == pytest.approx(roc_auc_score(target, scores), abs=1e-12)


def test_a_strong_numeric_proxy_is_flagged_and_noise_is_not(people):
    frame, sensitive = people
    report = detect_proxies(frame, sensitive[["sex"]], features=["height", "noise"], seed=0)
    table = report.features.set_index("feature")
    assert table.loc["height", "flagged"] and table.loc["height", "score"] > 0.85
    assert "stand-in for sex" in table.loc["height", "sentence"]
    assert not table.loc["noise", "flagged"] and abs(table.loc["noise", "score"] - 0.5) < 0.05
    assert table.loc["height", "nmi"] > 10 * table.loc["noise", "nmi"]


def test_a_categorical_proxy_for_one_group_of_a_multi_valued_attribute_is_found(people):
    frame, sensitive = people
    report = detect_proxies(frame, sensitive[["region"]], features=["postcode", "noise"],
                            combined=False, seed=0)
    row = report.features.set_index("feature").loc["postcode"]
    assert row["flagged"] and row["group"] == "north"
    assert "whether region is 'north'" in row["sentence"]


def test_cross_fitting_keeps_a_row_id_from_looking_like_a_proxy(people):
    frame, sensitive = people
    ids = frame[["row_id"]].astype(str)
    report = detect_proxies(ids, sensitive[["sex"]], features=["row_id"], combined=False, seed=0)
    assert abs(report.features.loc[0, "score"] - 0.5) < 0.05
    assert not report.features.loc[0, "flagged"]


def test_features_together_reconstruct_what_none_gives_away_alone(people):
    frame, sensitive = people
    weak = ["weak_a", "weak_b", "weak_c", "weak_d"]
    report = detect_proxies(frame, sensitive[["sex"]], features=weak, threshold=0.65, seed=0)
    assert not report.features["flagged"].any()
    combined = report.combined.set_index("sensitive").loc["sex"]
    assert combined["flagged"] and combined["score"] > report.features["score"].max()


def test_a_sensitive_model_input_is_reported_as_direct_use_not_as_a_proxy(people):
    frame, sensitive = people
    data = frame.assign(sex=sensitive["sex"])
    report = detect_proxies(data, sensitive[["sex"]], features=["sex", "noise"], combined=False)
    assert report.features["feature"].tolist() == ["noise"]
    assert any("uses it directly" in n for n in report.notices)


def test_proxy_scores_are_deterministic_for_a_seed(people):
    frame, sensitive = people
    first = detect_proxies(frame, sensitive[["sex"]], features=["height", "postcode"], seed=4)
    again = detect_proxies(frame, sensitive[["sex"]], features=["height", "postcode"], seed=4)
    pd.testing.assert_frame_equal(first.features, again.features)
    pd.testing.assert_frame_equal(first.combined, again.combined)


def test_normalised_mutual_information_matches_scikit_learn():
    from sklearn.metrics import normalized_mutual_info_score

    from auditapp.explain.proxies import _normalized_mutual_information

    rng = np.random.default_rng(2)
    a = rng.integers(0, 3, 500)
    b = (a + rng.integers(0, 2, 500)) % 4
    assert _normalized_mutual_information(a, b) == pytest.approx(normalized_mutual_info_score(a, b), abs=1e-12)
