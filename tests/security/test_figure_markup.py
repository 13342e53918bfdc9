"""Names that users chose (groups, columns, row ids, policies) show literally in every Plotly figure.

Plotly reads text in titles, ticks, legends, hover labels, annotations and text on traces as a small
HTML dialect: a group called ``<b>x</b>`` was drawn bold and ``<a href=…>`` became a link. Each test
builds real figures from real results whose names are markup, then walks the figure's JSON.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from auditapp.core.audit import run_audit
from auditapp.core.spec import AuditSpec
from auditapp.figures import empty_figure, escape
from auditapp.inputs.models import from_estimator

BOLD = "<b>bold</b>"
LINK = '<a href="https://evil.example/">link</a> &lt; %{fullData.name}'
COLOUR = "<i>colour</i>"
REGION = "<sup>region</sup>"
# Raw markup, or markup escaped twice (which would show "&lt;b&gt;" on screen): never in a figure.
RAW = ("<b>bold", "<a href", "<i>colour", "<sup>region", "%{fullData", "a> &lt;", "&amp;amp;", "&amp;lt;b&amp;gt;")
SHOWN = ("&lt;b&gt;bold&lt;/b&gt;", "&lt;a href=", "&amp;lt; &#37;{fullData.name}")


def strings(node, path=""):
    """Every (path, text) in a figure's JSON, except customdata (data for callbacks, never drawn as-is)
    and meta (the figure's text alternative: plain text that Plotly never draws, written as text nodes by
    charts.js and escaped by the report; see ``test_text_alternatives_are_plain_text``)."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key not in ("customdata", "meta"):
                yield from strings(value, f"{path}.{key}")
    elif isinstance(node, (list, tuple, np.ndarray)):
        for i, value in enumerate(node):
            yield from strings(value, f"{path}[{i}]")


def assert_literal(fig, *, expect=SHOWN[:1]):
    texts = list(strings(fig.to_plotly_json()))
    leaks = [(p, t) for p, t in texts if any(r in t for r in RAW)]
    assert not leaks, leaks[:5]
    for shown in expect:
        assert any(shown in t for _, t in texts), f"{shown} is not in the figure"


