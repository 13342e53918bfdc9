"""Score histograms: exact at the bin edges, and the quantile edges engines compute are numpy's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from auditapp.core.errors import AuditInputError
from auditapp.core.scores import build_threshold_index, calibration_table, roc_curves
from auditapp.engines.histograms import (
    BinGrid,
    HistogramIndex,
    calibration_from_histograms,
    histograms_from_rows,
)
from auditapp.engines.plan import exact_quantiles


def _data(n=20_000, seed=0):
    rng = np.random.default_rng(seed)
    groups = rng.choice(["a", "b", "c"], n)
    y = rng.integers(0, 2, n)
    scores = np.clip(rng.beta(2, 3, n) + 0.1 * y, 0, 1)
    return groups, y, scores


def _index(groups, y, scores, grid):
    labels, codes = np.unique(groups, return_inverse=True)
    return HistogramIndex(tuple(labels), histograms_from_rows(codes, len(labels), y, scores, grid))


def test_bins_agree_with_the_edges_to_the_last_bit():
    grid = BinGrid.for_scores(-0.37, 3.1, 1000)
    edges = grid.edges
    rng = np.random.default_rng(4)
    scores = np.concatenate([edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf),
                             rng.uniform(grid.lo, grid.hi, 10_000)])
    scores = scores[(scores >= grid.lo) & (scores <= grid.hi)]
    k = grid.assign(scores)
    assert ((edges[k] <= scores) & ((k == grid.bins) | (scores < edges[np.minimum(k + 1, grid.bins)]))).all()


def test_counts_at_every_edge_are_the_counts_of_the_rows():
    groups, y, scores = _data()
    grid = BinGrid.for_scores(scores.min(), scores.max(), 10_000)
    binned, exact = _index(groups, y, scores, grid), build_threshold_index(y, scores, groups)
    edges = grid.edges[::37]
    assert (binned.counts_at(edges) == exact.counts_at(edges)).all()
    assert (binned.counts_at(0.5) == exact.counts_at(0.5)).all()


def test_auc_is_exact_for_scores_on_the_edges_and_within_the_resolution_otherwise():
    groups, y, scores = _data()
    grid = BinGrid.for_scores(0, 1, 1000)
    on_edges = grid.edges[grid.assign(scores)]
    table = _index(groups, y, on_edges, grid).roc_auc()
    for label in ("a", "b", "c"):
        mask = groups == label
        assert table.loc[label, "roc_auc"] == pytest.approx(roc_auc_score(y[mask], on_edges[mask]), abs=1e-12)
    table = _index(groups, y, scores, grid).roc_auc()
    for label in ("a", "b", "c"):
        mask = groups == label
        assert abs(table.loc[label, "roc_auc"] - roc_auc_score(y[mask], scores[mask])) < 2e-3


def test_roc_points_lie_on_the_exact_curve():
    groups, y, scores = _data(5000)
    grid = BinGrid.for_scores(0, 1, 10_000)
    binned = roc_curves(_index(groups, y, scores, grid), max_points=50)
    exact = build_threshold_index(y, scores, groups)
    finite = binned[np.isfinite(binned["threshold"])]
    for label, part in finite.groupby("group"):
        g = list(exact.labels).index(label)
        counts = exact.counts_at(part["threshold"].to_numpy())[:, g]
        assert np.allclose(part["tpr"], counts[:, 3] / (counts[:, 2] + counts[:, 3]), atol=1e-12)
        assert np.allclose(part["fpr"], counts[:, 1] / (counts[:, 0] + counts[:, 1]), atol=1e-12)
        assert len(part) <= 50


def test_calibration_matches_the_row_table():
    groups, y, scores = _data()
    grid = BinGrid.for_scores(scores.min(), scores.max(), 10_000)
    index = _index(groups, y, scores, grid)
    binned = calibration_from_histograms(index.labels, index.histograms)
    rows = calibration_table(y, scores, groups)
    assert (binned["count"].to_numpy() == rows["count"].to_numpy()).all()
    for column in ("mean_score", "observed_rate", "observed_low", "observed_high", "bin_low", "bin_high"):
        assert np.allclose(binned[column], rows[column], rtol=0, atol=1e-12), column


def test_grid_refuses_infinite_scores_and_odd_bin_counts():
    with pytest.raises(AuditInputError, match="finite"):
        BinGrid.for_scores(0, np.inf)
    with pytest.raises(AuditInputError, match="multiple of 10"):
        BinGrid.for_scores(0, 1, 15)


def test_resolution_is_stated():
    grid = BinGrid.for_scores(0, 1, 10_000)
    assert "0.0001" in grid.sentence() and grid.describe()["bin_width"] == 1e-4


@pytest.mark.parametrize("quantiles", [2, 3, 4, 7, 10])
def test_quantile_edges_from_value_counts_are_numpys(quantiles):
    rng = np.random.default_rng(quantiles)
    values = np.concatenate([rng.integers(0, 90, 5001).astype(float), rng.normal(40, 13, 777)])
    distinct, counts = np.unique(values, return_counts=True)
    expected = tuple(float(e) for e in np.unique(np.nanquantile(values, np.linspace(0, 1, quantiles + 1))))
    assert exact_quantiles(distinct, counts, quantiles, "age") == expected
