"""Shared runner: dispatch by name, plain-value conversion, validation helpers."""

import numpy as np
import pandas as pd
import pytest

from auditapp.core.errors import AuditInputError
from auditapp.feedback.policing import PolicingParams, simulate_policing
from auditapp.feedback.runner import (
    SimulationResult,
    check_count,
    check_share,
    run_simulation,
    to_plain,
)


def test_dispatch_by_name_matches_the_direct_call():
    by_name = run_simulation("policing", {"steps": 50, "runs": 3}, seed=1)
    direct = simulate_policing(PolicingParams(steps=50, runs=3), seed=1)
    assert isinstance(by_name, SimulationResult)
    assert by_name.series.equals(direct.series)
    assert run_simulation("lending", None).scenario == "lending"


def test_unknown_scenario_and_settings_are_rejected():
    with pytest.raises(AuditInputError, match="no simulation called 'weather'"):
        run_simulation("weather")
    with pytest.raises(AuditInputError, match="Bad settings for the policing simulation"):
        run_simulation("policing", {"speed": 3})
    with pytest.raises(AuditInputError, match="takes PolicingParams"):
        run_simulation("policing", object())


def test_series_are_tidy_with_the_standard_columns():
    result = run_simulation("policing", {"steps": 10, "runs": 2}, seed=0)
    assert list(result.series.columns) == ["step", "series", "group", "value"]
    assert result.params["rates"] == [3.69, 2.82]
    with pytest.raises(KeyError, match="No series 'nope'"):
        result.series_wide("nope")


def test_to_plain_converts_numpy_and_non_finite_values():
    plain = to_plain({"a": np.int64(2), "b": np.array([0.5, np.nan]), "c": (np.float64(1.5),),
                      "d": pd.DataFrame({"x": [1]})})
    assert plain == {"a": 2, "b": [0.5, None], "c": [1.5], "d": "<table 1x1>"}
    assert type(plain["a"]) is int


def test_validation_helpers_give_clear_messages():
    with pytest.raises(AuditInputError, match="whole number, but got 2.5"):
        check_count("The number of runs", 2.5, maximum=10)
    with pytest.raises(AuditInputError, match="must be a number, but got 'many'"):
        check_count("The number of runs", "many", maximum=10)
    with pytest.raises(AuditInputError, match="between 0 and 1"):
        check_share("The reported share", 2)
    assert check_share("x", np.float64(0.25)) == 0.25