@pytest.fixture(scope="module")
def audited():
    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame({
        "sex": rng.choice([BOLD, LINK], n), "region": rng.choice([REGION, "east"], n),
        COLOUR: rng.choice(["<s>red</s>", "blue"], n), "income": rng.normal(size=n),
    })
    logit = frame["income"] + (frame[COLOUR] == "blue") - (frame["sex"] == BOLD)
    frame["y"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame.index = [f"<b>r{i}</b>" for i in range(n)]
    encode = ColumnTransformer([("onehot", OneHotEncoder(handle_unknown="ignore"), [COLOUR])],
                               remainder="passthrough")
    model = from_estimator(make_pipeline(encode, LogisticRegression()).fit(frame[[COLOUR, "income"]], frame["y"]))
    spec = AuditSpec(target="y", favorable=1, sensitive=("sex", "region"), reference={"sex": BOLD},
                     n_boot=50, min_group_size=5)
    return frame, spec, model, run_audit(frame, spec, model)


def test_escape_makes_markup_entities_once():
    assert escape('<a href="x">&amp; 50%{y}</a>') == '&lt;a href="x"&gt;&amp;amp; 50&#37;{y}&lt;/a&gt;'
    assert escape("F & a, &#60;b>, &lt;") == "F & a, &amp;#60;b&gt;, &amp;lt;"
    assert escape(3) == "3"


def test_group_metric_figures(audited):
    from auditapp.figures.metrics import disparity_figure, group_metric_figure, intersection_heatmap

    _, _, _, audit = audited
    sex = audit.result.grouping("sex")
    assert_literal(group_metric_figure(sex, ["selection_rate", "true_positive_rate"]), expect=SHOWN)
    assert_literal(disparity_figure(sex, "selection_rate"), expect=SHOWN)
    both = audit.result.grouping("sex", "region")
    assert_literal(intersection_heatmap(both, "selection_rate"), expect=(*SHOWN, "&lt;sup&gt;region"))


def test_threshold_figures(audited):
    from auditapp.core.scores import roc_auc, roc_curves
    from auditapp.figures.thresholds import calibration_figure, roc_figure, threshold_curves_figure

    _, _, _, audit = audited
    index = audit.threshold_index(("sex",))
    assert_literal(threshold_curves_figure(index.curves(np.linspace(0, 1, 11)), 0.5), expect=SHOWN)
    assert_literal(roc_figure(roc_curves(index), roc_auc(index), index.rates_at(0.5)), expect=SHOWN)
    assert_literal(calibration_figure(audit.calibration["sex"]), expect=SHOWN)


def test_verdict_figure_with_a_policy_named_in_markup(audited):
    from auditapp.figures.report import verdict_figure
    from auditapp.policy.criteria import Criterion, Policy
    from auditapp.policy.verdicts import evaluate_policy

    _, _, _, audit = audited
    name = "<b>rule</b>"
    policy = Policy(name="<i>ours</i>", criteria=(Criterion(metric="selection_rate", at_least=0.8, name=name,
                                                            min_group_size=5),))
    fig = verdict_figure(evaluate_policy(audit.result, policy), name)
    assert_literal(fig, expect=("&lt;b&gt;rule", *SHOWN))
    assert fig.layout.title.text.startswith("&lt;b&gt;rule&lt;/b&gt;: ")


def test_explanation_figures(audited):
    from auditapp.explain import dependence_data, explain_model, local_explanation
    from auditapp.figures.explain import (
        dependence_figure,
        gap_waterfall_figure,
        importance_figure,
        local_waterfall_figure,
    )

    frame, spec, model, _ = audited
    explanation = explain_model(frame, spec, model, rows_per_group=40, seed=0, n_boot=20)
    assert_literal(importance_figure(explanation), expect=("&lt;i&gt;colour",))
    assert_literal(importance_figure(explanation, grouping="sex"), expect=SHOWN[:2])
    assert_literal(gap_waterfall_figure(explanation.gaps[0]), expect=("&lt;i&gt;colour",))
    local = local_explanation(explanation.explainer, frame, "<b>r3</b>")
    fig = local_waterfall_figure(local)
    assert_literal(fig, expect=("row &lt;b&gt;r3&lt;/b&gt;", "&lt;s&gt;red&lt;/s&gt;") if
                   frame.loc["<b>r3</b>", COLOUR] != "blue" else ("row &lt;b&gt;r3&lt;/b&gt;",))
    data = dependence_data(explanation.shap, explanation.sensitive, COLOUR, "sex")
    fig = dependence_figure(data, feature=COLOUR, output_space=explanation.shap.output_label)
    assert_literal(fig, expect=("&lt;i&gt;colour", "&lt;s&gt;red", *SHOWN[:2]))
    trace = fig.data[0]
    assert trace.customdata[0][0].startswith("<b>r")  # the raw row id, for the click → local view
    assert trace.customdata[0][1] == escape(trace.customdata[0][0]) and "customdata[1]" in trace.hovertemplate


def test_mitigation_figures(audited):
    from auditapp.figures.mitigation import candidate_groups_figure, tradeoff_figure
    from auditapp.mitigation.compare import compare_mitigations

    frame, spec, model, _ = audited
    comparison = compare_mitigations(frame, AuditSpec(target="y", sensitive=("sex",), n_boot=20, min_group_size=5),
                                     model, candidates=["baseline", "threshold_optimizer"], n_jobs=1)
    assert_literal(tradeoff_figure(comparison), expect=())
    assert_literal(candidate_groups_figure(comparison, "baseline"), expect=SHOWN)


def test_model_loop_figures(audited):
    from auditapp.feedback.runner import run_simulation
    from auditapp.figures.feedback import model_loop_gap_figure, model_loop_rates_figure
    from auditapp.service import feedback_presets as presets

    frame, _, _, _ = audited
    frame = frame.reset_index(drop=True)
    raw = {c.name: c.default for c in presets.CONTROLS["model-loop"]}
    values = presets.read_controls("model-loop", {**raw, "seed": 0, "sensitive": "sex", "rounds": 2,
                                                  "pool_size": 80})
    setup = presets.loop_setup(frame, exclude=("y", "sex", "region"))
    params = presets.model_loop_params(values, setup, frame, target="y", favorable=1)
    result = run_simulation("model-loop", params, seed=0)
    assert_literal(model_loop_rates_figure(result), expect=SHOWN[:2])
    assert_literal(model_loop_gap_figure(result), expect=())


def test_empty_figures_show_messages_literally():
    assert_literal(empty_figure(f"Column {BOLD} is missing.", title=LINK), expect=SHOWN)


def test_text_alternatives_are_plain_text(audited):
    """A figure's summary and table hold the names as written; the report shows them escaped, never as markup."""
    from auditapp.figures.describe import figure_text
    from auditapp.figures.metrics import group_metric_figure
    from auditapp.reporting.report_html import figure_html

    *_, audit = audited
    fig = group_metric_figure(audit.result.grouping("sex"), "selection_rate")
    text = figure_text(fig)
    assert BOLD in text.summary and any(BOLD in cell for row in text.rows for cell in row)
    page = figure_html(fig, "chart")
    tables = page.split("</script>", 1)[1]  # what follows the figure's data: its table of numbers
    assert "&lt;b&gt;bold&lt;/b&gt;" in tables and "<b>" not in tables
