"""Figure builders of the Group metrics and Threshold explorer pages, and the shared figure helpers."""

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from auditapp.core.errors import AuditInputError
from auditapp.core.metrics import compute_audit
from auditapp.core.scores import build_threshold_index, calibration_table, roc_auc, roc_curves
from auditapp.figures import OKABE_ITO, base_layout, color_for, empty_figure
from auditapp.figures.metrics import (
    disparity_figure,
    group_metric_figure,
    group_table_columns,
    group_table_rows,
    intersection_heatmap,
)
from auditapp.figures.thresholds import (
    calibration_figure,
    roc_figure,
    threshold_curves_figure,
    threshold_moves,
    threshold_table_rows,
)
from tests.builders import rows_from_cells

# F: 20% selected; M (largest, reference): 50%; "F & c" is a small group; "M & c" does not exist.
CELLS = {
    ("F", "a"): (100, 20, 50), ("F", "b"): (100, 20, 50), ("F", "c"): (10, 2, 5),
    ("M", "a"): (120, 60, 60), ("M", "b"): (110, 55, 55),
}


@pytest.fixture(scope="module")
def result():
    y_true, y_pred, frame = rows_from_cells(CELLS)
    return compute_audit(y_true, y_pred, frame, n_boot=200, seed=7, min_group_size=30)


@pytest.fixture(scope="module")
def no_boot():
    y_true, y_pred, frame = rows_from_cells(CELLS)
    return compute_audit(y_true, y_pred, frame, n_boot=0, min_group_size=30)


def shapes_of(fig, kind):
    return [s for s in fig.layout.shapes if s.type == kind]


# --- shared helpers ---------------------------------------------------------------------------

def test_palette_is_okabe_ito_and_cycles():
    assert len(OKABE_ITO) == 8 and len(set(OKABE_ITO)) == 8
    assert color_for(0) == OKABE_ITO[0]
    assert color_for(9) == OKABE_ITO[1]


def test_base_layout_sets_titles_template_and_percent_axis():
    fig = base_layout(go.Figure(go.Bar(x=["a"], y=[0.5])), title="T", xaxis_title="X",
                      yaxis_title="Y", percent_y=True)
    assert fig.layout.title.text == "T"
    assert fig.layout.xaxis.title.text == "X" and fig.layout.yaxis.title.text == "Y"
    assert fig.layout.yaxis.tickformat == ".0%"
    assert fig.layout.legend.orientation == "h"
    assert fig.layout.template.layout.paper_bgcolor == "white"


def test_empty_figure_has_no_traces_and_shows_the_message():
    fig = empty_figure("No scores: add a score column or a model.")
    assert len(fig.data) == 0
    assert fig.layout.annotations[0].text == "No scores: add a score column or a model."
    assert fig.layout.xaxis.visible is False


# --- group metric bars -----------------------------------------------------------------------

def test_bars_error_bars_equal_the_confidence_intervals(result):
    grouping = result.grouping("sex")
    fig = group_metric_figure(grouping, ["selection_rate", "true_positive_rate"])
    assert [t.name for t in fig.data] == ["Selection rate", "True positive rate"]
    for trace, metric in zip(fig.data, ["selection_rate", "true_positive_rate"], strict=True):
        groups = grouping.groups
        assert list(trace.y) == pytest.approx(groups[metric].tolist())
        assert list(trace.error_y.array) == pytest.approx((groups[f"{metric}_high"] - groups[metric]).tolist())
        assert list(trace.error_y.arrayminus) == pytest.approx(
            (groups[metric] - groups[f"{metric}_low"]).tolist())
        assert [row[0] for row in trace.customdata] == groups["count"].tolist()


def test_bars_mark_reference_and_small_groups(result):
    grouping = result.grouping("sex", "eth")
    fig = group_metric_figure(grouping, "selection_rate")
    trace = fig.data[0]
    assert list(trace.x) == ["F & a", "F & b", "F & c (small)", "M & a (reference)", "M & b"]
    assert list(trace.marker.pattern.shape) == ["", "", "/", "", ""]
    assert trace.customdata[2][3] == "small group"
    assert fig.layout.yaxis.tickformat == ".0%"


def test_rates_too_few_to_estimate_have_no_error_bars():
    # 8 and 9 rows: below the denominator floor of 10, so no interval (and no zero-width bar).
    y_true, y_pred, frame = rows_from_cells({("F", "a"): (8, 2, 4), ("M", "a"): (9, 3, 4)})
    audit = compute_audit(y_true, y_pred, frame[["sex"]], min_group_size=1)
    fig = group_metric_figure(audit.grouping("sex"), ["selection_rate"])
    assert fig.data[0].error_y.array is None
    assert fig.data[0].customdata[0][2] == "too few to estimate"


