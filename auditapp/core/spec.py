"""What to audit: the target, the prediction source, the sensitive features and the reference groups.

``AuditSpec`` holds the user's choices; ``prepare`` checks them against a table (and a model, when
there is one) and returns ``AuditData``: 0/1 labels and predictions, optional scores, and the sensitive
features as strings with missing values in an explicit ``"(missing)"`` group.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from auditapp.core.defaults import MIN_GROUP_SIZE, N_BOOT
from auditapp.core.errors import AuditInputError
from auditapp.core.limits import max_groups
from auditapp.core.validation import check_model
from auditapp.inputs.source_checks import source_notices

MISSING_GROUP = "(missing)"
DEFAULT_THRESHOLD = 0.5  # a score or probability at or above it is favourable (ties included)


@dataclass(frozen=True)
class Binning:
    """How to cut a numeric sensitive feature into groups: explicit ``edges`` or ``quantiles``."""

    edges: tuple[float, ...] | None = None
    quantiles: int | None = None

    def __post_init__(self) -> None:
        if (self.edges is None) == (self.quantiles is None):
            raise AuditInputError("A binning needs either edges (e.g. 18,30,50) or quantiles (e.g. q4).")
        if self.edges is not None:
            edges = tuple(float(e) for e in self.edges)
            if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
                raise AuditInputError(
                    f"Bin edges must be at least two increasing numbers, got {list(edges)}."
                )
            object.__setattr__(self, "edges", edges)
        elif self.quantiles is None or not 2 <= int(self.quantiles) <= 20:
            raise AuditInputError(f"Quantile bins must be between 2 and 20, got {self.quantiles}.")

    @classmethod
    def parse(cls, text: str) -> Binning:
        """Parse ``"18,30,50,100"`` (edges) or ``"q4"`` (quartiles)."""
        text = text.strip()
        if text.lower().startswith("q"):
            if not text[1:].isdigit():
                raise AuditInputError(f"Cannot read quantile bins '{text}': write q4 for quartiles.")
            return cls(quantiles=int(text[1:]))
        try:
            edges = tuple(float(x) for x in text.split(",") if x.strip())
        except ValueError as exc:
            raise AuditInputError(
                f"Cannot read bin edges '{text}': write numbers separated by commas, e.g. 18,30,50,100."
            ) from exc
        return cls(edges=edges)


@dataclass(frozen=True)
class AuditSpec:
    """The settings of one audit.

    Exactly one prediction source is used: ``prediction`` (a column of predicted labels), ``score``
    (a column of scores, favourable when ``score >= threshold``) or a model passed to ``prepare``.
    ``reference`` maps a sensitive feature to ``"largest"``, ``"best:<metric>"`` or a group value.
    ``n_boot`` is deprecated and changes no number (every interval is computed from counts); it is still
    checked and recorded, so older scripts and records keep working.
    """

    target: str
    sensitive: tuple[str, ...]
    favorable: Any = 1
    prediction: str | None = None
    score: str | None = None
    threshold: float | None = None
    model_favorable: Any = None
    bins: Mapping[str, Binning] = field(default_factory=dict)
    reference: Mapping[str, str] = field(default_factory=dict)
    min_group_size: int = MIN_GROUP_SIZE
    n_boot: int = N_BOOT
    confidence: float = 0.95
    seed: int = 0

    def __post_init__(self) -> None:
        sensitive = (self.sensitive,) if isinstance(self.sensitive, str) else tuple(self.sensitive)
        object.__setattr__(self, "sensitive", sensitive)
        if not sensitive:
            raise AuditInputError("Choose at least one sensitive feature (e.g. sex or race).")
        if len(set(sensitive)) != len(sensitive):
            raise AuditInputError(f"A sensitive feature is listed twice: {list(sensitive)}.")
        if self.target in sensitive:
            raise AuditInputError(f"'{self.target}' is the target; it cannot also be a sensitive feature.")
        for role, column in (("prediction", self.prediction), ("score", self.score)):
            if column is not None and column == self.target:
                raise AuditInputError(
                    f"'{column}' is chosen as both the outcome (target) and the {role} column. The outcome "
                    f"is what really happened, the {role} what the model said: choose the column with the "
                    "true outcome as the target."
                )
        if self.prediction is not None and self.score is not None:
            raise AuditInputError("Give either a prediction column or a score column, not both.")
        if self.threshold is not None and not 0.0 <= float(self.threshold) <= 1.0 and self.score is None:
            raise AuditInputError(f"A model's threshold must be in [0, 1], got {self.threshold}.")
        if not 0.5 <= float(self.confidence) < 1.0:
            raise AuditInputError(f"The confidence level must be in [0.5, 1), got {self.confidence}.")
        if not 0 <= int(self.n_boot) <= 100_000:
            raise AuditInputError(f"Bootstrap replicates must be between 0 and 100,000, got {self.n_boot}.")
        if int(self.min_group_size) < 1:
            raise AuditInputError(f"The minimum group size must be at least 1, got {self.min_group_size}.")
        for name in (*self.bins, *self.reference):
            if name not in sensitive:
                raise AuditInputError(
                    f"'{name}' has bins or a reference group but is not a sensitive feature "
                    f"({', '.join(sensitive)}). Add it to the sensitive features or remove the setting."
                )
        object.__setattr__(self, "bins", dict(self.bins))
        object.__setattr__(self, "reference", {k: str(v) for k, v in self.reference.items()})

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready form (the audit record stores it)."""
        out = asdict(self)
        out["sensitive"] = list(self.sensitive)
        out["bins"] = {k: {"edges": list(b.edges) if b.edges else None, "quantiles": b.quantiles}
                       for k, b in self.bins.items()}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditSpec:
        """Inverse of ``to_dict``."""
        data = dict(data)
        data["sensitive"] = tuple(data["sensitive"])
        data["bins"] = {
            k: Binning(edges=tuple(b["edges"]) if b.get("edges") else None, quantiles=b.get("quantiles"))
            for k, b in (data.get("bins") or {}).items()
        }
        return cls(**data)


