"""What the SHAP values say: importance overall and by group, the gap between groups, one row.

All means are population means estimated from the stratified sample (each cell weighted by its
full size), with bootstrap intervals from resampling rows within cells. The gap attribution is exact
by additivity: for groups a and b, mean output over a − mean output over b equals the sum over
features of (mean SHAP over a − mean SHAP over b), because every row's output is the base value plus
its attributions and the group weights sum to one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.explain.sampling import StratifiedSample, cell_means, group_weights, interval
from auditapp.explain.shap_values import ShapValues

GROUP_SEPARATOR = " & "


@dataclass(frozen=True)
class Grouping:
    """A sensitive feature (or an intersection) and its reference group, as the audit chose it."""

    features: tuple[str, ...]
    reference: str

    @property
    def name(self) -> str:
        return " × ".join(self.features)


@dataclass(frozen=True, eq=False)
class GapAttribution:
    """Why the model's mean output differs between ``group`` and ``reference`` of one grouping.

    ``total = mean_group − mean_reference`` (in ``output_space``) and equals the sum of
    ``contributions["value"]``; a positive contribution widens the group's advantage over the
    reference (or narrows its disadvantage). ``contributions`` is indexed by feature, sorted by
    absolute value, with columns ``value``, ``low``, ``high``.
    """

    grouping: tuple[str, ...]
    group: str
    reference: str
    attributes: dict[str, str]
    reference_attributes: dict[str, str]
    mean_group: float
    mean_reference: float
    total: float
    total_low: float
    total_high: float
    contributions: pd.DataFrame
    output_space: str


@dataclass(frozen=True, eq=False)
class Attributions:
    """Importance overall and by group, group summaries and gap attributions (see module doc).

    ``importance``: indexed by feature (most important first): ``mean_abs_shap``, ``low``, ``high``.
    ``groups``: one row per (grouping, group): its attribute columns, ``n_sample``, ``n_rows``,
    ``mean_output`` with ``low``/``high``. ``importance_by_group``: long table with ``grouping``,
    ``group``, ``feature``, ``mean_abs_shap``, ``low``, ``high``.
    """

    importance: pd.DataFrame
    importance_by_group: pd.DataFrame
    groups: pd.DataFrame
    gaps: tuple[GapAttribution, ...]
    mean_output: float
    n_boot: int
    confidence: float


def attribute(shap_values: ShapValues, sample: StratifiedSample, groupings: Sequence[Grouping], *,
              n_boot: int = 200, confidence: float = 0.95, seed: int = 0) -> Attributions:
    """Importance overall and per group, and the gap of every group against its reference.

    Parameters
    ----------
    shap_values : ShapValues
        Attributions of the sampled rows, in the order of ``sample.positions``.
    sample : StratifiedSample
        The stratified sample the rows come from.
    groupings : sequence of Grouping
        Sensitive features (and intersections) with their reference group labels.
    n_boot : int, default 200
        Bootstrap replicates for the intervals (0 for none).
    confidence : float, default 0.95
    seed : int, default 0

    Returns
    -------
    Attributions
    """
    features = list(shap_values.features)
    p = len(features)
    values = np.column_stack([np.abs(shap_values.values), shap_values.values, shap_values.output])
    means, reps = cell_means(sample, values, n_boot=n_boot, seed=seed)
    every = group_weights(sample, np.ones(sample.cell_sizes.size, dtype=bool))
    point, low, high = _weighted(every, means, reps, confidence)
    importance = pd.DataFrame({"mean_abs_shap": point[:p], "low": low[:p], "high": high[:p]},
                              index=pd.Index(features, name="feature"))
    importance = importance.sort_values("mean_abs_shap", ascending=False, kind="stable")
    group_rows, by_group, gaps = [], [], []
    counts = sample.cell_counts
    for grouping in groupings:
        members = _members(sample, grouping.features)
        stats = {}
        for label, mask in members.items():
            weights = group_weights(sample, mask)
            stats[label] = (weights, *_weighted(weights, means, reps, confidence), mask)
        for label, (_, g_point, g_low, g_high, mask) in stats.items():
            group_rows.append({
                "grouping": grouping.name, "group": label,
                **_attributes_of(sample, grouping.features, mask),
                "n_sample": int(counts[mask].sum()), "n_rows": int(sample.cell_sizes[mask].sum()),
                "mean_output": g_point[-1], "mean_output_low": g_low[-1],
                "mean_output_high": g_high[-1],
            })
            by_group.append(pd.DataFrame({
                "grouping": grouping.name, "group": label, "feature": features,
                "mean_abs_shap": g_point[:p], "low": g_low[:p], "high": g_high[:p],
            }))
        if grouping.reference not in stats:
            continue
        for label in stats:
            if label != grouping.reference:
                gaps.append(_gap(sample, grouping, label, stats, means, reps, features,
                                 confidence, shap_values.output_label))
    return Attributions(
        importance=importance,
        importance_by_group=pd.concat(by_group, ignore_index=True) if by_group else pd.DataFrame(
            columns=["grouping", "group", "feature", "mean_abs_shap", "low", "high"]),
        groups=pd.DataFrame(group_rows), gaps=tuple(gaps), mean_output=float(point[-1]),
        n_boot=int(n_boot), confidence=float(confidence),
    )


def _weighted(weights: np.ndarray, means: np.ndarray, reps: np.ndarray,
              confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    point = weights @ means
    low, high = interval(np.einsum("c,bck->bk", weights, reps), confidence)
    return point, low, high


def _members(sample: StratifiedSample, features: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Group label → boolean mask over cells, for groups with at least one sampled row."""
    labels = sample.cell_labels[list(features)].astype(str).agg(GROUP_SEPARATOR.join, axis=1)
    sampled = sample.cell_counts > 0
    out = {}
    for label in sorted(set(labels[sampled])):
        out[label] = (labels == label).to_numpy() & sampled
    return out


