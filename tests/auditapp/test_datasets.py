"""Tests for the built-in hiring scenario and the public dataset loaders (no network, no real files)."""

from __future__ import annotations

import hashlib
import time
import urllib.error
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
from hypothesis import given, settings
from hypothesis import strategies as st

from auditapp.core.errors import AuditInputError
from datasets import download, public
from datasets.hiring import (
    ETHNICITIES,
    HIRING_FEATURES,
    NOISE_FEATURES,
    SCENARIO,
    demo_parts,
    generate_hiring,
    train_hiring_model,
    write_demo,
)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, tmp_path):
    """Keep the cache inside tmp_path and ignore any local copies configured on this machine."""
    monkeypatch.setenv(download.DATA_DIR_ENV, str(tmp_path / "cache"))
    for name in (public.COMPAS_PATH_ENV, public.ADULT_DIR_ENV, public.FICO_DIR_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def hiring():
    frame = generate_hiring(5000, seed=0)
    return frame, train_hiring_model(frame, seed=0)


def _no_network(url):
    raise AssertionError(f"the test tried to download {url}")


# --- hiring scenario -------------------------------------------------------------------------


def test_same_seed_gives_identical_frame_and_predictions(hiring):
    frame, model = hiring
    again = generate_hiring(5000, seed=0)
    pd.testing.assert_frame_equal(frame, again)
    refit = train_hiring_model(again, seed=0)
    features = frame[list(HIRING_FEATURES)]
    np.testing.assert_array_equal(model.predict_proba(features), refit.predict_proba(features))


def test_different_seeds_give_different_applicants():
    first, second = generate_hiring(500, seed=1), generate_hiring(500, seed=2)
    assert not first["skills_test"].equals(second["skills_test"])


def test_hiring_columns_and_ranges(hiring):
    frame, _ = hiring
    assert list(frame.columns) == [
        "applicant_id", "sex", "ethnicity", "age", "years_experience", "education",
        "skills_test", "referrals", "womens_club", "commute_km", "typing_speed", "hired",
        "performed_well",
    ]
    assert frame["applicant_id"].is_unique
    assert set(frame["sex"]) == {"female", "male"}
    assert (frame["sex"] == "female").mean() == pytest.approx(0.45, abs=0.03)
    shares = frame["ethnicity"].value_counts(normalize=True)
    assert set(shares.index) == set(ETHNICITIES)
    assert shares.min() == pytest.approx(0.08, abs=0.02)
    assert frame["age"].between(21, 65).all()
    assert frame["skills_test"].between(0, 100).all()
    assert (frame["years_experience"] <= frame["age"] - 21).all()
    assert set(frame["education"]) == {"high school", "bachelor", "master", "phd"}
    assert set(frame["hired"]) == {0, 1} and set(frame["womens_club"]) == {0, 1}
    assert set(frame["performed_well"]) == {0, 1}


def test_performance_depends_on_merit_only_while_past_decisions_penalised_women(hiring):
    frame, _ = hiring
    performance = frame.groupby("sex")["performed_well"].mean()
    hired = frame.groupby("sex")["hired"].mean()
    assert abs(performance["male"] - performance["female"]) < 0.03
    assert hired["male"] - hired["female"] > 0.2
    # Same merit, same chance: performance follows the legitimate features, as hiring did for men.
    men = frame[frame["sex"] == "male"]
    assert np.corrcoef(men["hired"], men["performed_well"])[0, 1] > 0.1


def test_demo_parts_train_and_audit_different_applicants():
    train, audit = demo_parts(300, train_rows=200, seed=3)
    whole = generate_hiring(500, seed=3)
    assert len(train) == 200 and len(audit) == 300
    assert not set(train["applicant_id"]) & set(audit["applicant_id"])
    pd.testing.assert_frame_equal(pd.concat([train, audit], ignore_index=True), whole)
    with pytest.raises(AuditInputError, match="training part needs at least 100 rows, but train_rows is 50"):
        demo_parts(300, train_rows=50)


def test_historical_labels_are_biased_although_merit_is_not(hiring):
    frame, _ = hiring
    by_sex = frame.groupby("sex")
    hire_rate = by_sex["hired"].mean()
    assert hire_rate["male"] - hire_rate["female"] > 0.2
    for column in ("years_experience", "skills_test", "referrals"):
        spread = frame[column].std()
        assert abs(by_sex[column].mean().diff().iloc[-1]) < 0.1 * spread


def test_womens_club_is_a_strong_proxy_for_sex(hiring):
    frame, _ = hiring
    female = (frame["sex"] == "female").astype(float)
    assert np.corrcoef(female, frame["womens_club"])[0, 1] > 0.5
    club_rate = frame.groupby("sex")["womens_club"].mean()
    assert club_rate["female"] == pytest.approx(0.60, abs=0.04)
    assert club_rate["male"] == pytest.approx(0.03, abs=0.02)


@pytest.mark.parametrize("column", NOISE_FEATURES)
def test_noise_features_are_unrelated_to_sex_and_label(hiring, column):
    frame, _ = hiring
    female = (frame["sex"] == "female").astype(float)
    assert abs(np.corrcoef(female, frame[column])[0, 1]) < 0.05
    assert abs(np.corrcoef(frame["hired"], frame[column])[0, 1]) < 0.05


def test_model_trained_without_sex_selects_women_far_less_often(hiring):
    _, model = hiring
    fresh = generate_hiring(5000, seed=99)
    selected = pd.Series(model.predict(fresh[list(HIRING_FEATURES)]), index=fresh.index)
    rate = selected.groupby(fresh["sex"]).mean()
    assert rate["male"] - rate["female"] > 0.1
    # The penalty runs through the proxy: the same applicant without the club scores higher.
    with_club = fresh[list(HIRING_FEATURES)].assign(womens_club=1)
    without_club = with_club.assign(womens_club=0)
    gain = model.predict_proba(without_club)[:, 1] - model.predict_proba(with_club)[:, 1]
    assert gain.mean() > 0.05


def test_model_uses_only_the_declared_features(hiring):
    frame, model = hiring
    assert tuple(model.feature_names_in_) == HIRING_FEATURES
    assert not {"sex", "ethnicity", "age", "applicant_id"} & set(model.feature_names_in_)
    flipped = frame.assign(sex=frame["sex"].map({"female": "male", "male": "female"}))
    np.testing.assert_array_equal(
        model.predict_proba(frame[list(HIRING_FEATURES)]),
        model.predict_proba(flipped[list(HIRING_FEATURES)]),
    )


def test_generation_and_training_of_5000_rows_is_fast():
    start = time.perf_counter()
    train_hiring_model(generate_hiring(5000, seed=4), seed=4)
    assert time.perf_counter() - start < 3.0


@settings(max_examples=15, deadline=None)
@given(n_rows=st.integers(100, 400), seed=st.integers(0, 2**32 - 1))
def test_any_seed_gives_valid_rows(n_rows, seed):
    frame = generate_hiring(n_rows, seed=seed)
    assert len(frame) == n_rows
    assert frame.notna().all().all()
    assert frame["age"].between(21, 65).all() and frame["skills_test"].between(0, 100).all()


@pytest.mark.parametrize("n_rows", [99, 0, -5, 2.5, True])
def test_too_few_rows_are_rejected(n_rows):
    with pytest.raises(AuditInputError, match="needs at least 100 rows"):
        generate_hiring(n_rows)


def test_training_without_a_feature_is_rejected():
    frame = generate_hiring(200, seed=0).drop(columns=["womens_club"])
    with pytest.raises(AuditInputError, match="lacks the column.*womens_club"):
        train_hiring_model(frame)


def test_training_on_one_class_is_rejected():
    frame = generate_hiring(200, seed=0).assign(hired=0)
    with pytest.raises(AuditInputError, match=r"must hold both 0 and 1, but holds \[0\]"):
        train_hiring_model(frame)


def test_write_demo_writes_csv_and_a_loadable_skops_model(tmp_path):
    paths = write_demo(tmp_path / "demo", seed=3, n_rows=300, train_rows=200)
    assert paths == {"data": tmp_path / "demo" / "hiring.csv", "train": tmp_path / "demo" / "hiring_train.csv",
                     "model": tmp_path / "demo" / "hiring_model.skops"}
    written = pd.read_csv(paths["data"])
    train, expected = demo_parts(300, train_rows=200, seed=3)
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_csv(paths["train"]), train, check_dtype=False)
    assert "score" not in written.columns
    untrusted = skops.io.get_untrusted_types(file=paths["model"])
    loaded = skops.io.load(paths["model"], trusted=untrusted)
    # The model was trained on the training part only, never on the audited rows.
    original = train_hiring_model(train, seed=3)
    features = written[list(HIRING_FEATURES)]
    np.testing.assert_array_equal(loaded.predict_proba(features), original.predict_proba(features))