@dataclass(frozen=True)
class AuditData:
    """Validated arrays for the metrics engine (one row per dataset row, none dropped)."""

    y_true: np.ndarray
    y_pred: np.ndarray
    sensitive_features: pd.DataFrame
    y_score: np.ndarray | None = None
    threshold: float | None = None
    source: str = "prediction"
    notices: tuple[str, ...] = ()
    decision_rule: str = ""

    @classmethod
    def counted(cls, *, threshold: float | None, source: str, notices: tuple[str, ...],
                decision_rule: str) -> AuditData:
        """The data of an audit counted by an engine (DuckDB, Spark): no rows are kept, so the arrays and the
        table are None (the audit reads its counts, histograms and indexes instead)."""
        return cls(y_true=None, y_pred=None, sensitive_features=None,  # type: ignore[arg-type]  # no rows kept
                   y_score=None, threshold=threshold, source=source, notices=notices, decision_rule=decision_rule)


def _require_columns(frame: pd.DataFrame, names: list[str], what: str) -> None:
    missing = [n for n in names if n not in frame.columns]
    if missing:
        shown = ", ".join(map(str, list(frame.columns)[:12]))
        raise AuditInputError(
            f"The {what} column(s) {', '.join(repr(m) for m in missing)} are not in the dataset. "
            f"Its columns are: {shown}{' ...' if len(frame.columns) > 12 else ''}."
        )


def _same_value(values: pd.Series, wanted: Any) -> np.ndarray:
    """Compare a column to a user-given value, tolerating '1' vs 1 vs 1.0 and 'True' vs True."""
    direct = (values == wanted).to_numpy(dtype=bool, na_value=False)
    if direct.any():
        found: np.ndarray = direct
        return found
    as_text = values.astype("string").str.strip()
    text = str(wanted).strip()
    hit = (as_text == text).to_numpy(dtype=bool, na_value=False)
    if not hit.any():
        try:
            number = float(text)
            numeric = pd.to_numeric(values, errors="coerce")
            hit = (numeric == number).to_numpy(dtype=bool, na_value=False)
        except ValueError:
            pass
    result: np.ndarray = hit
    return result


