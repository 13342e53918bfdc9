"""The library in a notebook: ``audit``, ``explain``, ``compare_mitigations``, ``simulate``, ``Policy``, ``check``.

Each function takes a DataFrame (or a CSV/Parquet path) and keyword options, builds the ``AuditSpec`` and
calls the same engine as the app and the command line, so the numbers are the ones ``auditapp audit
--json`` writes. A model is a fitted scikit-learn classifier or pipeline, or a model file (``.skops``,
``.onnx``; pickle only with ``trust_pickle=True``), which runs in its sandbox as on the command line.

>>> import pandas as pd
>>> frame = pd.DataFrame({"group": ["a"] * 100 + ["b"] * 100, "hired": [1, 0] * 100,
...                       "predicted": [1] * 60 + [0] * 40 + [1] * 40 + [0] * 60})
>>> result = audit(frame, target="hired", sensitive="group", prediction="predicted")
>>> result
<GroupAudit 200 rows, predictions from a column; demographic parity difference by group: 0.200 [0.061, 0.331]>
>>> result.by_group("selection_rate").round(3)  # doctest: +NORMALIZE_WHITESPACE
       selection_rate    low   high  count
group
a                 0.6  0.502  0.691    100
b                 0.4  0.309  0.498    100
>>> round(result.difference("selection_rate"), 3), round(result.ratio("selection_rate"), 3)
(0.2, 0.667)
>>> check(result, "four-fifths").overall  # 0.667 < 0.8, but 100 rows a group cannot rule out 0.8
'inconclusive'
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import pandas as pd

from auditapp.core.audit import Audit, run_audit
from auditapp.core.errors import AuditInputError
from auditapp.core.metrics import GroupingResult
from auditapp.core.outcome import PolicyOutcome, assess
from auditapp.core.spec import AuditSpec, Binning
from auditapp.core.validation import check_model
from auditapp.policy.criteria import Policy, load_policy
from auditapp.reporting.outputs import model_info, write_text_atomic

if TYPE_CHECKING:
    from auditapp.explain.core import Explanation
    from auditapp.feedback.base import SimulationResult
    from auditapp.mitigation.compare import Comparison

__all__ = ["GroupAudit", "Policy", "audit", "check", "compare_mitigations", "explain", "simulate"]

Data: TypeAlias = "pd.DataFrame | str | os.PathLike[str]"
IN_MEMORY = "DataFrame (in memory)"
SOURCES = {"prediction": "a column", "score": "scores", "model": "a model"}


class GroupAudit:
    """An audit's numbers, per group and per grouping, as ``MetricFrame`` shows fairlearn's.

    Made by :func:`audit`. ``groupings`` lists each grouping's features (each sensitive feature alone,
    then their intersections); a method's ``grouping`` picks one (a feature name or a tuple of names),
    by default the first sensitive feature. ``audit`` is the engine's full :class:`~auditapp.core.audit.Audit`.
    """

    def __init__(self, audit: Audit, *, dataset_info: Mapping[str, Any], model_info: Mapping[str, Any] | None,
                 policy: Policy | None = None) -> None:
        self.audit = audit
        self.dataset_info = dict(dataset_info)
        self.model_info = None if model_info is None else dict(model_info)
        self.policy = policy
        self._outcome: PolicyOutcome | None = None

    @property
    def groupings(self) -> tuple[tuple[str, ...], ...]:
        """The features of every grouping, single features first."""
        return tuple(g.features for g in self.audit.result.groupings)

    def _grouping(self, grouping: str | Sequence[str] | None) -> GroupingResult:
        if grouping is None:
            return self.audit.result.groupings[0]
        features = (grouping,) if isinstance(grouping, str) else tuple(grouping)
        try:
            return self.audit.result.grouping(*features)
        except KeyError:
            raise AuditInputError(
                f"There is no grouping {list(features)}; this audit has "
                f"{', '.join(' & '.join(g) for g in self.groupings)}.") from None

    def _metric(self, metric: str) -> str:
        columns = self.audit.result.groupings[0].summary.index
        if metric not in columns:
            raise AuditInputError(f"There is no metric {metric!r}; choose one of {', '.join(columns)}.")
        return metric

    def by_group(self, metric: str, grouping: str | Sequence[str] | None = None) -> pd.DataFrame:
        """``metric`` per group with its confidence interval (``low``, ``high``) and the group's ``count``."""
        table = self._grouping(grouping).groups
        metric = self._metric(metric)
        out = table[[metric, f"{metric}_low", f"{metric}_high", "count"]].copy()
        out.columns = [metric, "low", "high", "count"]
        out.index.name = " & ".join(self._grouping(grouping).features)
        return out

    def difference(self, metric: str, grouping: str | Sequence[str] | None = None) -> float:
        """The largest minus the smallest group value of ``metric`` (fairlearn's ``between_groups``)."""
        return float(self._grouping(grouping).summary.loc[self._metric(metric), "max_min_difference"])

    def ratio(self, metric: str, grouping: str | Sequence[str] | None = None) -> float:
        """The smallest divided by the largest group value of ``metric`` (fairlearn's ``between_groups``)."""
        return float(self._grouping(grouping).summary.loc[self._metric(metric), "min_max_ratio"])

    @property
    def criteria(self) -> pd.DataFrame:
        """The named fairness criteria (demographic parity difference ...) of every grouping, with intervals."""
        parts = {" & ".join(g.features): g.criteria for g in self.audit.result.groupings}
        return pd.concat(parts, names=["grouping", "criterion"])

    @property
    def outcome(self) -> PolicyOutcome:
        """The record (and, with a policy, the verdicts and findings) as ``auditapp audit`` builds them."""
        if self._outcome is None:
            self._outcome = assess(self.audit, self.policy, dataset_info=self.dataset_info,
                                   model_info=self.model_info)
        return self._outcome

    def to_dict(self) -> dict[str, Any]:
        """The audit record: the JSON ``auditapp audit --json`` writes, as plain Python values."""
        return self.outcome.record

    def to_json(self) -> str:
        """The audit record as JSON text (strict JSON: no NaN)."""
        return json.dumps(self.outcome.record, indent=2, allow_nan=False)

    def report(self, path: str | os.PathLike[str]) -> Path:
        """Write the self-contained HTML report to ``path`` (atomically) and return the path."""
        from auditapp.reporting.report import build_report

        outcome = self.outcome
        write_text_atomic(path, build_report(self.audit, record=outcome.record, evaluation=outcome.evaluation,
                                             findings=outcome.findings))
        return Path(path)

    def _headline(self) -> list[tuple[str, str]]:
        rows = []
        for grouping in self.audit.result.groupings:
            row = grouping.criteria.loc["demographic_parity_difference"]
            rows.append((grouping.name, f"{row['value']:.3f} [{row['low']:.3f}, {row['high']:.3f}]"))
        return rows

    def __repr__(self) -> str:
        result = self.audit.result
        first = self._headline()[0]
        more = len(result.groupings) - 1
        return (f"<GroupAudit {result.n_rows:,} rows, predictions from {SOURCES.get(self.audit.data.source, self.audit.data.source)}; "
                f"demographic parity difference by {first[0]}: {first[1]}"
                f"{f' (+{more} more groupings)' if more else ''}>")

    def _repr_html_(self) -> str:
        result = self.audit.result
        rows = "".join(f"<tr><td>{escape(name)}</td><td>{escape(text)}</td></tr>" for name, text in self._headline())
        notices = "".join(f"<li>{escape(n)}</li>" for n in self.audit.notices)
        return (f"<div><strong>Audit of {result.n_rows:,} rows</strong> (predictions from {escape(SOURCES.get(self.audit.data.source, self.audit.data.source))}; "
                f"{result.confidence:.0%} intervals)<table><thead><tr><th>grouping</th>"
                f"<th>demographic parity difference</th></tr></thead><tbody>{rows}</tbody></table>"
                f"{f'<ul>{notices}</ul>' if notices else ''}</div>")


