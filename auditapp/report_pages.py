"""The other pages' finished results, as report sections (looked up in the cache, never computed).

The browser keeps, per page, the small choices that name its last finished result (rows and seed for
the explanations, constraint and candidates for the mitigations, cache keys for the simulations);
``page_figures`` turns them into the same figures the pages show.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from auditapp.errors import AuditInputError
from auditapp.store import ArtifactStore

SECTIONS = ("Explanations", "Mitigations", "Feedback loops")


def page_figures(store: ArtifactStore, token: str, state: Mapping[str, Any],
                 results: Mapping[str, Any] | None) -> dict[str, list[go.Figure]]:
    """Report sections for every page whose result for this state is in the cache."""
    results = results or {}
    out: dict[str, list[go.Figure]] = {}
    explain = results.get("explain") or {}
    if "rows_per_group" in explain and "seed" in explain:
        from auditapp.explain.jobs import cached_explanation
        from auditapp.figures.explain import gap_waterfall_figure, importance_figure

        try:
            explanation = cached_explanation(store, token, dict(state), rows_per_group=explain["rows_per_group"],
                                             seed=explain["seed"])
        except AuditInputError:
            explanation = None
        if explanation is not None:
            figures = [importance_figure(explanation)]
            figures += [gap_waterfall_figure(gap) for gap in explanation.gaps[:2]]
            out["Explanations"] = figures
    mitigation = results.get("mitigation") or {}
    if mitigation.get("constraint") and mitigation.get("candidates"):
        from auditapp.figures.mitigation import tradeoff_figure
        from auditapp.mitigation.jobs import cached_comparison

        comparison = cached_comparison(store, token, dict(state), constraint=mitigation["constraint"],
                                       candidates=mitigation["candidates"])
        if comparison is not None:
            out["Mitigations"] = [tradeoff_figure(comparison)]
    keys = (results.get("feedback") or {}).get("keys") or []
    simulations = [store.find(token, tuple(k)) for k in keys if isinstance(k, list) and k and k[0] == "feedback"]
    simulations = [s for s in simulations if s is not None and hasattr(s, "scenario")]
    if simulations:
        from auditapp.figures.feedback import feedback_figure

        out["Feedback loops"] = [feedback_figure(s) for s in simulations]
    return out
