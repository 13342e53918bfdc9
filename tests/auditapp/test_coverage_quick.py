"""A seeded fast subset of bench/coverage.py: every interval type at exact parity (issue 13, finding 1)."""

import importlib.util
from pathlib import Path

import pytest


def _coverage_module():
    path = Path(__file__).resolve().parents[2] / "bench" / "coverage.py"
    spec = importlib.util.spec_from_file_location("coverage_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_interval_covers_the_truth_at_parity():
    # 3 groups x 200 rows at exact parity, 200 samples: the old spread intervals covered 0% here.
    table = _coverage_module().coverage_table(samples=200, quick=True, seed=0)
    kinds = set(table["interval"])
    assert {"rate: selection_rate", "rate: true_positive_rate", "difference: selection_rate",
            "ratio: selection_rate", "difference: average_odds_difference", "vs highest: selection ratio",
            "spread: demographic_parity_difference", "spread: demographic_parity_ratio",
            "spread: equalized_odds_difference"} <= kinds
    low = table[table["coverage"] < 0.90]
    assert low.empty, low[["interval", "coverage", "se"]].to_string()
    assert (table["few"] == 0).all()


@pytest.mark.parametrize("level", [0.02, 0.9])
def test_small_counts_cover_at_extreme_rates(level):
    module = _coverage_module()
    rows = module.run_population({"k": 2, "n": 50, "level": level, "gap": 0.0, "name": "parity"}, 200, 1)
    for row in rows:
        if row["samples"] >= 100 and row["interval"].startswith("rate"):
            assert row["covered"] / row["samples"] >= 0.88, row
