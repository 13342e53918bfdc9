"""BISG / BIFSG: equal to surgeo's own output (1e-9) where surgeo finds the inputs; every other row's
treatment is stated, recorded per row, and checked by hand on surgeo's tables."""

import numpy as np
import pandas as pd
import pytest

from auditapp.compliance.bisg import GROUPS, clean_zip, infer_race, surgeo_key, table
from auditapp.core.errors import AuditInputError

SURGEO_ORDER = ["hispanic", "white", "black", "api", "native", "multiple"]
LABELS = [GROUPS[k] for k in SURGEO_ORDER]


@pytest.fixture(scope="module")
def sample():
    """300 listed surnames and ZCTAs drawn at random, spelled messily, and 200 first names."""
    rng = np.random.default_rng(7)
    names = rng.choice(table("race|surname").index.to_numpy(), 300)
    names = names[[n.isalpha() for n in names]]
    messy = [n.title() if i % 3 == 0 else (f" {n.lower()} " if i % 3 == 1 else f"{n}, Jr.") for i, n in enumerate(names)]
    zctas = rng.choice(table("zcta|race").dropna().index.to_numpy(), len(messy))
    firsts = rng.choice(table("first|race").index.to_numpy(), len(messy))
    return pd.Series(messy), pd.Series(zctas), pd.Series(firsts)


def _theirs(frame):
    return frame[SURGEO_ORDER].to_numpy(dtype=float)


def _normalised(values):
    """surgeo's single-source rows come from tables rounded to 4 decimals (rows sum to 0.9998-1.0002)."""
    return values / values.sum(axis=-1, keepdims=True)


def test_bisg_equals_surgeo(sample):
    import surgeo

    names, zips, _ = sample
    ours = infer_race(names, zips)
    theirs = surgeo.SurgeoModel().get_probabilities(names, zips)
    found = theirs[SURGEO_ORDER].notna().all(axis=1).to_numpy()
    assert found.sum() > 250
    np.testing.assert_allclose(ours.probabilities[LABELS].to_numpy()[found], _theirs(theirs)[found], rtol=0, atol=1e-9)
    assert (ours.method[found] == "BISG").all()


def test_bifsg_equals_surgeo(sample):
    import surgeo

    names, zips, firsts = sample
    ours = infer_race(names, zips, first_names=firsts)
    theirs = surgeo.BIFSGModel().get_probabilities(firsts, names, zips)
    found = theirs[SURGEO_ORDER].notna().all(axis=1).to_numpy()
    assert found.sum() > 250
    np.testing.assert_allclose(ours.probabilities[LABELS].to_numpy()[found], _theirs(theirs)[found], rtol=0, atol=1e-9)
    assert (ours.method[found] == "BIFSG").all()


def test_one_source_rows_equal_surgeos_single_source_models():
    import surgeo

    names = pd.Series(["Garcia", "Qxzzyv", "Nguyen", "Qxzzyv"])
    zips = pd.Series(["99999", "90022", "ABCDE", None])
    ours = infer_race(names, zips, first_names=pd.Series(["Qq", "Qq", "Qq", "Maria"]))
    assert list(ours.method) == ["surname only (geography not found)", "geography only (surname not found)",
                                 "surname only (geography not found)", "first name only"]
    by_surname = surgeo.SurnameModel().get_probabilities(names)
    by_zip = surgeo.GeocodeModel().get_probabilities(zips.fillna(""))
    by_first = surgeo.FirstNameModel().get_probabilities(pd.Series(["Maria"]))
    got = ours.probabilities[LABELS].to_numpy()
    np.testing.assert_allclose(got[0], _normalised(_theirs(by_surname)[0]), rtol=0, atol=1e-9)
    np.testing.assert_allclose(got[2], _normalised(_theirs(by_surname)[2]), rtol=0, atol=1e-9)
    np.testing.assert_allclose(got[1], _normalised(_theirs(by_zip)[1]), rtol=0, atol=1e-9)
    np.testing.assert_allclose(got[3], _normalised(_theirs(by_first)[0]), rtol=0, atol=1e-9)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-12)