def test_write_demo_into_a_file_is_rejected(tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    with pytest.raises(AuditInputError, match="is a file, not a folder"):
        write_demo(blocker, n_rows=100)


def test_scenario_settings_match_the_data(hiring):
    frame, _ = hiring
    assert SCENARIO.target == "hired" and SCENARIO.favorable == 1
    assert SCENARIO.sensitive == ("sex", "ethnicity")
    assert SCENARIO.reference == {"sex": "male"}
    assert set(SCENARIO.sensitive) | {SCENARIO.target} | set(SCENARIO.features) <= set(frame)
    assert SCENARIO.loop_outcome in frame
    assert SCENARIO.summary.count(". ") >= 1 and len(SCENARIO.what_to_try) >= 3


# --- COMPAS ----------------------------------------------------------------------------------

COMPAS_HEADER = ("id,name,first,last,sex,dob,age,race,decile_score,priors_count,"
                 "days_b_screening_arrest,c_charge_degree,is_recid,decile_score,score_text,"
                 "priors_count,two_year_recid")
COMPAS_ROWS = [
    "1,ann lee,ann,lee,Female,1980-01-01,35,Caucasian,3,0,-1,F,0,3,Low,0,0",
    "2,bob ray,bob,ray,Male,1990-02-02,25,African-American,8,4,,M,1,8,High,4,1",
    "3,cy doe,cy,doe,Male,1970-03-03,45,Hispanic,5,2,31,F,1,5,Medium,2,1",
    "4,di fox,di,fox,Female,1985-04-04,30,Other,2,1,-30,F,0,2,Low,1,0",
    "5,ed kim,ed,kim,Male,1975-05-05,40,Caucasian,6,3,0,O,0,6,Medium,3,0",
    "6,flo yu,flo,yu,Female,1995-06-06,20,African-American,9,0,30,M,-1,9,High,0,1",
    "7,gus oh,gus,oh,Male,1960-07-07,55,Asian,1,0,-31,F,0,1,Low,0,0",
]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_parse_compas_keeps_one_copy_of_repeated_columns_and_drops_personal_data(tmp_path):
    frame = public.parse_compas(_write(tmp_path / "c.csv", [COMPAS_HEADER, *COMPAS_ROWS]))
    assert len(frame) == 7
    assert list(frame.columns).count("decile_score") == 1
    assert not {"name", "first", "last", "dob"} & set(frame.columns)
    assert not any("copy" in c or c.endswith(".1") for c in frame.columns)
    assert frame["decile_score"].tolist() == [3, 8, 5, 2, 6, 9, 1]
    assert frame["priors_count"].tolist() == [0, 4, 2, 1, 3, 0, 0]


def test_propublica_filter_applies_the_four_conditions(tmp_path):
    rows = [*COMPAS_ROWS, "8,hal bo,hal,bo,Male,1990-01-01,30,Caucasian,4,1,2,F,0,4,N/A,1,0"]
    path = _write(tmp_path / "c.csv", [COMPAS_HEADER, *rows])
    frame = public.parse_compas(path, propublica_filter=True)
    # 2: missing days; 3: 31 days; 5: charge O; 6: is_recid -1; 7: -31 days; 8: score N/A.
    assert frame["id"].tolist() == [1, 4]
    assert frame.index.tolist() == [0, 1]


def test_compas_copies_that_disagree_are_rejected(tmp_path):
    rows = [COMPAS_ROWS[0], COMPAS_ROWS[1].replace(",8,High,", ",7,High,")]
    path = _write(tmp_path / "c.csv", [COMPAS_HEADER, *rows])
    with pytest.raises(AuditInputError, match="'decile_score' appears more than once.*differ in 1 row"):
        public.parse_compas(path)


def test_compas_without_required_columns_is_rejected(tmp_path):
    path = _write(tmp_path / "c.csv", ["id,sex,age", "1,Male,30"])
    with pytest.raises(AuditInputError, match="lacks the column.*race, decile_score"):
        public.parse_compas(path)


def test_compas_filter_needs_its_columns(tmp_path):
    path = _write(tmp_path / "c.csv", [
        "id,sex,age,race,decile_score,score_text,two_year_recid", "1,Male,30,Other,3,Low,0"])
    assert len(public.parse_compas(path)) == 1
    with pytest.raises(AuditInputError, match="lacks the column.*days_b_screening_arrest"):
        public.parse_compas(path, propublica_filter=True)


# --- Adult -----------------------------------------------------------------------------------

ADULT_TRAIN = [
    "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, "
    "Male, 2174, 0, 40, United-States, <=50K",
    "50, ?, 83311, Bachelors, 13, Married-civ-spouse, ?, Husband, White, Male, 0, 0, 13, "
    "United-States, >50K",
    "",
]
ADULT_TEST = [
    "|1x3 Cross validator",
    "25, Private, 226802, 11th, 7, Never-married, Machine-op-inspct, Own-child, Black, Male, "
    "0, 0, 40, ?, <=50K.",
    "38, Private, 89814, HS-grad, 9, Married-civ-spouse, Farming-fishing, Husband, White, "
    "Female, 0, 0, 50, United-States, >50K.",
    "",
]


def test_parse_adult_combines_train_and_test(tmp_path):
    frame = public.parse_adult(_write(tmp_path / "adult.data", ADULT_TRAIN),
                               _write(tmp_path / "adult.test", ADULT_TEST))
    assert list(frame.columns) == [*public.ADULT_COLUMNS, "split"]
    assert frame["split"].tolist() == ["train", "train", "test", "test"]
    assert frame["income"].tolist() == ["<=50K", ">50K", "<=50K", ">50K"]
    assert frame["workclass"].isna().tolist() == [False, True, False, False]
    assert frame["occupation"].isna().sum() == 1 and frame["native_country"].isna().sum() == 1
    assert frame.loc[0, "workclass"] == "State-gov" and frame.loc[3, "sex"] == "Female"
    assert frame["age"].tolist() == [39, 50, 25, 38]
    assert frame["hours_per_week"].dtype.kind == "i"


def test_parse_adult_train_only(tmp_path):
    frame = public.parse_adult(_write(tmp_path / "adult.data", ADULT_TRAIN))
    assert frame["split"].unique().tolist() == ["train"] and len(frame) == 2


def test_adult_with_missing_columns_is_rejected(tmp_path):
    path = _write(tmp_path / "adult.data", ["39, State-gov, 77516", "50, Private, 83311"])
    with pytest.raises(AuditInputError, match="should have 15 comma-separated values.*has 3"):
        public.parse_adult(path)


def test_adult_with_ragged_rows_is_rejected(tmp_path):
    path = _write(tmp_path / "adult.data", [ADULT_TRAIN[0], ADULT_TRAIN[0] + ", extra, more"])
    with pytest.raises(AuditInputError, match="could not be read as comma-separated values"):
        public.parse_adult(path)


def test_adult_with_unknown_label_is_rejected(tmp_path):
    path = _write(tmp_path / "adult.data", [ADULT_TRAIN[0].replace("<=50K", "rich")])
    with pytest.raises(AuditInputError, match=r"must be '<=50K' or '>50K', but also holds \['rich'\]"):
        public.parse_adult(path)


# --- FICO ------------------------------------------------------------------------------------

FICO_HEADER = "Score,Non- Hispanic white,Black,Hispanic,Asian"


def _write_fico(folder: Path, *, cdf=None, performance=None, totals=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "transrisk_cdf_by_race_ssa.csv", cdf or [
        FICO_HEADER, "0,10.00,40.00,20.00,5.00", "50,60.00,90.00,70.00,25.00",
        "100,100.00,100.00,100.00,100.00"])
    _write(folder / "transrisk_performance_by_race_ssa.csv", performance or [
        FICO_HEADER, "0,90.00,95.00,92.00,80.00", "50,20.00,30.00,25.00,10.00",
        "100,1.00,2.00,1.50,0.50"])
    _write(folder / "totals.csv", totals or [
        "Kind,Non- Hispanic white,Black,Hispanic,Asian", "SSA,1000,200,150,80"])
    return folder


def test_parse_fico_reads_cdf_repay_and_totals(tmp_path):
    tables = public.parse_fico(_write_fico(tmp_path / "fico"))
    assert tables.groups == ("White", "Black", "Hispanic", "Asian")
    np.testing.assert_array_equal(tables.scores, [0.0, 50.0, 100.0])
    assert tables.cdf.loc[50.0, "Black"] == pytest.approx(0.90)
    assert tables.repay.loc[0.0, "White"] == pytest.approx(0.10)
    assert tables.repay.loc[100.0, "Asian"] == pytest.approx(0.995)
    assert tables.totals == {"White": 1000, "Black": 200, "Hispanic": 150, "Asian": 80}


def test_fico_pmf_is_the_step_of_the_cdf(tmp_path):
    mass = public.parse_fico(_write_fico(tmp_path / "fico")).pmf()
    assert mass["White"].tolist() == pytest.approx([0.10, 0.50, 0.40])
    assert mass["Asian"].tolist() == pytest.approx([0.05, 0.20, 0.75])
    assert mass.sum().tolist() == pytest.approx([1.0] * 4)


def test_fico_folder_without_totals_is_rejected(tmp_path):
    folder = _write_fico(tmp_path / "fico")
    (folder / "totals.csv").unlink()
    with pytest.raises(AuditInputError, match="lacks totals.csv"):
        public.parse_fico(folder)


def test_fico_tables_with_different_scores_are_rejected(tmp_path):
    folder = _write_fico(tmp_path / "fico", performance=[
        FICO_HEADER, "0,90,95,92,80", "60,20,30,25,10", "100,1,2,1.5,0.5"])
    with pytest.raises(AuditInputError, match="differ in their scores or groups"):
        public.parse_fico(folder)


def test_fico_decreasing_cdf_is_rejected(tmp_path):
    folder = _write_fico(tmp_path / "fico", cdf=[
        FICO_HEADER, "0,10,40,20,5", "50,8,90,70,25", "100,100,100,100,100"])
    with pytest.raises(AuditInputError, match=r"never decrease.*decrease at score\(s\) \[50.0\]"):
        public.parse_fico(folder)


def test_fico_cdf_that_stops_short_of_100_is_rejected(tmp_path):
    folder = _write_fico(tmp_path / "fico", cdf=[
        FICO_HEADER, "0,10,40,20,5", "50,60,90,70,25", "100,90,100,100,100"])
    with pytest.raises(AuditInputError, match=r"end at 100, but the last row is \[90.0"):
        public.parse_fico(folder)


def test_fico_totals_missing_a_group_are_rejected(tmp_path):
    folder = _write_fico(tmp_path / "fico", totals=["Kind,Non- Hispanic white,Black", "SSA,1,2"])
    with pytest.raises(AuditInputError, match=r"lacks \['Hispanic', 'Asian'\]"):
        public.parse_fico(folder)


def test_fico_table_with_text_cells_is_rejected(tmp_path):
    folder = _write_fico(tmp_path / "fico", cdf=[FICO_HEADER, "0,10,40,n/a,5", "100,100,100,100,100"])
    with pytest.raises(AuditInputError, match="must hold only numbers"):
        public.parse_fico(folder)


def test_fico_scores_out_of_order_are_rejected(tmp_path):
    folder = _write_fico(tmp_path / "fico", cdf=[FICO_HEADER, "50,10,40,20,5", "0,100,100,100,100"])
    with pytest.raises(AuditInputError, match="must increase from row to row"):
        public.parse_fico(folder)


def test_fico_table_without_score_column_is_rejected(tmp_path):
    folder = _write_fico(tmp_path / "fico", cdf=["Points,White", "0,100"])
    with pytest.raises(AuditInputError, match="must start with a 'Score' column"):
        public.parse_fico(folder)


# --- download, cache and checksum ------------------------------------------------------------


def _remote(payload: bytes, name: str = "file.csv") -> download.RemoteFile:
    return download.RemoteFile("toy", name, "https://example.invalid/",
                               hashlib.sha256(payload).hexdigest())


def test_obtain_downloads_once_then_uses_the_cache(tmp_path):
    payload = b"a,b\n1,2\n"
    calls = []

    def fetch(url):
        calls.append(url)
        return payload

    remote = _remote(payload)
    first = download.obtain(remote, fetch=fetch)
    second = download.obtain(remote, fetch=fetch)
    assert first == second == tmp_path / "cache" / "toy" / "file.csv"
    assert first.read_bytes() == payload
    assert calls == ["https://example.invalid/file.csv"]


def test_obtain_replaces_a_damaged_cached_copy(tmp_path):
    payload = b"good bytes"
    remote = _remote(payload)
    cached = tmp_path / "cache" / "toy" / "file.csv"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"damaged")
    assert download.obtain(remote, fetch=lambda url: payload).read_bytes() == payload


