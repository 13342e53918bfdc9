"""The Feedback loops page's scenarios as data: for each, how its runs are planned, drawn, compared and stepped.

The page's callbacks look a scenario up in :data:`SCENARIO_PAGES` and never branch on its name; adding a
scenario is one :class:`ScenarioPage` here (and its controls in ``feedback_presets``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditapp.core.errors import AuditInputError
from auditapp.feedback.base import SimulationResult
from auditapp.feedback.lending import POLICY_LABELS
from auditapp.figures.feedback import (
    lending_outcome_figure,
    lending_trajectory_figure,
    model_loop_gap_figure,
    model_loop_rates_figure,
    policing_share_figure,
)
from auditapp.service.feedback_presets import (
    SIDE_TITLES,
    lending_params,
    policing_params,
    rate_text,
)

Results = Sequence[SimulationResult]


@dataclass(frozen=True)
class ScenarioPage:
    """What the page does for one scenario.

    ``plan`` turns the checked control values into the parameter sets run side by side; it is None for a
    scenario that runs on the workspace's own audit (the model loop), which the page plans from the audit.
    ``figures`` gives (main chart, extra chart or None) per side; ``time_pad`` is the margin kept around
    the stepped time window, and ``extra_steps`` says whether the extra chart steps in time too.
    """

    titles: Callable[[Mapping[str, Any]], tuple[str, str]]
    plan: Callable[[Mapping[str, Any]], tuple[Any, ...]] | None
    figures: Callable[[Results], list[tuple[Any, Any]]]
    comparison: Callable[[Results], tuple[str, ...]]
    time_range: Callable[[Mapping[str, Any]], tuple[int, int]]
    readout: Callable[[Results, int, int], str]
    time_pad: float
    extra_steps: bool

    @property
    def uses_audit(self) -> bool:
        """Whether the runs come from the workspace's audit (its data and model) rather than the controls."""
        return self.plan is None


def _policing_comparison(results: Results) -> tuple[str, ...]:
    left, right = results
    regions = left.summary["regions"]
    top = regions.index(left.summary["top_region"])
    return (
        f"After {left.params['steps']:,} days region {regions[top]}, which has "
        f"{left.summary['true_share'][top]:.1%} of all incidents, gets "
        f"{left.summary['final_mean_share'][top]:.1%} of patrols without the correction and "
        f"{right.summary['final_mean_share'][top]:.1%} with it (mean over {left.params['runs']} runs).",
        f"Largest distance from the true shares: {left.summary['max_error']:.1%} without the "
        f"correction, {right.summary['max_error']:.1%} with it.",
    )


def _lending_comparison(results: Results) -> tuple[str, ...]:
    left, right = results
    names = (POLICY_LABELS[left.summary["policy"]], POLICY_LABELS[right.summary["policy"]])
    return tuple(
        f"Group {one['group']}: {names[0]} lends to {one['selection_rate']:.1%} and moves the "
        f"mean score by {one['mean_score_change']:+.1f} points in the first round; "
        f"{names[1]} lends to {two['selection_rate']:.1%} and moves it by "
        f"{two['mean_score_change']:+.1f}. After {left.params['steps']} rounds: "
        f"{one['final_mean_score']:.0f} vs {two['final_mean_score']:.0f}."
        for one, two in zip(left.summary["groups"], right.summary["groups"], strict=True))


def _loop_comparison(results: Results) -> tuple[str, ...]:
    (result,) = results
    summary = result.summary
    return (
        f"Largest selection-rate gap between groups, averaged over {result.params['rounds']} rounds: "
        f"{summary['loop_mean_selection_gap']:.1%} in the loop vs "
        f"{summary['counterfactual_mean_selection_gap']:.1%} with every label seen.",
        f"Largest true-positive-rate gap: {summary['loop_mean_tpr_gap']:.1%} in the loop vs "
        f"{summary['counterfactual_mean_tpr_gap']:.1%} with every label seen.",
    )