def _labels(frame: pd.DataFrame, spec: AuditSpec) -> np.ndarray:
    column = frame[spec.target]
    missing = column.isna().to_numpy()
    if missing.any():
        rows = np.flatnonzero(missing)[:5].tolist()
        raise AuditInputError(
            f"The target column '{spec.target}' has {int(missing.sum())} missing value(s) "
            f"(first at rows {rows}). Fill them or remove those rows before auditing."
        )
    values = pd.unique(column)
    if len(values) > 2:
        shown = ", ".join(map(str, sorted(map(str, values))[:6]))
        raise AuditInputError(
            f"The target column '{spec.target}' has {len(values)} distinct values ({shown}); an audit "
            "needs two outcomes. Choose a binary target or map the favourable outcome to one value."
        )
    y_true = _same_value(column, spec.favorable)
    if not y_true.any():
        shown = ", ".join(map(str, sorted(map(str, values))))
        raise AuditInputError(
            f"The favourable value {spec.favorable!r} never occurs in '{spec.target}' (values: {shown}). "
            "Set the favourable value to the outcome that benefits a person, e.g. 1 or 'hired'."
        )
    return y_true.astype(np.int8)


def _predictions_from_column(frame: pd.DataFrame, spec: AuditSpec) -> np.ndarray:
    column = frame[spec.prediction]
    if column.isna().any():
        raise AuditInputError(
            f"The prediction column '{spec.prediction}' has {int(column.isna().sum())} missing value(s). "
            "Every row needs a prediction."
        )
    y_pred = _same_value(column, spec.favorable)
    target_values = {str(v) for v in pd.unique(frame[spec.target])}
    pred_values = {str(v) for v in pd.unique(column)}
    if not pred_values <= target_values:
        if pred_values <= {"0", "1", "True", "False", "0.0", "1.0"}:
            y_pred = _same_value(column, 1) | _same_value(column, True)
        else:
            raise AuditInputError(
                f"The prediction column '{spec.prediction}' has values {sorted(pred_values)[:6]} that are "
                f"not outcomes of the target '{spec.target}' ({sorted(target_values)}). Use the target's "
                "values, or 0/1 with 1 for the favourable outcome."
            )
    return y_pred.astype(np.int8)


def _scores_from_column(frame: pd.DataFrame, spec: AuditSpec) -> np.ndarray:
    column = pd.to_numeric(frame[spec.score], errors="coerce")
    bad = column.isna() & frame[spec.score].notna()
    if bad.any():
        example = frame[spec.score][bad].iloc[0]
        raise AuditInputError(
            f"The score column '{spec.score}' has {int(bad.sum())} value(s) that are not numbers "
            f"(e.g. {str(example)!r}). Choose a numeric score column."
        )
    if column.isna().any():
        raise AuditInputError(
            f"The score column '{spec.score}' has {int(column.isna().sum())} missing value(s). "
            "Every row needs a score."
        )
    scores = column.to_numpy(dtype=np.float64)
    if spec.threshold is None and (scores.min() < 0 or scores.max() > 1):
        raise AuditInputError(
            f"The scores in '{spec.score}' run from {float(scores.min()):g} to {float(scores.max()):g}, "
            "outside [0, 1], so the default threshold 0.5 means nothing. Give a threshold "
            "(--threshold) on the score's own scale."
        )
    result: np.ndarray = scores
    return result


def _numeric_for_bins(column: pd.Series, name: str) -> pd.Series:
    numeric = pd.to_numeric(column, errors="coerce")
    if (numeric.isna() & column.notna()).any():
        raise AuditInputError(f"'{name}' has non-numeric values, so it cannot be binned. Remove its bins.")
    return numeric


def resolved_edges(column: pd.Series, name: str, binning: Binning) -> tuple[float, ...]:
    """The bin edges of ``binning`` on ``column``: its own edges, or the quantiles of these values.

    Quantile edges depend on the data they were computed on; a model that must group new people the
    same way keeps these resolved edges (see :func:`bin_edges`).
    """
    if not binning.quantiles:
        return tuple(float(e) for e in binning.edges or ())
    numeric = _numeric_for_bins(column, name)
    edges = np.unique(np.nanquantile(numeric.to_numpy(dtype=float), np.linspace(0, 1, binning.quantiles + 1)))
    if len(edges) < 2:
        raise AuditInputError(f"'{name}' has a single value, so it cannot be cut into quantiles.")
    return tuple(float(e) for e in edges)