def test_obtain_rejects_a_download_with_the_wrong_checksum(tmp_path):
    remote = _remote(b"expected bytes")
    found = hashlib.sha256(b"other bytes").hexdigest()
    with pytest.raises(AuditInputError, match=f"has sha256 {found}, but the published file has "
                                              f"{remote.sha256}"):
        download.obtain(remote, fetch=lambda url: b"other bytes")
    assert not (tmp_path / "cache" / "toy" / "file.csv").exists()


@pytest.mark.parametrize("error", [OSError("network is unreachable"),
                                   urllib.error.URLError("network is unreachable"),
                                   TimeoutError("network is unreachable")])
def test_failed_download_says_why_and_how_to_use_a_local_copy(error):
    def fetch(url):
        raise error

    with pytest.raises(AuditInputError, match="failed: network is unreachable.*offline.*"
                                              "set AUDITAPP_ADULT_DIR to the folder"):
        download.obtain(_remote(b"x"), fetch=fetch, local_env="AUDITAPP_ADULT_DIR")


def test_obtain_uses_a_verified_local_copy_without_downloading(tmp_path):
    local = tmp_path / "mine.csv"
    local.write_bytes(b"local bytes")
    assert download.obtain(_remote(b"local bytes"), fetch=_no_network, local_path=local) == local