def _policing_readout(results: Results, step: int, last: int) -> str:
    parts = [", ".join(f"{region} {share:.1%}" for region, share in
                       r.series_wide("mean_share").loc[step].items()) for r in results]
    return f"Day {step:,} of {last:,}: share of patrols without the correction {parts[0]}; with it {parts[1]}."


def _lending_readout(results: Results, step: int, last: int) -> str:
    parts = [", ".join(f"{group} {score:.0f}" for group, score in
                       r.series_wide("mean_score").loc[step].items()) for r in results]
    names = [POLICY_LABELS[r.summary["policy"]] for r in results]
    return f"Round {step} of {last}: mean score under {names[0]}: {parts[0]}; under {names[1]}: {parts[1]}."


def _loop_readout(results: Results, step: int, last: int) -> str:
    (result,) = results
    rates = {world: ", ".join(rate_text(group, value) for group, value in
                              result.series_wide(f"{world}_selection_rate").loc[step].items())
             for world in ("loop", "counterfactual")}
    return (f"Round {step} of {last}: selection rate in the loop {rates['loop']}; with every label "
            f"seen {rates['counterfactual']}.")


def _loop_figures(results: Results) -> list[tuple[Any, Any]]:
    (result,) = results
    return [(model_loop_rates_figure(result), model_loop_gap_figure(result)),
            (model_loop_rates_figure(result, metric="true_positive_rate"), None)]


SCENARIO_PAGES: dict[str, ScenarioPage] = {
    "policing": ScenarioPage(
        titles=lambda _values: SIDE_TITLES["policing"], plan=policing_params,
        figures=lambda results: [(policing_share_figure(r), None) for r in results],
        comparison=_policing_comparison, time_range=lambda params: (1, int(params["steps"])),
        readout=_policing_readout, time_pad=0.0, extra_steps=False),
    "lending": ScenarioPage(
        titles=lambda values: (f"Policy 1: {POLICY_LABELS[values['policy_left']]}",
                               f"Policy 2: {POLICY_LABELS[values['policy_right']]}"),
        plan=lending_params,
        figures=lambda results: [(lending_trajectory_figure(r), lending_outcome_figure(r)) for r in results],
        comparison=_lending_comparison, time_range=lambda params: (0, int(params["steps"])),
        readout=_lending_readout, time_pad=0.5, extra_steps=False),
    "model-loop": ScenarioPage(
        titles=lambda _values: SIDE_TITLES["model-loop"], plan=None, figures=_loop_figures,
        comparison=_loop_comparison, time_range=lambda params: (1, int(params["rounds"])),
        readout=_loop_readout, time_pad=0.5, extra_steps=True),
}


def scenario_page(scenario: Any) -> ScenarioPage:
    """The page entry of ``scenario``; :class:`AuditInputError` for a name the page does not offer."""
    page = SCENARIO_PAGES.get(scenario) if isinstance(scenario, str) else None
    if page is None:
        raise AuditInputError(f"Unknown scenario {scenario!r}: choose one of {', '.join(SCENARIO_PAGES)}.")
    return page


def side_titles(scenario: str, values: Mapping[str, Any]) -> tuple[str, str]:
    """Headings of the two result columns."""
    return scenario_page(scenario).titles(values)


def comparison(scenario: str, results: Results) -> tuple[str, ...]:
    """Sentences that compare the two sides, computed from the results."""
    return scenario_page(scenario).comparison(results)


def time_range(scenario: str, params: Mapping[str, Any]) -> tuple[int, int]:
    """First and last time step (day or round) of a result's charts."""
    return scenario_page(scenario).time_range(params)


def step_readout(scenario: str, results: Results, step: int) -> str:
    """What the charts show at ``step``: each side's value per group, computed from the series."""
    first, last = time_range(scenario, results[0].params)
    return scenario_page(scenario).readout(results, int(min(last, max(first, step))), last)