def _attributes_of(sample: StratifiedSample, features: tuple[str, ...], mask: np.ndarray) -> dict[str, str]:
    """The ``{feature: value}`` of a group, read from its first cell (labels may contain " & ")."""
    first = sample.cell_labels.loc[np.flatnonzero(mask)[0], list(features)]
    return {f: str(first[f]) for f in features}


def _gap(sample: StratifiedSample, grouping: Any, label: str, stats: Any, means: np.ndarray, reps: np.ndarray,
         features: Sequence[str], confidence: float, output_space: str) -> GapAttribution:
    p = len(features)
    weights = stats[label][0] - stats[grouping.reference][0]
    point, low, high = _weighted(weights, means, reps, confidence)
    contributions = pd.DataFrame({"value": point[p:2 * p], "low": low[p:2 * p],
                                  "high": high[p:2 * p]}, index=pd.Index(features, name="feature"))
    order = np.argsort(-np.abs(contributions["value"].to_numpy()), kind="stable")
    return GapAttribution(
        grouping=grouping.features, group=label, reference=grouping.reference,
        attributes=_attributes_of(sample, grouping.features, stats[label][-1]),
        reference_attributes=_attributes_of(sample, grouping.features, stats[grouping.reference][-1]),
        mean_group=float(stats[label][1][-1]), mean_reference=float(stats[grouping.reference][1][-1]),
        total=float(point[-1]), total_low=float(low[-1]), total_high=float(high[-1]),
        contributions=contributions.iloc[order], output_space=output_space,
    )


@dataclass(frozen=True, eq=False)
class LocalExplanation:
    """One row's explanation: ``base_value + contributions["shap"].sum() == output``.

    ``contributions`` is indexed by feature (largest |shap| first) with the row's raw ``value``
    (as text) and its ``shap`` value.
    """

    row: object
    base_value: float
    output: float
    output_space: str
    contributions: pd.DataFrame


def local_explanation(explainer: Any, frame: pd.DataFrame, row: Any) -> LocalExplanation:
    """Explain one row of ``frame``, picked by its index label.

    Parameters
    ----------
    explainer : ModelExplainer
    frame : DataFrame
        The dataset.
    row : object
        An index label of ``frame`` (the row id shown in the app).

    Raises
    ------
    AuditInputError
        If ``row`` is not a row of ``frame``.
    """
    if row not in frame.index:
        first, last = frame.index[0], frame.index[-1]
        raise AuditInputError(
            f"Row {_plain(row)!r} is not in the dataset, whose rows run from {_plain(first)!r} "
            f"to {_plain(last)!r}. Pick a row id from that range."
        )
    position = frame.index.get_indexer([row])
    values = explainer.explain(frame.iloc[position[:1]])
    shap_row = values.values[0]
    table = pd.DataFrame({"value": [str(v) for v in values.data.iloc[0].tolist()], "shap": shap_row},
                         index=pd.Index(list(values.features), name="feature"))
    order = np.argsort(-np.abs(shap_row), kind="stable")
    return LocalExplanation(row=_plain(row), base_value=values.base_value,
                            output=float(values.output[0]), output_space=values.output_label,
                            contributions=table.iloc[order])


def dependence_data(shap_values: ShapValues, sensitive: pd.DataFrame, feature: str,
                    attribute: str) -> pd.DataFrame:
    """Rows for a dependence plot: the feature's raw value, its SHAP value and the row's group.

    ``sensitive`` holds the sampled rows' sensitive features (same order as ``shap_values``).

    Raises
    ------
    AuditInputError
        If ``feature`` was not explained or ``attribute`` is not a sensitive feature.
    """
    if feature not in shap_values.features:
        raise AuditInputError(
            f"'{feature}' is not one of the model's features ({', '.join(shap_values.features)}). "
            "Pick one of those for the dependence plot."
        )
    if attribute not in sensitive.columns:
        raise AuditInputError(
            f"'{attribute}' is not a sensitive feature of this explanation "
            f"({', '.join(map(str, sensitive.columns))}). Colour by one of those."
        )
    j = shap_values.features.index(feature)
    return pd.DataFrame({"row": shap_values.data.index, "value": shap_values.data[feature].to_numpy(),
                         "shap": shap_values.values[:, j],
                         "group": sensitive[attribute].astype(str).to_numpy()})


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