def test_cleaning_matches_surgeo_and_digits_are_recorded():
    import surgeo

    raw = pd.Series(["Dav 3idson", "o'brien", "SMITH JR.", "de la cruz", "Müller", None, "  garcia  "])
    theirs = surgeo.SurnameModel()._normalize_names(raw)
    assert [surgeo_key(v) for v in raw] == theirs.tolist()
    result = infer_race(raw, pd.Series(["63144"] * len(raw)))
    assert result.details["surname_key"].iloc[0] == "DAVIDSON"
    assert result.counts["digits_removed"] == 1
    assert any("1 surnames contained digits; the digits were removed" in n for n in result.notes())


def test_deliberate_differences_from_surgeo_are_recorded():
    names = pd.Series(["Aviv", "Nguyen MD", "Smith-Qxzzyv", "Qxzzyv-Lopez"])
    result = infer_race(names, pd.Series(["10001"] * 4))
    details = result.details
    assert list(details["surname_key"]) == ["AVIV", "NGUYEN", "SMITH", "LOPEZ"]
    assert list(details["surname_match"]) == ["listed name kept whole (surgeo would cut its ending)",
                                             "suffix word removed", "part 1 of a compound name",
                                             "part 2 of a compound name"]
    # AVIV's probability by hand: P(r|AVIV) * P(10001|r), normalised.
    u = table("race|surname").loc["AVIV"].to_numpy() * table("zcta|race").loc["10001"].to_numpy()
    expected = pd.Series(u / u.sum(), index=table("race|surname").columns)
    got = result.probabilities.iloc[0]
    for key, label in GROUPS.items():
        assert got[label] == pytest.approx(expected[key], abs=1e-12)


@pytest.mark.parametrize(("value", "expected"), [
    ("02134", ("02134", "")), (2134, ("02134", "zero-padded")), (2134.0, ("02134", "read from a number")),
    ("02134-1234", ("02134", "ZIP+4 cut to 5 digits")), ("ABCDE", ("", "not a ZIP code")),
    (float("nan"), ("", "missing")), ("123456", ("", "not a ZIP code")),
])
def test_zip_cleaning_is_stated(value, expected):
    assert clean_zip(value) == expected


def test_unknown_zips_are_counted_not_dropped():
    result = infer_race(pd.Series(["Smith", "Smith", "Smith"]), pd.Series(["00000", "ABCDE", "63144"]))
    assert list(result.details["geo_match"]) == ["not found", "not usable", "found"]
    assert result.counts["geo_not_found"] == 2
    assert result.counts["geo_cleaning"] == {"not a ZIP code": 1}
    assert list(result.method) == ["surname only (geography not found)"] * 2 + ["BISG"]
    strict = infer_race(pd.Series(["Smith", "Smith", "Smith"]), pd.Series(["00000", "ABCDE", "63144"]),
                        fallback="none")
    assert strict.probabilities.iloc[:2].isna().all().all() and list(strict.method[:2]) == ["none: nothing found"] * 2


def test_tract_estimate_uses_p_tract_given_race_by_hand():
    tract = table("tract|race").index[100]
    result = infer_race(pd.Series(["Garcia"]), pd.Series([tract]), geography_kind="tract")
    u = table("race|surname").loc["GARCIA"].to_numpy() * table("tract|race").loc[tract].to_numpy()
    expected = dict(zip(table("race|surname").columns, u / u.sum(), strict=True))
    for key, label in GROUPS.items():
        assert result.probabilities[label].iloc[0] == pytest.approx(expected[key], abs=1e-12)


def test_nothing_found_anywhere_is_an_error():
    with pytest.raises(AuditInputError, match="No row could be estimated"):
        infer_race(pd.Series(["Qxzzyv"]), pd.Series(["ABCDE"]))