def test_obtain_rejects_a_modified_local_copy(tmp_path):
    local = tmp_path / "mine.csv"
    local.write_bytes(b"edited bytes")
    with pytest.raises(AuditInputError, match="mine.csv has sha256 .*different or damaged copy"):
        download.obtain(_remote(b"local bytes"), fetch=_no_network, local_path=local)


def test_obtain_reports_a_missing_local_copy(tmp_path):
    with pytest.raises(AuditInputError, match="AUDITAPP_COMPAS_PATH points at .*Point it at the file"):
        download.obtain(_remote(b"x"), fetch=_no_network, local_path=tmp_path / "absent.csv",
                        local_env="AUDITAPP_COMPAS_PATH")


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    assert download.default_cache_dir() == tmp_path / "cache"
    monkeypatch.delenv(download.DATA_DIR_ENV)
    assert download.default_cache_dir() == Path.home() / ".cache" / "auditapp"


# --- load_* ----------------------------------------------------------------------------------


def test_load_compas_downloads_verifies_and_parses(monkeypatch):
    payload = ("\n".join([COMPAS_HEADER, *COMPAS_ROWS]) + "\n").encode()
    monkeypatch.setattr(public, "COMPAS_FILE", replace(
        public.COMPAS_FILE, sha256=hashlib.sha256(payload).hexdigest()))
    urls = []

    def fetch(url):
        urls.append(url)
        return payload

    frame = public.load_compas(fetch=fetch, propublica_filter=True)
    assert frame["id"].tolist() == [1, 4]
    assert urls == [public.COMPAS_FILE.url]
    assert urls[0].startswith("https://raw.githubusercontent.com/propublica/compas-analysis/")