def _table(data: Data, missing_values: Sequence[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The frame and its record facts: a DataFrame as given, or a file read as the CLI reads it."""
    if isinstance(data, pd.DataFrame):
        info = {"name": IN_MEMORY, "sha256": None, "rows": int(len(data)), "columns": [str(c) for c in data.columns]}
        return data, info
    if isinstance(data, (str, os.PathLike)):
        from auditapp.inputs.intake import read_table
        from auditapp.reporting.outputs import dataset_info

        dataset = read_table(data, missing_values=tuple(missing_values))
        return dataset.frame, dataset_info(dataset)
    raise AuditInputError(f"data must be a pandas DataFrame or the path of a CSV/Parquet file, not a "
                          f"{type(data).__name__}.")


def _model(model: Any, trust_pickle: bool) -> Any:
    if isinstance(model, (str, os.PathLike, bytes)):
        from auditapp.inputs.models import load_model

        return load_model(model, trust_pickle=bool(trust_pickle))
    return check_model(model)


def _spec(target: str, sensitive: str | Sequence[str], *, prediction: str | None, score: str | None,
          options: Mapping[str, Any]) -> AuditSpec:
    bins = {name: b if isinstance(b, Binning) else Binning.parse(str(b))
            for name, b in (options.get("bins") or {}).items()}
    return AuditSpec(target=target, sensitive=(sensitive,) if isinstance(sensitive, str) else tuple(sensitive),
                     favorable=options.get("favorable", 1), prediction=prediction, score=score,
                     threshold=options.get("threshold"), model_favorable=options.get("model_favorable"),
                     bins=bins, reference=dict(options.get("reference") or {}),
                     min_group_size=options.get("min_group_size", AuditSpec.min_group_size),
                     confidence=options.get("confidence", AuditSpec.confidence), seed=options.get("seed", 0))


def audit(data: Data, *, target: str, sensitive: str | Sequence[str], model: Any = None,
          prediction: str | None = None, score: str | None = None, favorable: Any = 1,
          threshold: float | None = None, model_favorable: Any = None,
          bins: Mapping[str, str | Binning] | None = None, reference: Mapping[str, str] | None = None,
          min_group_size: int = AuditSpec.min_group_size, confidence: float = AuditSpec.confidence,
          policy: Policy | str | None = None, trust_pickle: bool = False,
          missing_values: Sequence[str] = ()) -> GroupAudit:
    """Audit predictions for group disparities: per-group rates with intervals, gaps and criteria.

    Parameters
    ----------
    data : DataFrame or path
        The rows to audit, or a CSV/Parquet file (read as ``auditapp audit --data`` reads it).
    target : str
        The column with the true outcome.
    sensitive : str or sequence of str
        Sensitive feature(s); several give their intersections too.
    model, prediction, score
        Exactly one prediction source: a fitted scikit-learn classifier or pipeline (or a model file),
        a column of predicted labels, or a column of scores (favourable when ``>= threshold``).
    favorable : object, default 1
        The target's favourable value.
    threshold, model_favorable, bins, reference, min_group_size, confidence
        As the command line's options of the same names (``bins={"age": "q4"}``).
    policy : Policy or str, optional
        A policy (or a preset name or policy file) whose verdicts the record and report carry.
    trust_pickle : bool
        Load a pickle/joblib model file (it runs code: only your own files).
    missing_values : sequence of str
        Words that mean missing in a file's text columns.

    Returns
    -------
    GroupAudit

    Raises
    ------
    AuditInputError
        For any setting that does not fit the data, with what to do.
    """
    frame, info = _table(data, missing_values)
    loaded = _model(model, trust_pickle)
    spec = _spec(target, sensitive, prediction=prediction, score=score, options=dict(
        favorable=favorable, threshold=threshold, model_favorable=model_favorable, bins=bins,
        reference=reference, min_group_size=min_group_size, confidence=confidence))
    chosen = policy if policy is None or isinstance(policy, Policy) else load_policy(policy)
    return GroupAudit(run_audit(frame, spec, loaded), dataset_info=info, model_info=model_info(loaded), policy=chosen)


def check(result: GroupAudit, policy: Policy | str) -> PolicyOutcome:
    """Check ``policy`` (a ``Policy``, a preset name such as ``"four-fifths"``, or a policy file) on an audit.

    Returns the outcome ``auditapp audit --policy`` computes: ``overall`` (pass / fail / inconclusive),
    ``evaluation`` (every verdict), ``findings``, ``exit_code`` and ``text``.
    """
    chosen = policy if isinstance(policy, Policy) else load_policy(policy)
    return assess(result.audit, chosen, dataset_info=result.dataset_info, model_info=result.model_info)


def explain(data: Data, *, model: Any, target: str, sensitive: str | Sequence[str], favorable: Any = 1,
            model_favorable: Any = None, bins: Mapping[str, str | Binning] | None = None,
            rows_per_group: int = 1000, seed: int = 0, trust_pickle: bool = False, **options: Any) -> Explanation:
    """SHAP explanations of ``model`` on ``data``: importance, by group, gap attribution, proxies.

    ``options`` go to :func:`auditapp.explain.explain_model` (``n_boot``, ``proxy_threshold``, ``row``).
    Returns an :class:`auditapp.explain.Explanation`.
    """
    from auditapp.explain.core import explain_model

    frame, _ = _table(data, ())
    spec = _spec(target, sensitive, prediction=None, score=None,
                 options={"favorable": favorable, "model_favorable": model_favorable, "bins": bins, "seed": seed})
    loaded = _model(model, trust_pickle)
    if loaded is None:
        raise AuditInputError("explain needs a model: pass a fitted classifier or a model file as model=.")
    return explain_model(frame, spec, loaded, rows_per_group=rows_per_group, seed=seed, **options)


def compare_mitigations(data: Data, *, target: str, sensitive: str | Sequence[str], model: Any = None,
                        prediction: str | None = None, score: str | None = None, favorable: Any = 1,
                        constraint: str = "demographic_parity", seed: int = 0, trust_pickle: bool = False,
                        **options: Any) -> Comparison:
    """Train and evaluate mitigation candidates (pre-, in- and post-processing) on one shared split.

    ``options`` go to :func:`auditapp.mitigation.compare.compare_mitigations` (``candidates``, ``test_size``,
    ``grid_size``, ``inner_fits``, ``n_jobs`` ...). Returns a :class:`auditapp.mitigation.compare.Comparison`.
    """
    from auditapp.mitigation.compare import compare_mitigations as compare

    frame, _ = _table(data, ())
    spec = _spec(target, sensitive, prediction=prediction, score=score,
                 options={"favorable": favorable, "seed": seed})
    return compare(frame, spec, _model(model, trust_pickle), constraint=constraint, **options)


def simulate(name: str, params: Any = None, *, seed: int | None = 0) -> SimulationResult:
    """Run a feedback-loop simulation (``"policing"``, ``"lending"``, ``"model-loop"``), seeded.

    ``params`` is the scenario's parameters dataclass or a mapping of its fields (None: the defaults).
    Returns a :class:`auditapp.feedback.base.SimulationResult`.
    """
    from auditapp.feedback.runner import run_simulation

    return run_simulation(name, params, seed=seed)
