"""A small table in the published FICO/TransRisk CSV format, written by the tests."""

import numpy as np
import pandas as pd


def write_fico_tables(folder, *, groups=("Non- Hispanic white", "Black", "Hispanic", "Asian")):
    """A small table in the published FICO format: cdf in percent, performance = percent bad."""
    scores = np.array([0, 10, 25, 40, 55, 70, 85, 100])
    cdf, bad = {}, {}
    for i, name in enumerate(groups):
        weights = np.exp(-0.5 * ((scores - (70 - 15 * i)) / 25.0) ** 2)
        cdf[name] = np.round(100 * np.cumsum(weights) / weights.sum(), 2)
        bad[name] = np.round(100 / (1 + np.exp((scores - 35 - 3 * i) / 12.0)), 2)
    pd.DataFrame({"Score": scores, **cdf}).to_csv(folder / "transrisk_cdf_by_race_ssa.csv", index=False)
    pd.DataFrame({"Score": scores, **bad}).to_csv(folder / "transrisk_performance_by_race_ssa.csv", index=False)
    pd.DataFrame({"Kind": ["SSA"], **{g: [1000 * (4 - i)] for i, g in enumerate(groups)}}).to_csv(
        folder / "totals.csv", index=False)
    return scores, cdf, bad