def test_undefined_metric_gives_an_empty_bar_not_a_number():
    # F has no favourable labels, so its true positive rate is undefined.
    y_true, y_pred, frame = rows_from_cells({("F", "a"): (40, 10, 0), ("M", "a"): (60, 30, 30)})
    audit = compute_audit(y_true, y_pred, frame[["sex"]], n_boot=50, seed=0)
    fig = group_metric_figure(audit.grouping("sex"), ["true_positive_rate"])
    assert fig.data[0].y[0] is None
    assert fig.data[0].error_y.array[0] is None
    assert fig.data[0].customdata[0][1] == "n/a"


def test_unknown_metric_is_rejected(result):
    with pytest.raises(AuditInputError, match="Unknown metric.*recall"):
        group_metric_figure(result.grouping("sex"), ["recall"])


# --- disparities -----------------------------------------------------------------------------

def test_ratio_figure_has_the_four_fifths_band_line_at_one_and_ci_whiskers(result):
    grouping = result.grouping("sex", "eth")
    fig = disparity_figure(grouping, "selection_rate", kind="ratio")
    assert fig.layout.title.text == "Selection rate relative to M & a"
    (band,) = shapes_of(fig, "rect")
    assert (band.x0, band.x1) == (0.8, 1.25) and band.showlegend
    (line,) = shapes_of(fig, "line")
    assert line.x0 == line.x1 == 1
    rows = grouping.disparities.query("metric == 'selection_rate'")
    points = fig.data[0]
    assert list(points.x) == pytest.approx(rows["ratio"].tolist())
    assert list(points.error_x.array) == pytest.approx((rows["ratio_high"] - rows["ratio"]).tolist())
    assert list(points.error_x.arrayminus) == pytest.approx((rows["ratio"] - rows["ratio_low"]).tolist())
    assert list(points.y) == ["F & a", "F & b", "F & c (small)", "M & b"]
    assert points.marker.symbol[2] == "diamond-open"


def test_significant_gaps_get_a_star_and_the_caption_explains_it(result):
    grouping = result.grouping("sex", "eth")
    fig = disparity_figure(grouping, "selection_rate")
    rows = grouping.disparities.query("metric == 'selection_rate'")
    significant = rows.loc[rows["q_value"] < 0.05, "group"].tolist()
    assert significant == ["F & a", "F & b"]  # 20% vs 50% at n≈100; M & b is equal, F & c tiny
    stars = fig.data[1]
    assert stars.mode == "markers" and stars.marker.symbol == "star" and set(stars.text) == {"★"}
    assert list(stars.y) == significant
    assert "★" in stars.name
    assert "Benjamini–Hochberg q < 0.05" in fig.layout.title.subtitle.text


def test_difference_figure_has_a_zero_line_and_no_band(result):
    grouping = result.grouping("sex")
    fig = disparity_figure(grouping, "true_positive_rate", kind="difference")
    assert not shapes_of(fig, "rect")
    (line,) = shapes_of(fig, "line")
    assert line.x0 == line.x1 == 0
    row = grouping.disparities.query("metric == 'true_positive_rate'").iloc[0]
    assert fig.data[0].x[0] == pytest.approx(row["difference"])
    assert fig.data[0].customdata[0][1] == f"{row['difference'] * 100:+.1f} pp"
    assert fig.layout.xaxis.tickformat == "+.0%"


def test_disparity_without_significance_has_no_star_trace():
    y_true, y_pred, frame = rows_from_cells({("F", "a"): (60, 30, 30), ("M", "a"): (70, 35, 35)})
    audit = compute_audit(y_true, y_pred, frame[["sex"]], n_boot=0)
    fig = disparity_figure(audit.grouping("sex"), "selection_rate")
    assert len(fig.data) == 1
    assert fig.data[0].error_x.array is not None


def test_one_group_gives_an_empty_figure_saying_why():
    y_true, y_pred, frame = rows_from_cells({("F", "a"): (50, 20, 25)})
    audit = compute_audit(y_true, y_pred, frame[["sex"]], n_boot=0)
    fig = disparity_figure(audit.grouping("sex"), "selection_rate")
    assert len(fig.data) == 0
    assert "nothing to compare" in fig.layout.annotations[0].text


def test_unknown_kind_is_rejected(result):
    with pytest.raises(AuditInputError, match="kind must be 'ratio' or 'difference', but is 'log'"):
        disparity_figure(result.grouping("sex"), "selection_rate", kind="log")


# --- intersection heatmap --------------------------------------------------------------------