def test_load_compas_offline_points_at_the_environment_variable():
    def fetch(url):
        raise urllib.error.URLError("no route to host")

    with pytest.raises(AuditInputError, match="no route to host.*set AUDITAPP_COMPAS_PATH to the file"):
        public.load_compas(fetch=fetch)


def test_load_compas_rejects_a_local_copy_that_is_not_the_published_file(monkeypatch, tmp_path):
    path = _write(tmp_path / "compas.csv", [COMPAS_HEADER, *COMPAS_ROWS])
    monkeypatch.setenv(public.COMPAS_PATH_ENV, str(path))
    with pytest.raises(AuditInputError, match=f"but the published file has {public.COMPAS_FILE.sha256}"):
        public.load_compas(fetch=_no_network)


def test_load_adult_reads_local_copies_from_the_folder(monkeypatch, tmp_path):
    folder = tmp_path / "adult"
    folder.mkdir()
    files = [_write(folder / "adult.data", ADULT_TRAIN), _write(folder / "adult.test", ADULT_TEST)]
    monkeypatch.setattr(public, "ADULT_FILES", tuple(
        replace(f, sha256=download.sha256_file(p)) for f, p in zip(public.ADULT_FILES, files,
                                                                    strict=True)))
    monkeypatch.setenv(public.ADULT_DIR_ENV, str(folder))
    frame = public.load_adult(fetch=_no_network)
    assert frame["split"].value_counts().to_dict() == {"train": 2, "test": 2}


