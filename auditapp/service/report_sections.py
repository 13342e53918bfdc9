"""The report's sections for the Explanations, Mitigation and Feedback loops pages.

Each section carries its findings in words and its tables, then the charts the page shows: the proxy,
importance and gap tables; the mitigation groups and candidates with intervals, the recommended candidate
and its legal note; each simulation's summary. A page not run in the session still gets its section (and
its line in the table of contents), saying how to include it. Every sentence comes from the same functions
the pages use, so the report and the app say the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from auditapp.reporting.report_html import bullets, e, table

REPORT_POINTS = 300  # time steps per simulation chart: enough to see the shape, small enough to open fast

NOT_RUN = {
    "explanations": "Not run in this session: open Explanations and press Compute; the report then includes "
                    "the importance, gap and proxy tables.",
    "mitigations": "Not run in this session: open Mitigation and press Run the comparison; the report then "
                   "includes every candidate with its intervals and the recommended one.",
    "feedback": "Not run in this session: open Feedback loops and press Run; the report then includes the "
                "simulation's summary.",
}


@dataclass(frozen=True)
class ReportSection:
    """One section: its anchor, title, whether its page ran, and how to write its body (given a figure drawer)."""

    anchor: str
    title: str
    ran: bool
    body: Callable[[Callable], str]

    def render(self, draw) -> str:
        return f'<section id="{e(self.anchor)}"><h2>{e(self.title)}</h2>{self.body(draw)}</section>'


def not_run(anchor: str, title: str) -> ReportSection:
    return ReportSection(anchor, title, False, lambda _draw: f'<p class="note">{e(NOT_RUN[anchor])}</p>')


def _num(value, form: str = ".2f") -> str:
    return "n/a" if value is None or not math.isfinite(float(value)) else format(float(value), form)


def _ci(value, low, high, form: str = ".3f") -> str:
    return f"{_num(value, form)} [{_num(low, form)}, {_num(high, form)}]"


# -- Explanations ---------------------------------------------------------------------------------------

def explanation_section(explanation, n_rows: int, *, max_gaps: int = 6) -> ReportSection:
    """Importance, importance by group, what drives each gap, and proxies: in words, tables and charts."""
    from auditapp.explain.proxies import proxy_sentence
    from auditapp.figures.explain import gap_waterfall_figure, importance_figure, proxy_rows
    from auditapp.service import explain_jobs as jobs

    def body(draw) -> str:
        parts = [bullets([jobs.output_sentence(explanation), jobs.sample_sentence(explanation, n_rows)])]
        imp = explanation.importance
        parts.append("<h3>Which features drive the model</h3>" + bullets([jobs.importance_sentence(explanation)]))
        parts.append(table(["Feature", "Mean |SHAP| [95% interval]"],
                           [[e(name), _ci(r["mean_abs_shap"], r["low"], r["high"])] for name, r in imp.iterrows()],
                           numeric=(1,), css="importance-table"))
        parts.append(draw(importance_figure(explanation), "explain-importance"))
        by_group = explanation.attributions.importance_by_group
        groupings = [g for g in jobs.grouping_names(explanation) if " × " not in g]
        for grouping in groupings:
            part = by_group[by_group["grouping"] == grouping]
            wide = part.pivot(index="feature", columns="group", values="mean_abs_shap").reindex(imp.index)
            parts.append(f"<h4>Importance by {e(grouping)}</h4>"
                         + bullets([jobs.group_importance_sentence(explanation, grouping)])
                         + table(["Feature", *map(e, wide.columns)],
                                 [[e(f), *(_num(v, ".3f") for v in row)] for f, row in wide.iterrows()],
                                 numeric=tuple(range(1, len(wide.columns) + 1))))
        gaps = list(explanation.gaps)[:max_gaps]
        if gaps:
            parts.append("<h3>What drives the gaps between groups</h3>")
            parts.append(bullets([jobs.gap_sentence(g, explanation.proxies) for g in gaps]))
            rows = []
            for gap in gaps:
                for feature, r in gap.contributions.head(4).iterrows():
                    rows.append([e(" × ".join(gap.grouping)), e(f"{gap.group} vs {gap.reference}"),
                                 _ci(gap.total, gap.total_low, gap.total_high, "+.3f"), e(feature),
                                 _ci(r["value"], r["low"], r["high"], "+.3f")])
            parts.append(table(["Grouping", "Groups", "Gap in mean output [95%]", "Feature", "Its step [95%]"],
                               rows, numeric=(2, 4), css="gap-table"))
            parts.append(draw(gap_waterfall_figure(gaps[0]), "explain-gap-0"))
        parts.append("<h3>Proxies: features that stand in for a sensitive attribute</h3>"
                     + bullets([proxy_sentence(explanation.proxies)]))
        parts.append(table(["Feature", "Predicts", "Group it singles out", "AUC", "NMI", "Flagged", "In plain words"],
                           [[e(r["feature"]), e(r["sensitive"]), e(r["group"]), _num(r["auc"]),
                             "" if r["nmi"] is None else _num(r["nmi"], ".3f"),
                             "<strong>flagged</strong>" if r["flagged"] else "no", e(r["explanation"])]
                            for r in proxy_rows(explanation.proxies)], numeric=(3, 4), css="proxy-table"))
        return "".join(parts)

    return ReportSection("explanations", "Explanations", True, body)


# -- Mitigations ----------------------------------------------------------------------------------------

def mitigation_section(comparison) -> ReportSection:
    """The groups and their test rows, every candidate with intervals, the recommended one and its legal note."""
    from auditapp.figures.mitigation import tradeoff_figure
    from auditapp.mitigation import describe
    from auditapp.mitigation.costs import recommended_candidate

    def body(draw) -> str:
        split = comparison.split
        parts = [f'<p>Constraint: <strong>{e(describe.metric_name(comparison))}</strong> between the groups of '
                 f'<strong>{e(" × ".join(comparison.grouping))}</strong>. Every candidate was trained on the same '
                 f'{split.train_rows:,} training rows and scored on the same {split.test_rows:,} held-out test rows '
                 f'(seed {split.seed}).</p>']
        legal = (describe.LEGAL_NOTE, describe.TRAINING_ONLY_NOTE)  # said once, in the recommendation's box
        parts.append("<h3>Findings</h3>" + bullets([line for line in describe.tradeoff_summary(comparison)
                                                     if line not in legal]))
        best = recommended_candidate(comparison)
        if best is not None:
            result = comparison.candidate(best)
            note = describe.LEGAL_NOTE if result.needs_sensitive_at_predict else describe.TRAINING_ONLY_NOTE
            parts.append(f'<div class="recommended"><strong>Recommended candidate: {e(result.title)}</strong>'
                         + bullets(describe.candidate_summary(comparison, best)[:3])
                         + f'<p class="note"><strong>Legal note.</strong> {e(note)}</p></div>')
        parts.append("<h3>The groups and their test rows</h3>")
        parts.append(table(["Group", "Training rows", "Test rows", "Test rows with the favourable outcome",
                            "Small group"],
                           [[e(r["group"]), f"{r['train_rows']:,}", f"{r['test_rows']:,}",
                             f"{r['test_favourable']:,}",
                             f'<span class="small-flag">{e(r["small"])}</span>' if r["small"] else ""]
                            for r in describe.group_rows(comparison)], numeric=(1, 2, 3), css="mitigation-groups"))
        parts.append("<h3>Every candidate</h3>")
        rows = [[e(r["candidate"]) + (" <strong>(recommended)</strong>" if r["recommended"] else ""),
                 e(r["family"]), e(r["accuracy_text"]), e(r["accuracy_change_text"]), e(r["disparity_text"]),
                 e(r["disparity_vs_baseline"]), e(r["widest"]), e(r["needs_sensitive"]), e(r["pareto"] or "no")]
                for r in describe.comparison_rows(comparison)]
        parts.append(table(["Candidate", "Family", "Accuracy [95% CI]", "Accuracy vs refitted baseline [95% CI]",
                            f"{e(describe.metric_name(comparison).capitalize())} [95% CI]",
                            "Disparity vs refitted baseline", "Widest gap between", "Needs sensitive attribute",
                            "Pareto front"], rows, css="mitigation-table"))
        parts.append(draw(tradeoff_figure(comparison), "mitigation-tradeoff"))
        return "".join(parts)

    return ReportSection("mitigations", "Mitigations", True, body)


# -- Feedback loops -------------------------------------------------------------------------------------

def _summary_rows(result) -> tuple[list[str], list[list[str]]]:
    """Headline numbers of one simulation as a small table (header, rows)."""
    summary = result.summary
    if result.scenario == "policing":
        return (["Region", "True share of incidents", "Final share of patrols (mean of runs)"],
                [[e(region), f"{true:.1%}", f"{final:.1%}"] for region, true, final in
                 zip(summary["regions"], summary["true_share"], summary["final_mean_share"], strict=True)])
    if result.scenario == "lending":
        return (["Group", "Selection rate (round 1)", "Mean score change (round 1)", "Final mean score"],
                [[e(g["group"]), f"{g['selection_rate']:.1%}", f"{g['mean_score_change']:+.1f}",
                  f"{g['final_mean_score']:.0f}"] for g in summary["groups"]])
    return (["World", "Mean selection-rate gap", "Mean true-positive-rate gap", "Labels seen per group"],
            [[label, _num(summary[f"{world}_mean_selection_gap"], ".1%"), _num(summary[f"{world}_mean_tpr_gap"], ".1%"),
              e(", ".join(f"{g} {n:,}" for g, n in summary[f"{world}_labels_seen"].items()))
              if f"{world}_labels_seen" in summary else "every label"]
             for world, label in (("loop", "Model in the loop (learns only from the selected)"),
                                  ("counterfactual", "Full information (sees every label)"))])


def feedback_section(scenario: str, titles: Sequence[str], results: Sequence, note: str | None) -> ReportSection:
    """Each side's summary in words, its headline numbers and its main chart."""
    from auditapp.figures.feedback import feedback_figure
    from auditapp.service.feedback_pages import comparison
    from auditapp.service.feedback_presets import SCENARIO_LABELS

    def body(draw) -> str:
        parts = [f"<p>Scenario: <strong>{e(SCENARIO_LABELS.get(scenario, scenario))}</strong>"
                 f" (seed {e(results[0].seed)}).</p>"]
        parts.append("<h3>Findings</h3>" + bullets([*([note] if note else []), *comparison(scenario, results)]))
        for i, (title, result) in enumerate(zip(titles, results, strict=False)):
            header, rows = _summary_rows(result)
            parts.append(f"<h3>{e(title)}</h3>" + bullets(result.narrative) + table(header, rows)
                         + draw(feedback_figure(result, max_points=REPORT_POINTS), f"feedback-{i}"))
        return "".join(parts)

    return ReportSection("feedback", "Feedback loops", True, body)