def test_heatmap_z_is_the_metric_and_small_or_empty_cells_are_grey(result):
    grouping = result.grouping("sex", "eth")
    fig = intersection_heatmap(grouping, "selection_rate")
    grey, main = fig.data
    assert list(main.y) == ["F", "M"] and list(main.x) == ["a", "b", "c"]
    sr = grouping.groups["selection_rate"]
    assert main.z[0][:2] == pytest.approx([sr["F & a"], sr["F & b"]])
    assert main.z[1][:2] == pytest.approx([sr["M & a"], sr["M & b"]])
    assert main.z[0][2] is None and main.z[1][2] is None  # F & c small, M & c absent
    assert grey.z[0][2] == 0 and grey.z[1][2] == 0 and grey.z[0][0] is None
    assert main.text[0][2] == "20.0%<br>n=10 (small)"
    assert main.text[1][2] == "no rows"
    assert main.text[0][0] == "20.0%<br>n=100"
    assert main.colorscale[0][1] != main.colorscale[-1][1]  # a real scale (cividis), 0..1
    assert (main.zmin, main.zmax) == (0, 1)


def test_heatmap_needs_two_features(result):
    with pytest.raises(AuditInputError, match="needs an intersection of two features, but got sex"):
        intersection_heatmap(result.grouping("sex"), "selection_rate")


# --- group table -----------------------------------------------------------------------------

def test_table_rows_format_value_and_ci_and_keep_raw_numbers(result):
    grouping = result.grouping("sex")
    rows = group_table_rows(grouping, ["selection_rate"])
    f = grouping.groups.loc["F"]
    assert rows[0]["group"] == "F" and rows[0]["n"] == 210 and rows[0]["reference"] is False
    expected = (f"{f['selection_rate'] * 100:.1f}% ({f['selection_rate_low'] * 100:.1f}–"
                f"{f['selection_rate_high'] * 100:.1f}%)")
    assert rows[0]["selection_rate"] == expected
    assert rows[0]["selection_rate_value"] == pytest.approx(f["selection_rate"])
    assert rows[0]["selection_rate_low"] == pytest.approx(f["selection_rate_low"])
    assert type(rows[0]["selection_rate_value"]) is float
    assert rows[1]["reference"] is True


def test_table_rows_flags_as_words_and_nan_as_none(no_boot):
    rows = group_table_rows(no_boot.grouping("sex", "eth"), "selection_rate")
    small = next(r for r in rows if r["group"] == "F & c")
    assert small["flags"] == "small group"
    assert small["selection_rate"] == "20.0% (2.5–51.0%)"
    precision = next(r for r in group_table_rows(no_boot.grouping("sex", "eth"), "precision")
                     if r["group"] == "F & c")
    assert precision["precision"] == "100.0%"  # 2 predicted favourable: too few for an interval
    assert precision["precision_low"] is None


def test_table_columns_sort_on_raw_values():
    columns = group_table_columns(["selection_rate"])
    metric = next(c for c in columns if c["headerName"] == "Selection rate")
    assert metric["field"] == "selection_rate_value"
    assert "selection_rate" in metric["valueFormatter"]["function"]


# --- threshold explorer ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(1)
    n = 600
    groups = np.where(rng.random(n) < 0.5, "F", "M")
    y_true = rng.integers(0, 2, n)
    y_score = np.clip(0.35 * y_true + 0.65 * rng.random(n) - 0.1 * (groups == "F"), 0, 1)
    return y_true, y_score, groups, build_threshold_index(y_true, y_score, groups)


def test_threshold_curves_have_one_line_per_group_and_metric_and_the_threshold_line(scored):
    *_, index = scored
    curves = index.curves(np.linspace(0, 1, 21))
    fig = threshold_curves_figure(curves, 0.4)
    assert len(fig.data) == 2 * 3
    lines = shapes_of(fig, "line")
    assert len(lines) == 3 and all(s.x0 == s.x1 == 0.4 for s in lines)
    assert [s.xref for s in fig.layout.shapes] == ["x", "x2", "x3"]  # shapes[i] is panel i's line
    first = fig.data[0]
    expected = curves[curves["group"] == "F"]["selection_rate"].tolist()
    assert first.name == "F" and list(first.y) == pytest.approx(expected)
    assert [t.showlegend for t in fig.data].count(True) == 2
    assert fig.data[0].line.color == fig.data[2].line.color  # F keeps its colour across panels


def test_moving_the_threshold_in_place_gives_the_figures_drawn_at_the_new_threshold(scored):
    *_, index = scored
    curves = index.curves(np.linspace(0, 1, 21))
    roc = roc_curves(index)
    auc = roc_auc(index)
    before = {"curves": threshold_curves_figure(curves, 0.3).to_plotly_json(),
              "roc": roc_figure(roc, auc, index.rates_at(0.3)).to_plotly_json()}
    after = {"curves": threshold_curves_figure(curves, 0.7).to_plotly_json(),
             "roc": roc_figure(roc, auc, index.rates_at(0.7)).to_plotly_json()}
    moves = threshold_moves(0.7, index.rates_at(0.7), roc_curves=index.with_both_outcomes())
    for name, changes in moves.items():
        figure = before[name]
        for path, value in changes:
            target = figure
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        moved = {"data": [dict(t) for t in figure["data"]], "shapes": figure["layout"].get("shapes")}
        drawn = {"data": [dict(t) for t in after[name]["data"]], "shapes": after[name]["layout"].get("shapes")}
        assert json.dumps(moved, sort_keys=True, default=str) == json.dumps(drawn, sort_keys=True, default=str)
    assert before["roc"] != after["roc"] or moves["roc"]  # the points did move