def test_load_fico_downloads_all_three_tables(monkeypatch, tmp_path):
    source = _write_fico(tmp_path / "source")
    payloads = {f.url: (source / f.filename).read_bytes() for f in public.FICO_FILES}
    monkeypatch.setattr(public, "FICO_FILES", tuple(
        replace(f, sha256=hashlib.sha256(payloads[f.url]).hexdigest()) for f in public.FICO_FILES))
    tables = public.load_fico(fetch=payloads.__getitem__)
    assert tables.totals["White"] == 1000
    assert (tmp_path / "cache" / "fico" / "totals.csv").is_file()


def test_published_sources_are_pinned():
    assert public.ADULT_FILES[0].url == (
        "https://archive.ics.uci.edu/ml/machine-learning-databases/adult/adult.data")
    for remote in (public.COMPAS_FILE, *public.ADULT_FILES, *public.FICO_FILES):
        assert len(remote.sha256) == 64 and int(remote.sha256, 16) >= 0
        assert remote.url.startswith("https://") and remote.url.endswith(remote.filename)


def test_package_exports_resolve_lazily():
    import datasets
    from datasets import hiring

    assert datasets.generate_hiring is hiring.generate_hiring
    assert datasets.parse_fico is public.parse_fico
    assert set(datasets.__all__) >= {"write_demo", "load_compas", "load_adult", "load_fico"}
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        datasets.nope  # noqa: B018
