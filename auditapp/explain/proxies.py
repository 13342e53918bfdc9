"""Proxy detection: which features could stand in for a sensitive attribute the model never sees.

Per feature and sensitive attribute, the main score is the ROC AUC of a one-feature model that
predicts the attribute (one group against the rest; the best-predicted group is reported for
attributes with more than two groups). The one-feature model is a histogram: numeric features are
cut into quantile bins, categories are kept as they are, and each bin's share of the group is its
score. The shares are cross-fitted (computed on the other folds), so a feature with thousands of
distinct values (an id) does not look predictive by memorising rows. Normalised mutual information
between the binned feature and the attribute is the second score. Finally a small seeded gradient
boosting model on all non-sensitive features together, scored by cross-validated AUC, tells
whether the attribute can be reconstructed even when no single feature gives it away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

MIN_GROUP_ROWS = 30
MODEL_INPUTS = "the model's other inputs"
OTHER_COLUMNS = "the dataset's other columns"


@dataclass(frozen=True, eq=False)
class ProxyReport:
    """Proxy scores, one row per (feature, sensitive attribute), and the all-features scores.

    ``features`` columns: ``feature``, ``sensitive``, ``score`` (cross-fitted AUC), ``group`` (the
    attribute's group it best singles out), ``nmi``, ``flagged``, ``sentence``; sorted by score.
    ``combined`` columns: ``sensitive``, ``score``, ``group``, ``flagged``, ``sentence``.
    """

    features: pd.DataFrame
    combined: pd.DataFrame
    threshold: float
    n_rows: int
    notices: tuple[str, ...] = ()
    inputs: str = MODEL_INPUTS  # what the candidate features are, in words ("the model's other inputs")


def detect_proxies(frame: pd.DataFrame, sensitive_features: pd.DataFrame, *, features: Sequence[str],
                   threshold: float = 0.7,
                   n_bins: int = 20, n_folds: int = 5, max_rows: int = 50_000,
                   combined_rows: int = 5_000, combined: bool = True, seed: int = 0,
                   inputs: str = MODEL_INPUTS) -> ProxyReport:
    """Score how well each feature, and all of them together, predict each sensitive attribute.

    Parameters
    ----------
    frame : DataFrame
        The dataset (feature columns are read from it).
    sensitive_features : DataFrame
        The sensitive attributes as strings, one row per row of ``frame``.
    features : sequence of str
        Candidate proxies (typically the model's inputs); sensitive columns among them are skipped.
    threshold : float, default 0.7
        Flag a feature (or the combination) when its AUC reaches this value.
    n_bins, n_folds : int
        Quantile bins for numeric features; folds for cross-fitting.
    max_rows, combined_rows : int
        Rows (seeded random subset) used for the one-feature scores and the combined model.
    combined : bool, default True
        Also fit the all-features model.
    inputs : str
        What the candidate features are, in words, for the sentences: the model's other inputs (default),
        or ``OTHER_COLUMNS`` when predictions came as a column and every other column is a candidate.
    seed : int, default 0

    Returns
    -------
    ProxyReport
    """
    rng = np.random.default_rng(seed)
    n = len(frame)
    rows = np.sort(rng.choice(n, size=max_rows, replace=False)) if n > max_rows else np.arange(n)
    sensitive_names = [str(c) for c in sensitive_features.columns]
    candidates = [f for f in features if f not in sensitive_names]
    notices = [f"'{f}' is itself a sensitive attribute and a model input: the model uses it directly."
               for f in features if f in sensitive_names]
    folds = rng.permutation(rows.size) % n_folds
    records, joint = [], []
    for attribute in sensitive_names:
        labels = sensitive_features[attribute].astype(str).to_numpy()[rows]
        label_codes, _ = pd.factorize(labels)
        groups = _eligible_groups(labels)
        if not groups:
            notices.append(f"'{attribute}' has no two groups of at least {MIN_GROUP_ROWS} rows; "
                           "proxies for it were not scored.")
            continue
        for feature in candidates:
            codes = _codes(frame[feature].iloc[rows], n_bins)
            best_group, best = groups[0], -np.inf
            for group in groups:
                auc = _rank_auc(_cross_fitted_rates(codes, labels == group, folds, n_folds), labels == group)
                if auc > best:
                    best_group, best = group, auc
            nmi = _normalized_mutual_information(label_codes, codes)
            records.append(_row(feature, attribute, best, best_group, nmi, len(groups), threshold))
        if combined and candidates:
            joint.append(_combined_score(frame, candidates, labels, rows, groups, attribute,
                                         combined_rows, threshold, seed, inputs))
    table = pd.DataFrame(records, columns=["feature", "sensitive", "score", "group", "nmi", "flagged",
                                           "sentence"])
    table = table.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
    return ProxyReport(features=table,
                       combined=pd.DataFrame(joint, columns=["sensitive", "score", "group", "flagged",
                                                             "sentence"]),
                       threshold=float(threshold), n_rows=int(rows.size), notices=tuple(notices), inputs=inputs)


def _eligible_groups(labels: np.ndarray) -> list[str]:
    values, counts = np.unique(labels, return_counts=True)
    ok = (counts >= MIN_GROUP_ROWS) & (labels.size - counts >= MIN_GROUP_ROWS)
    eligible = [str(v) for v in values[ok]]
    # With two groups, "a vs rest" and "b vs rest" give the same AUC: score one of them.
    return eligible[:1] if len(values) == 2 else eligible


def _codes(column: pd.Series, n_bins: int) -> np.ndarray:
    """Integer bin of each value: quantile bins for many-valued numbers, else the value itself."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column) \
            and column.nunique() > n_bins:
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = values[~np.isnan(values)]
        edges = np.unique(np.quantile(finite, np.linspace(0, 1, n_bins + 1)[1:-1]))
        codes = np.searchsorted(edges, values, side="right")
        return np.where(np.isnan(values), edges.size + 1, codes).astype(np.int64)
    codes, _ = pd.factorize(column.astype(object), use_na_sentinel=False)
    return np.asarray(codes, dtype=np.int64)


def _normalized_mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """Mutual information over the mean of the two entropies (scikit-learn's default NMI)."""
    ka, kb = int(a.max()) + 1, int(b.max()) + 1
    joint = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb) / a.size
    pa, pb = joint.sum(axis=1), joint.sum(axis=0)
    nz = joint > 0
    mi = float((joint[nz] * np.log(joint[nz] / np.outer(pa, pb)[nz])).sum())
    entropy_a = float(-(pa[pa > 0] * np.log(pa[pa > 0])).sum())
    entropy_b = float(-(pb[pb > 0] * np.log(pb[pb > 0])).sum())
    denominator = (entropy_a + entropy_b) / 2
    return max(0.0, mi / denominator) if denominator > 0 else 0.0


def _cross_fitted_rates(codes: np.ndarray, target: np.ndarray, folds: np.ndarray,
                        n_folds: int, smoothing: float = 5.0) -> np.ndarray:
    """Each row's bin share of ``target``, learned on the other folds (shrunk to the fold's mean)."""
    k = int(codes.max()) + 1
    key = folds * k + codes
    total = np.bincount(key, minlength=n_folds * k).reshape(n_folds, k).astype(np.float64)
    hits = np.bincount(key, weights=target.astype(np.float64), minlength=n_folds * k).reshape(n_folds, k)
    train_total = total.sum(axis=0) - total
    train_hits = hits.sum(axis=0) - hits
    prior = train_hits.sum(axis=1, keepdims=True) / np.maximum(train_total.sum(axis=1, keepdims=True), 1)
    rates = (train_hits + smoothing * prior) / (train_total + smoothing)
    return np.asarray(rates[folds, codes], dtype=np.float64)


def _rank_auc(scores: np.ndarray, target: np.ndarray) -> float:
    """ROC AUC with ties counted as half (Mann–Whitney)."""
    from scipy.stats import rankdata

    positives = int(target.sum())
    negatives = target.size - positives
    ranks = rankdata(scores)
    return float((ranks[target].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _what(attribute: str, group: str, n_groups: int) -> str:
    return attribute if n_groups == 1 else f"whether {attribute} is '{group}'"


def _row(feature: str, attribute: str, auc: float, group: str, nmi: float, n_groups: int,
         threshold: float) -> dict[str, Any]:
    flagged = bool(auc >= threshold)
    what = _what(attribute, group, n_groups)
    if flagged:
        sentence = (f"'{feature}' alone predicts {what} with AUC {auc:.2f} (0.5 is chance, 1 is "
                    f"certain): a model can use it as a stand-in for {attribute} without ever "
                    f"seeing {attribute}.")
    else:
        sentence = f"'{feature}' alone says little about {what} (AUC {auc:.2f}, below {threshold:.2f})."
    return {"feature": feature, "sensitive": attribute, "score": float(auc), "group": group,
            "nmi": nmi, "flagged": flagged, "sentence": sentence}


def _combined_score(frame: pd.DataFrame, features: Sequence[str], labels: np.ndarray, rows: np.ndarray,
                    groups: Sequence[str], attribute: str, max_rows: int, threshold: float, seed: int,
                    inputs: str) -> dict[str, Any]:
    """Cross-validated AUC of a small gradient boosting model on all candidate features."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed + 1)
    pick = np.sort(rng.choice(rows.size, size=min(rows.size, max_rows), replace=False))
    data, categorical = _numeric_matrix(frame.iloc[rows[pick]], features)
    target = labels[pick]
    folds = rng.permutation(pick.size) % 3
    classes = np.unique(target)
    proba = np.zeros((pick.size, classes.size))
    with threadpool_limits(limits=1):
        for fold in range(3):
            train, test = folds != fold, folds == fold
            model = HistGradientBoostingClassifier(
                max_iter=40, max_leaf_nodes=15, early_stopping=False, random_state=seed,
                categorical_features=categorical if categorical.any() else None)
            model.fit(data[train], target[train])
            columns = np.searchsorted(classes, model.classes_)
            proba[np.ix_(test, columns)] = model.predict_proba(data[test])
    best_group, best = groups[0], -np.inf
    for group in groups:
        auc = _rank_auc(proba[:, int(np.searchsorted(classes, group))], target == group)
        if auc > best:
            best_group, best = group, auc
    flagged = bool(best >= threshold)
    what = _what(attribute, best_group, len(groups))
    if flagged:
        sentence = (f"Together, {inputs} predict {what} with AUC {best:.2f}: "
                    f"leaving {attribute} out of the inputs does not stop a model from inferring it.")
    else:
        sentence = (f"Together, {inputs} predict {what} only weakly "
                    f"(AUC {best:.2f}, below {threshold:.2f}).")
    return {"sensitive": attribute, "score": float(best), "group": best_group, "flagged": flagged,
            "sentence": sentence}


def _numeric_matrix(frame: pd.DataFrame, features: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Numbers as they are; other columns as category codes (marked categorical when few)."""
    columns, categorical = [], []
    for name in features:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            columns.append(column.to_numpy(dtype=np.float64, na_value=np.nan))
            categorical.append(False)
            continue
        codes, uniques = pd.factorize(column.astype(object))
        codes = codes.astype(np.float64)
        codes[codes < 0] = np.nan
        columns.append(codes)
        categorical.append(len(uniques) <= 250)
    return np.column_stack(columns), np.array(categorical, dtype=bool)


def proxy_sentence(report: ProxyReport) -> str:
    """Which features were flagged as proxies, and whether the inputs together give an attribute away."""
    flagged = report.features[report.features["flagged"]]
    if flagged.empty:
        text = (f"No single feature predicts a sensitive attribute with an AUC of {report.threshold:.2f} "
                "or more.")
    else:
        items = [f"{r['feature']} for {r['sensitive']} (AUC {r['score']:.2f})" for _, r in flagged.iterrows()]
        text = f"Flagged as possible proxies (AUC {report.threshold:.2f} or more): {', '.join(items)}."
    together = [f"{r['sensitive']} (AUC {r['score']:.2f})" for _, r in report.combined.iterrows()
                if r["flagged"]]
    if together:
        text += f" Together, {report.inputs} reconstruct {', '.join(together)}."
    return text


def proxy_record(report: ProxyReport) -> dict[str, Any]:
    """The proxy scores as JSON: ``proxies`` (one per feature and attribute), ``proxies_combined`` (all the
    features together) and ``proxy_threshold``."""
    from auditapp.reporting.record import clean

    return {
        "proxies": [{"feature": row["feature"], "sensitive": row["sensitive"], "score": clean(row["score"]),
                     "group": row["group"], "nmi": clean(row["nmi"]), "flagged": bool(row["flagged"]),
                     "sentence": row["sentence"]} for _, row in report.features.iterrows()],
        "proxies_combined": [{"sensitive": row["sensitive"], "score": clean(row["score"]), "group": row["group"],
                              "flagged": bool(row["flagged"]), "sentence": row["sentence"]}
                             for _, row in report.combined.iterrows()],
        "proxy_threshold": report.threshold,
    }


def candidate_features(frame: pd.DataFrame, spec: Any, model: Any = None) -> list[str]:
    """The columns that could stand in for a sensitive attribute: the model's inputs, or (predictions given
    as a column) every column but the target, the prediction/score and the sensitive features."""
    if model is not None:
        return [str(c) for c in model.feature_names if c in frame.columns]
    left_out = {spec.target, spec.prediction, spec.score, *spec.sensitive}
    return [str(c) for c in frame.columns if c not in left_out]


def task_proxies(frame: pd.DataFrame, spec: Any, model: Any = None) -> ProxyReport:
    """Proxy scores for a regression or multiclass audit (the same detector as for classifiers: it reads
    the features and the sensitive attributes, not the model's output), seeded by the spec."""
    from auditapp.core.spec import sensitive_frame

    return detect_proxies(frame, sensitive_frame(frame, spec), features=candidate_features(frame, spec, model),
                          seed=spec.seed, inputs=MODEL_INPUTS if model is not None else OTHER_COLUMNS)

