"""``auditapp explain`` end to end on the hiring demo files, and the figures built from the result."""

import json

import numpy as np
import pytest

from auditapp.cli.main import main
from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec
from auditapp.explain import dependence_data, explain_model
from auditapp.figures.explain import (
    dependence_figure,
    gap_waterfall_figure,
    importance_figure,
    local_waterfall_figure,
    proxy_rows,
)
from auditapp.inputs.models import from_estimator
from datasets.hiring import generate_hiring, train_hiring_model, write_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("demo"), n_rows=600, seed=1)


def _args(demo, *extra):
    return ["explain", "--data", str(demo["data"]), "--model", str(demo["model"]), "--target", "hired",
            "--sensitive", "sex", "--reference", "sex=male", "--rows-per-group", "100",
            "--bootstrap", "50", *extra]


def test_explain_writes_the_documented_json(demo, tmp_path, capsys):
    out = tmp_path / "explain.json"
    assert main(_args(demo, "--json", str(out), "--seed", "5", "--row", "3")) == 0
    record = json.loads(out.read_text())
    assert record["schema"] == "auditapp.explain/1"
    assert record["sample"]["rows_per_group"] == 100 and record["sample"]["seed"] == 5
    assert record["sample"]["rows"] == 200
    assert {"feature", "mean_abs_shap", "ci"} <= set(record["importance"][0])
    assert {"attributes", "feature", "mean_abs_shap"} <= set(record["importance_by_group"][0])
    gap = record["gap"][0]
    assert gap["group"] == {"sex": "female"} and gap["reference"] == {"sex": "male"}
    assert sum(c["value"] for c in gap["contributions"]) == pytest.approx(gap["total"], abs=1e-9)
    assert {"feature", "sensitive", "score", "flagged"} <= set(record["proxies"][0])
    assert record["local"]["row"] == 3
    assert record["dataset"]["rows"] == 600 and record["model"]["format"] == "skops"
    printed = capsys.readouterr().out
    assert "Importance (mean |SHAP|)" in printed and "Gap female − male" in printed


def test_explain_with_an_unknown_column_exits_with_bad_input(demo, capsys):
    args = _args(demo)
    args[args.index("sex")] = "gender"
    assert main(args) == 2
    assert "gender" in capsys.readouterr().err


@pytest.fixture(scope="module")
def explanation():
    frame = generate_hiring(600, seed=2)
    model = from_estimator(train_hiring_model(frame, seed=2))
    spec = AuditSpec(target="hired", sensitive=("sex",), reference={"sex": "male"})
    return explain_model(frame, spec, model, rows_per_group=80, n_boot=30)


def test_gap_waterfall_runs_from_reference_to_group(explanation):
    gap = explanation.gap("female")
    fig = gap_waterfall_figure(gap, top=3)
    trace = fig.data[0]
    assert trace.x[0] == "male (starting point)" and trace.x[-1] == "female"
    assert len(trace.x) == 3 + 1 + 2  # three features, the rest together, both ends
    assert trace.y[0] + sum(trace.y[1:-1]) == pytest.approx(gap.mean_group, abs=1e-9)
    # The group is selected less often, so falling steps widen the gap.
    assert gap.total < 0
    steps = trace.y[1:-1]
    colours = trace.marker.color[1:-1]
    assert all(c == ("#D55E00" if v < 0 else "#0072B2") for v, c in zip(steps, colours, strict=True))
    # Drawn as floating bars: each step starts where the previous one ended.
    assert list(trace.base[1:-1]) == pytest.approx(list(np.cumsum([trace.y[0], *steps[:-1]])))


def test_importance_figure_has_one_bar_series_per_group_with_whiskers(explanation):
    overall = importance_figure(explanation)
    by_sex = importance_figure(explanation, grouping="sex")
    assert len(overall.data) == 1 and len(by_sex.data) == 2
    top = explanation.importance.index[0]
    assert overall.data[0].y[-1] == top
    assert overall.data[0].x[-1] == pytest.approx(explanation.importance["mean_abs_shap"].iloc[0])
    assert np.all(np.asarray(overall.data[0].error_x.array) >= 0)
    with pytest.raises(AuditInputError, match="not a grouping"):
        importance_figure(explanation, grouping="ethnicity")


def test_local_waterfall_and_dependence_and_proxy_rows(explanation):
    local = explanation.local
    fig = local_waterfall_figure(local)
    assert fig.data[0].x[0] + sum(fig.data[0].x[1:-1]) == pytest.approx(local.output, abs=1e-9)
    data = dependence_data(explanation.shap, explanation.sensitive, "womens_club", "sex")
    dep = dependence_figure(data, feature="womens_club", output_space="log-odds")
    assert sorted(t.name for t in dep.data) == ["female", "male"]
    assert sum(len(t.x) for t in dep.data) == len(data)
    assert set(dep.data[0].customdata[:, 0]) <= set(data["row"])
    rows = proxy_rows(explanation.proxies)
    assert any(r["feature"] == "womens_club" and r["flagged"] for r in rows)
    assert rows[-1]["feature"] == "(all non-sensitive features)"
