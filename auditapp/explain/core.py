"""The whole Explanations computation in one call: sample, SHAP, importance, gaps, proxies, one row."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.explain.attribution import (
    Attributions,
    GapAttribution,
    Grouping,
    LocalExplanation,
    attribute,
    local_explanation,
)
from auditapp.explain.explainers import build_explainer
from auditapp.explain.proxies import ProxyReport, detect_proxies
from auditapp.explain.sampling import StratifiedSample, stratified_sample
from auditapp.explain.shap_values import ModelExplainer, ShapValues

logger = logging.getLogger(__name__)
Progress = Callable[[float, str], None]


@dataclass(frozen=True, eq=False)
class Explanation:
    """Everything the Explanations page shows, computed for one (dataset, model, spec).

    ``shap`` holds the sampled rows' attributions (``sensitive`` their sensitive features, same
    order); ``attributions`` the importance overall and by group and the gap attributions;
    ``proxies`` the proxy scores; ``local`` one row's explanation; ``explainer`` can explain any
    other row (``local_explanation(explanation.explainer, frame, row)``).
    """

    shap: ShapValues
    sensitive: pd.DataFrame
    sample: StratifiedSample
    attributions: Attributions
    proxies: ProxyReport
    local: LocalExplanation | None
    explainer: ModelExplainer
    notices: tuple[str, ...]

    @property
    def importance(self) -> pd.DataFrame:
        return self.attributions.importance

    @property
    def gaps(self) -> tuple[GapAttribution, ...]:
        return self.attributions.gaps

    def gap(self, group: str, *, grouping: tuple[str, ...] | None = None) -> GapAttribution:
        """The gap attribution of ``group`` (against its reference)."""
        for gap in self.attributions.gaps:
            if gap.group == group and (grouping is None or tuple(gap.grouping) == tuple(grouping)):
                return gap
        raise KeyError(f"No gap for group {group!r}; have {[g.group for g in self.gaps]}")


def explain_model(frame: pd.DataFrame, spec: Any, model: Any, *, rows_per_group: int = 1000,
                  seed: int | None = None, n_boot: int = 200, proxy_threshold: float = 0.7,
                  row: Any = None, agnostic_rows_per_group: int = 100,
                  progress: Progress | None = None) -> Explanation:
    """Explain ``model`` on ``frame``: importance, by group, gaps, proxies and one row.

    Parameters
    ----------
    frame : DataFrame
        The dataset, with the model's input columns and the spec's target and sensitive columns.
    spec : auditapp.core.spec.AuditSpec
        Target, favourable value, sensitive features (with bins) and reference groups.
    model : auditapp.inputs.models.AuditModel
        The model to explain.
    rows_per_group : int, default 1000
        At most this many rows of each intersectional group are explained (seeded, stratified).
    seed : int, optional
        Seed for the sample, background, bootstrap and proxy models; defaults to ``spec.seed``.
    n_boot : int, default 200
        Bootstrap replicates for the sampling intervals (0 for none).
    proxy_threshold : float, default 0.7
        AUC at which a feature is flagged as a proxy.
    row : object, optional
        Index label of the row to explain locally; defaults to the first sampled row.
    agnostic_rows_per_group : int, default 100
        The cap per group when the model can only be explained as a black box (ONNX, models
        other than trees and logistic regression), which costs thousands of model calls per row.
    progress : callable, optional
        Called as ``progress(fraction, message)`` with fraction from 0 to 1, for progress bars.

    Returns
    -------
    Explanation

    Raises
    ------
    AuditInputError
        If there is no model, a column is missing, the favourable class does not match the
        model's classes, ``rows_per_group`` is below 10 or ``row`` is not in ``frame``.
    """
    from threadpoolctl import threadpool_limits

    from auditapp.core.metrics import compute_audit
    from auditapp.core.spec import prepare
    from auditapp.inputs.models import match_favorable_class

    report = progress or (lambda fraction, message: None)
    if model is None:
        raise AuditInputError(
            "Explanations need the model itself: upload the model file (.skops or .onnx). "
            "Predictions given as a column are enough for the audit, not for explanations."
        )
    seed = spec.seed if seed is None else int(seed)
    report(0.0, "Checking the data against the model")
    checked = spec
    if spec.threshold is None and not any(r.startswith("best:") for r in spec.reference.values()):
        # Reference groups then do not depend on predictions: one pass of the model (scores at
        # 0.5) is enough to check the data, instead of predict_proba and predict on every row.
        checked = replace(spec, threshold=0.5)
    data = prepare(frame, checked, model)
    positive = match_favorable_class(model, spec.favorable, model_favorable=spec.model_favorable)
    audit = compute_audit(data.y_true, data.y_pred, data.sensitive_features, reference=spec.reference,
                          min_group_size=spec.min_group_size, n_boot=0, seed=seed)
    groupings = [Grouping(g.features, g.reference) for g in audit.groupings]
    with threadpool_limits(limits=1):
        report(0.05, "Preparing the explainer")
        explainer = build_explainer(model, frame, positive, seed=seed)
        if explainer.method == "permutation":
            rows_per_group = min(rows_per_group, max(10, int(agnostic_rows_per_group)))
        sample = stratified_sample(data.sensitive_features, rows_per_group=rows_per_group, seed=seed)
        report(0.1, f"Computing SHAP values for {sample.n_rows:,} sampled rows")
        values = _explain_in_chunks(explainer, frame.iloc[sample.positions], report, 0.1, 0.7)
        report(0.7, "Importance by group and gap attribution")
        attributions = attribute(values, sample, groupings, n_boot=n_boot,
                                 confidence=spec.confidence, seed=seed)
        report(0.75, "Looking for proxy features")
        proxies = detect_proxies(frame, data.sensitive_features, features=list(model.feature_names),
                                 threshold=proxy_threshold, seed=seed)
        report(0.95, "Explaining one row")
        chosen = frame.index[sample.positions[0]] if row is None else row
        local = local_explanation(explainer, frame, chosen)
    notices = [*data.notices, *audit.notices, *proxies.notices]
    if explainer.method == "permutation":
        notices.append(
            f"The model is explained as a black box (permutation Shapley values of its probability, "
            f"{explainer.n_permutations} orderings per row against {len(explainer.background)} "
            f"background rows, at most {sample.rows_per_group} rows per group), which is slower "
            "and approximate; base + attributions still equals the output exactly.")
    report(1.0, "Done")
    return Explanation(shap=values, sensitive=data.sensitive_features.iloc[sample.positions],
                       sample=sample, attributions=attributions, proxies=proxies, local=local,
                       explainer=explainer, notices=tuple(notices))


def _explain_in_chunks(explainer: ModelExplainer, rows: pd.DataFrame, report: Progress,
                       start: float, stop: float) -> ShapValues:
    """Explain rows a chunk at a time so that progress moves; join the chunks."""
    chunk = 500 if explainer.method == "permutation" else 2000
    parts = []
    for begin in range(0, len(rows), chunk):
        parts.append(explainer.explain(rows.iloc[begin:begin + chunk]))
        done = min(len(rows), begin + chunk) / max(len(rows), 1)
        report(start + (stop - start) * done, f"SHAP values: {min(len(rows), begin + chunk):,} of "
                                              f"{len(rows):,} rows")
    first = parts[0]
    return ShapValues(
        features=first.features, values=np.concatenate([p.values for p in parts]),
        base_value=first.base_value, output=np.concatenate([p.output for p in parts]),
        output_space=first.output_space, positive_class=first.positive_class, method=first.method,
        data=pd.concat([p.data for p in parts]),
    )