def test_threshold_curves_single_metric_and_bad_metric(scored):
    *_, index = scored
    curves = index.curves(np.linspace(0, 1, 11))
    fig = threshold_curves_figure(curves, 0.5, "true_positive_rate")
    assert len(fig.data) == 2 and fig.layout.title.text.startswith("True positive rate by threshold")
    with pytest.raises(AuditInputError, match="Unknown metric.*tpr"):
        threshold_curves_figure(curves, 0.5, "tpr")
    with pytest.raises(AuditInputError, match="lacks the column"):
        threshold_curves_figure(curves, 0.5, "precision")


def test_roc_figure_has_diagonal_group_curves_auc_legend_and_operating_points(scored):
    *_, index = scored
    auc = roc_auc(index)
    points = index.rates_at(0.5)
    fig = roc_figure(roc_curves(index), auc, points)
    diagonal, f_curve, m_curve, marks = fig.data
    assert list(diagonal.x) == [0, 1] and list(diagonal.y) == [0, 1]
    f_auc = auc.loc["F"]
    assert f_curve.name == (f"F (AUC {f_auc['roc_auc']:.2f}, 95% CI {f_auc['roc_auc_low']:.2f}–"
                            f"{f_auc['roc_auc_high']:.2f})")
    assert list(marks.x) == pytest.approx(points["false_positive_rate"].tolist())
    assert list(marks.y) == pytest.approx(points["true_positive_rate"].tolist())
    assert list(marks.marker.color) == [f_curve.line.color, m_curve.line.color]


def test_roc_without_points_or_data(scored):
    *_, index = scored
    assert len(roc_figure(roc_curves(index), roc_auc(index)).data) == 3
    empty = roc_figure(pd.DataFrame(columns=["group", "threshold", "fpr", "tpr"]), roc_auc(index))
    assert len(empty.data) == 0 and "No ROC curve" in empty.layout.annotations[0].text


def test_calibration_error_bars_are_the_wilson_intervals(scored):
    y_true, y_score, groups, _ = scored
    table = calibration_table(y_true, y_score, groups, n_bins=5)
    fig = calibration_figure(table)
    diagonal, *curves = fig.data
    assert diagonal.name == "perfectly calibrated" and len(curves) == 2
    f = table[table["group"] == "F"]
    assert list(curves[0].x) == pytest.approx(f["mean_score"].tolist())
    assert list(curves[0].error_y.array) == pytest.approx((f["observed_high"] - f["observed_rate"]).tolist())
    assert list(curves[0].error_y.arrayminus) == pytest.approx((f["observed_rate"] - f["observed_low"]).tolist())


def test_calibration_of_an_empty_table_is_an_empty_figure():
    columns = ["group", "bin", "count", "mean_score", "observed_rate", "observed_low", "observed_high",
               "bin_low", "bin_high"]
    fig = calibration_figure(pd.DataFrame(columns=columns))
    assert len(fig.data) == 0 and fig.layout.annotations[0].text.startswith("No scores")


def test_threshold_table_rows_match_rates_at(scored):
    *_, index = scored
    rates = index.rates_at(0.3)
    rows = threshold_table_rows(rates, metrics=("selection_rate", "precision"))
    assert [r["group"] for r in rows] == ["F", "M"]
    assert rows[1]["n"] == int(rates.loc["M", "count"])
    assert rows[1]["selection_rate"] == f"{rates.loc['M', 'selection_rate'] * 100:.1f}%"
    assert rows[1]["precision_value"] == pytest.approx(rates.loc["M", "precision"])
    with pytest.raises(AuditInputError, match="Unknown metric.*speed"):
        threshold_table_rows(rates, metrics=("speed",))


def test_average_odds_difference_is_shown_as_a_difference(result):
    grouping = result.grouping("sex")
    fig = disparity_figure(grouping, "average_odds_difference", kind="difference")
    row = grouping.disparities.query("metric == 'average_odds_difference'").iloc[0]
    assert fig.data[0].x[0] == pytest.approx(row["difference"])
    assert fig.data[0].error_x.array is not None
    ratio = disparity_figure(grouping, "average_odds_difference", kind="ratio")
    assert len(ratio.data) == 0 and "choose “Difference”" in ratio.layout.annotations[0].text