def bin_edges(frame: pd.DataFrame, spec: AuditSpec) -> dict[str, tuple[float, ...]]:
    """Every binned sensitive feature's resolved edges on ``frame`` (explicit edges as given)."""
    return {name: resolved_edges(frame[name], name, binning) for name, binning in spec.bins.items()}


def bin_labels(edges: Sequence[float] | np.ndarray) -> list[str]:
    """Interval labels for bins cut at ``edges``: ``[a, b)`` for each bin, the last one closed ``[a, b]``.

    A value equal to an inner edge belongs to the bin that starts there (``26`` is in ``[26, 30)``, not
    in ``[19, 26)``); the last edge belongs to the last bin.
    """
    texts = _edge_texts(edges)
    last = len(texts) - 2
    return [f"[{a}, {b}{']' if i == last else ')'}" for i, (a, b) in enumerate(zip(texts[:-1], texts[1:], strict=True))]


def _edge_texts(edges: Sequence[float] | np.ndarray) -> list[str]:
    """Short edge texts (6 significant digits), with more digits when two edges would read the same."""
    for digits in (6, 10, 17):
        texts = [str(int(e)) if float(e).is_integer() else f"{float(e):.{digits}g}" for e in edges]
        if len(set(texts)) == len(texts):
            return texts
    return texts


def _binned(column: pd.Series, name: str, binning: Binning) -> pd.Series:
    numeric = _numeric_for_bins(column, name)
    edges = np.asarray(resolved_edges(column, name, binning))
    outside = numeric.notna() & ((numeric < edges[0]) | (numeric > edges[-1]))
    if outside.any():
        raise AuditInputError(
            f"{int(outside.sum())} value(s) of '{name}' lie outside the bin edges "
            f"[{edges[0]:g}, {edges[-1]:g}] (e.g. {float(numeric[outside].iloc[0]):g}). "
            "Widen the first or last edge so that no row is left out."
        )
    labels = bin_labels(edges)
    cut = pd.cut(numeric, bins=edges, labels=labels, include_lowest=True, right=False)
    last = numeric == edges[-1]
    cut = cut.astype("string").where(~last, labels[-1])
    return cut.fillna(MISSING_GROUP)


def _fmt(x: float) -> str:
    """A float value as a group label: whole numbers without ".0", others exactly (never two values as one)."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


class SensitiveChoice(Protocol):
    """What :func:`sensitive_frame` reads of a spec: the sensitive columns and their bins."""

    @property
    def sensitive(self) -> tuple[str, ...]: ...

    @property
    def bins(self) -> Mapping[str, Binning]: ...


def sensitive_frame(frame: pd.DataFrame, spec: SensitiveChoice) -> pd.DataFrame:
    """The sensitive columns as strings, binned where asked, with missing values as ``(missing)``."""
    out = {}
    for name in spec.sensitive:
        column = frame[name]
        if name in spec.bins:
            out[name] = _binned(column, name, spec.bins[name]).astype(str)
            continue
        text = column.astype("string")
        if pd.api.types.is_float_dtype(column.dtype):
            text = column.map(lambda v: _fmt(v) if not (isinstance(v, float) and math.isnan(v)) else None)
            text = text.astype("string")
        text = text.fillna(MISSING_GROUP)
        n_groups, limit = text.nunique(), max_groups()
        if n_groups > limit:
            raise AuditInputError(
                f"The sensitive feature '{name}' has {n_groups:,} distinct values; at most "
                f"{limit:,} groups make sense (AUDITAPP_MAX_GROUPS). Bin it (e.g. --bins {name}=q4) or choose "
                "another column."
            )
        out[name] = text.astype(str)
    return pd.DataFrame(out, index=frame.index)


def prepare(frame: pd.DataFrame, spec: AuditSpec, model: Any = None) -> AuditData:
    """Check ``spec`` against ``frame`` (and ``model``) and return arrays for the metrics engine.

    ``model`` is an ``AuditModel`` or a fitted scikit-learn classifier or pipeline.

    Raises
    ------
    AuditInputError
        If a column is unknown, the target is not binary, the favourable value never occurs, the
        prediction source is missing or unusable, or a model's classes cannot be matched.
    """
    model = check_model(model)
    sources = [spec.prediction is not None, spec.score is not None, model is not None]
    if sum(sources) == 0:
        raise AuditInputError(
            "Say where the predictions come from: a prediction column, a score column, or a model file."
        )
    if sum(sources) > 1:
        raise AuditInputError("Use one prediction source: a prediction column, a score column or a model.")
    _require_columns(frame, [spec.target], "target")
    _require_columns(frame, list(spec.sensitive), "sensitive")
    _require_columns(frame, [c for c in (spec.prediction, spec.score) if c], "prediction")
    y_true = _labels(frame, spec)
    notices: list[str] = []
    y_score = None
    threshold = spec.threshold
    if spec.prediction is not None:
        y_pred, source = _predictions_from_column(frame, spec), "prediction"
    elif spec.score is not None:
        y_score = _scores_from_column(frame, spec)
        threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        y_pred, source = (y_score >= threshold).astype(np.int8), "score"
    else:
        y_pred, y_score, threshold = _model_predictions(frame, spec, model)
        source = "model"
    notices.extend(source_notices(frame, spec, y_true, y_pred))
    if y_pred.all() or not y_pred.any():
        notices.append(
            f"Every row is predicted {'favourable' if y_pred.all() else 'unfavourable'}; rates that "
            "divide by predicted positives or negatives are undefined."
        )
    return AuditData(
        y_true=y_true, y_pred=y_pred, sensitive_features=sensitive_frame(frame, spec),
        y_score=y_score, threshold=threshold, source=source, notices=tuple(notices),
        decision_rule=decision_rule(spec, model, y_score),
    )


def _model_predictions(frame: pd.DataFrame, spec: AuditSpec,
                       model: Any) -> tuple[np.ndarray, np.ndarray | None, float | None]:
    """Decisions from a model by the one tie rule: favourable when its probability of the favourable
    class is ≥ the threshold (0.5 when none is given), so a probability of exactly 0.5 is favourable
    either way. A model without probabilities decides by its own ``predict``; so does a randomised
    mitigation exported by auditapp (unless a threshold is given), which draws each decision.
    """
    from auditapp.inputs.models import match_favorable_class

    model.check_columns(frame)
    positive = match_favorable_class(model, spec.favorable, model_favorable=spec.model_favorable)
    features = frame[list(model.feature_names)]
    own_draws = spec.threshold is None and model.decides_at_random
    labels, scores = model.outputs(features, positive, labels=own_draws)
    if scores is not None and not own_draws:
        threshold = DEFAULT_THRESHOLD if spec.threshold is None else float(spec.threshold)
        return (scores >= threshold).astype(np.int8), scores, spec.threshold
    labels = np.asarray(labels)
    y_pred = np.array([str(v) == str(positive) for v in labels], dtype=np.int8) if labels.dtype == object \
        else (labels == positive).astype(np.int8)
    return y_pred, scores, None


def decision_rule(spec: AuditSpec, model: Any, y_score: np.ndarray | bool | None) -> str:
    """The rule that turned the source into decisions, in words (the audit record states it)."""
    if spec.prediction is not None:
        return f"the prediction column '{spec.prediction}' as given (favourable where it is the favourable value)"
    threshold = DEFAULT_THRESHOLD if spec.threshold is None else float(spec.threshold)
    default = " (0.5: no threshold was given)" if spec.threshold is None else ""
    if spec.score is not None:
        return f"favourable when the score column '{spec.score}' is >= {threshold:g}{default}"
    if y_score is None:
        return "the model's own predicted class (it gives no probabilities)"
    if model.decides_at_random and spec.threshold is None:
        return ("the model's own random decision: each row is favourable with the model's probability, "
                "decided by a seeded hash of the row (auditapp's randomised mitigation)")
    return f"favourable when the model's probability of the favourable class is >= {threshold:g}{default}"
