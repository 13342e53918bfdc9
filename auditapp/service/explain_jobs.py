"""Explanations for the app: one cached run per browser state, and the sentences next to each chart.

The Explanations page computes ``explain_model`` once per (dataset, model, spec, rows per group,
seed), in a background job; every later view (another grouping, pair, feature or row) reads the
cached result. The sentences here turn the result into plain words; every number in them is read
from the result, none is typed in.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.core.validation import parse_number
from auditapp.explain.attribution import GapAttribution, LocalExplanation
from auditapp.explain.core import Explanation, explain_model
from auditapp.explain.shap_values import LOG_ODDS

APP_ROWS_PER_GROUP = 300
MAX_ROWS_PER_GROUP = 20_000
NEEDS_MODEL = ("Upload the model on Data & model: explanations need the model itself. Predictions or "
               "scores given as columns are enough for the audit, but not to say which features drive them.")


def explain_options(rows_per_group, seed, state: dict) -> tuple[int, int]:
    """Check the page's "rows per group" and "seed" inputs; a blank seed means the audit's seed.

    Returns
    -------
    (int, int)
        ``(rows_per_group, seed)``.

    Raises
    ------
    AuditInputError
        If there is no model in ``state``, or the inputs are not whole numbers in range.
    """
    if not state or not state.get("dataset"):
        raise AuditInputError("No dataset yet: upload one on the Data & model page or pick a scenario.")
    if not state.get("model"):
        raise AuditInputError(NEEDS_MODEL)
    rows = _whole(rows_per_group, "rows per group")
    if not 10 <= rows <= MAX_ROWS_PER_GROUP:
        raise AuditInputError(
            f"Rows per group must be between 10 and {MAX_ROWS_PER_GROUP:,}, got {rows:,}. "
            f"Use {APP_ROWS_PER_GROUP} for a quick look, 1,000 or more for stable numbers.")
    if seed is None or (isinstance(seed, str) and not seed.strip()):
        seed = (state.get("spec") or {}).get("seed") or 0
    seed = _whole(seed, "seed")
    if seed < 0:
        raise AuditInputError(f"The seed must be 0 or more, got {seed}. Use any whole number such as 0.")
    return rows, seed


def explanation_key(store, token: str, state: dict, *, rows_per_group: int, seed: int) -> tuple:
    """The cache key: dataset and model hashes, the spec, rows per group and seed."""
    from auditapp.service.workspace import state_key

    return ("explain", *state_key(store, token, state), int(rows_per_group), int(seed))


def explanation_for(store, token: str, state: dict, *, rows_per_group: int, seed: int,
                    trust_pickle: bool = False,
                    progress: Callable[[float, str], None] | None = None) -> Explanation:
    """Compute (or fetch from the cache) the explanation of the model and data in ``state``.

    Parameters
    ----------
    store : auditapp.service.store.ArtifactStore
    token : str
        The browser session's token.
    state : dict
        The browser state (dataset id, model id, spec).
    rows_per_group, seed : int
        As checked by :func:`explain_options`.
    trust_pickle : bool, default False
    progress : callable, optional
        ``progress(fraction, message)``, passed to ``explain_model``.

    Raises
    ------
    AuditInputError
        If the state has no model, or the data do not fit the model (see ``explain_model``).
    """
    from auditapp.service import workspace

    if not state.get("model"):
        raise AuditInputError(NEEDS_MODEL)
    spec = workspace.spec_from_state(state)

    def compute() -> Explanation:
        dataset = workspace.dataset_for(store, token, state)
        model = workspace.load_model(store, token, state["model"], trust_pickle=trust_pickle)
        return explain_model(dataset.frame, spec, model, rows_per_group=rows_per_group, seed=seed,
                             progress=progress)

    return store.cached(explanation_key(store, token, state, rows_per_group=rows_per_group, seed=seed),
                        compute, token=token)


def cached_explanation(store, token: str, state: dict, *, rows_per_group: int,
                       seed: int) -> Explanation | None:
    """The explanation if this session computed it already, else None (never starts the computation)."""
    return store.find(token, explanation_key(store, token, state, rows_per_group=rows_per_group, seed=seed))


def local_for_row(store, token: str, state: dict, explanation: Explanation, value, *,
                  trust_pickle: bool = False) -> LocalExplanation:
    """The explanation of the row the user typed or clicked, by the explanation's own explainer bound to
    the model as this process and session load it (an uploaded model runs in this session's sandbox).

    Raises
    ------
    AuditInputError
        If ``value`` is not a row id of the dataset.
    """
    from auditapp.explain.attribution import local_explanation
    from auditapp.service import workspace

    frame = workspace.dataset_for(store, token, state).frame
    model = workspace.load_model(store, token, state["model"], trust_pickle=trust_pickle)
    return local_explanation(explanation.explainer.with_model(model), frame, row_label(frame.index, value))


def row_label(index: pd.Index, value):
    """The index label of the row the user typed or clicked (row ids are the dataset's index).

    Raises
    ------
    AuditInputError
        If ``value`` is blank, or not a whole number when the row ids are numbers.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise AuditInputError("Type a row id, or click a point in the dependence plot, to explain one row.")
    if pd.api.types.is_integer_dtype(index.dtype):
        return _whole(value, "row id")
    text = str(value).strip()
    found = np.flatnonzero(index.astype(str) == text)
    return index[found[0]] if found.size else text


def clicked_row(click_data: dict):
    """The row id of the clicked point of the dependence plot (its ``customdata[0]``).

    Raises
    ------
    AuditInputError
        If the click carries no row id.
    """
    points = (click_data or {}).get("points") or [{}]
    custom = points[0].get("customdata")
    if isinstance(custom, (list, tuple)):
        custom = custom[0] if custom else None
    if custom is None:
        raise AuditInputError("That point carries no row id. Click a dot of the dependence plot, or type a row id.")
    return custom


def grouping_names(explanation: Explanation) -> list[str]:
    """The groupings of the explanation in the audit's order (``"sex"``, …, ``"sex × ethnicity"``)."""
    return list(dict.fromkeys(explanation.attributions.groups["grouping"]))


def groups_of(explanation: Explanation, grouping: str) -> list[str]:
    """The groups of one grouping that have sampled rows."""
    table = explanation.attributions.groups
    return [str(g) for g in table.loc[table["grouping"] == grouping, "group"]]


def default_pair(explanation: Explanation, grouping: str) -> tuple[str, str]:
    """The pair to show first: the group furthest from its reference, and that reference."""
    gaps = [g for g in explanation.gaps if " × ".join(g.grouping) == grouping]
    if gaps:
        widest = max(gaps, key=lambda g: abs(g.total))
        return widest.group, widest.reference
    groups = groups_of(explanation, grouping)
    return groups[0], groups[-1]


def default_feature(explanation: Explanation) -> str:
    """The feature to plot first: the largest contributor to the widest gap of the first grouping."""
    names = grouping_names(explanation)
    if names:
        group, reference = default_pair(explanation, names[0])
        for gap in explanation.gaps:
            if (gap.group, gap.reference) == (group, reference):
                return str(gap.contributions.index[0])
    return str(explanation.importance.index[0])


def probability(log_odds: float) -> float:
    """The probability that ``log_odds`` stands for."""
    return 1.0 / (1.0 + math.exp(-float(log_odds)))


def output_sentence(explanation: Explanation) -> str:
    """What the model's output is, in words (log-odds explained simply)."""
    values = explanation.shap
    mean = explanation.attributions.mean_output
    favourable = values.positive_class
    if values.output_space == LOG_ODDS:
        return (f"Numbers are in log-odds of the favourable outcome ({favourable}): the model's score "
                f"before it is turned into a probability. 0 means a 50% chance, and each step of +1 "
                f"multiplies the odds by about 2.7 (−1 is about 27%, +1 about 73%). The average output "
                f"here is {mean:+.2f}, a {probability(mean):.0%} chance.")
    return (f"Numbers are probabilities of the favourable outcome ({favourable}), from 0 to 1; "
            f"a SHAP value of +0.05 adds 5 percentage points. The average output here is {mean:.2f}.")


def sample_sentence(explanation: Explanation, n_rows: int) -> str:
    """How many rows were explained, how they were sampled, and how much the sample could move."""
    sample, attributions = explanation.sample, explanation.attributions
    features = list(sample.cell_labels.columns)
    text = (f"Explained {sample.n_rows:,} of {int(n_rows):,} rows: at most {sample.rows_per_group:,} "
            f"from each group of {' × '.join(map(str, features))} (seed {sample.seed}); smaller groups "
            "are taken whole and every number is weighted back to the full data.")
    if attributions.n_boot == 0:
        return text + " No bootstrap was run, so no intervals are shown."
    table = explanation.importance
    half = (table["high"] - table["low"]) / 2
    widest = str(half.idxmax())
    level = round(attributions.confidence * 100)
    return text + (f" Whiskers and [brackets] are {level}% intervals from {attributions.n_boot} bootstrap "
                   f"resamples of those rows: how far another sample could move each number. The widest "
                   f"is ±{float(half.max()):.3f} ({widest}).")


def importance_sentence(explanation: Explanation) -> str:
    """The top features overall, with their mean |SHAP| and interval."""
    table = explanation.importance
    first = table.index[0]
    row = table.iloc[0]
    text = (f"{first} moves one person's output the most: by {row['mean_abs_shap']:.2f} on average, up or "
            f"down{_bracket(row['low'], row['high'], signed=False)}.")
    others = [f"{name} ({value:.2f})" for name, value in table["mean_abs_shap"].iloc[1:3].items()]
    if others:
        text += f" Next come {' and '.join(others)}."
    return text


def group_importance_sentence(explanation: Explanation, grouping: str) -> str:
    """The feature whose importance differs most between the groups of ``grouping``."""
    table = explanation.attributions.importance_by_group
    part = table[table["grouping"] == grouping]
    if part.empty:
        return f"No groups of {grouping} were sampled."
    wide = part.pivot(index="feature", columns="group", values="mean_abs_shap")
    spread = wide.max(axis=1) - wide.min(axis=1)
    feature = str(spread.idxmax())
    high, low = str(wide.loc[feature].idxmax()), str(wide.loc[feature].idxmin())
    return (f"The feature whose importance differs most between groups of {grouping} is {feature}: "
            f"{wide.loc[feature, high]:.2f} for {high} against {wide.loc[feature, low]:.2f} for {low}. "
            "A feature that matters for one group and hardly for another deserves a closer look.")


def gap_sentence(gap: GapAttribution, proxies=None) -> str:
    """The gap between two groups, and the feature that accounts for most of it.

    The feature is called a possible stand-in for the grouping's attributes only when ``proxies`` (the
    explanation's :class:`~auditapp.explain.proxies.ProxyReport`) flagged it for one of them.
    """
    log_odds = gap.output_space.startswith(LOG_ODDS)
    chances = (f" ({probability(gap.mean_group):.0%} against {probability(gap.mean_reference):.0%} "
               "chance)") if log_odds else ""
    text = (f"The model's average output is {gap.mean_group:+.2f} for {gap.group} and "
            f"{gap.mean_reference:+.2f} for {gap.reference}{chances}: a gap of {gap.total:+.2f}"
            f"{_bracket(gap.total_low, gap.total_high)}.")
    top = gap.contributions.iloc[0]
    feature = str(gap.contributions.index[0])
    effect = "widens" if np.sign(top["value"]) == np.sign(gap.total) else "narrows"
    text += (f" The biggest step is {feature} ({top['value']:+.2f}{_bracket(top['low'], top['high'])}), "
             f"which {effect} the gap")
    if effect == "widens" and gap.total != 0:
        text += f": {top['value'] / gap.total:.0%} of it on its own"
        text += _proxy_clause(feature, gap.grouping, proxies)
    text += "."
    if np.isfinite(gap.total_low) and gap.total_low <= 0 <= gap.total_high:
        text += (" The interval includes 0: with this sample, the two groups' average outputs cannot be told "
                 "apart.")
    return text


def _proxy_clause(feature: str, grouping, proxies) -> str:
    """Whether the proxy check found ``feature`` standing in for an attribute of ``grouping``."""
    attributes = [str(a) for a in grouping]
    if proxies is None:
        return (". If that feature should play no part in the decision, check on the proxy table whether it "
                f"stands in for {' × '.join(attributes)}")
    table = proxies.features
    rows = table[(table["feature"] == feature) & table["sensitive"].isin(attributes)]
    flagged = rows[rows["flagged"]]
    if not flagged.empty:
        row = flagged.iloc[0]
        return (f". It is flagged as a proxy for {row['sensitive']} (AUC {row['score']:.2f}): if it should play "
                f"no part in the decision, the model may be using it as a stand-in for {row['sensitive']}")
    if rows.empty:
        return ""
    best = rows.iloc[0]
    return (f". It is not flagged as a proxy for {best['sensitive']} (AUC {best['score']:.2f}), so the step comes "
            "from how the groups' values of it differ, not from it standing in for the attribute")


def local_sentence(local: LocalExplanation, explanation: Explanation | None = None) -> str:
    """One row's explanation in words: from the average output to its own, and the biggest pushes.

    With ``explanation``, says why the waterfall's starting point (the explainer's base value, an average
    over its background rows) differs from the average output quoted at the top of the page (all rows).
    """
    log_odds = local.output_space.startswith(LOG_ODDS)
    chance = f" (a {probability(local.output):.0%} chance)" if log_odds else ""
    text = (f"Row {local.row} starts from the average output {local.base_value:+.2f} and ends at "
            f"{local.output:+.2f}{chance}.")
    pushes = [f"{name} = {row['value']} ({row['shap']:+.2f})"
              for name, row in local.contributions.iloc[:2].iterrows()]
    if pushes:
        text += f" The biggest pushes: {' and '.join(pushes)}."
    if explanation is not None:
        mean = explanation.attributions.mean_output
        if f"{mean:+.2f}" != f"{local.base_value:+.2f}":
            background = getattr(explanation.explainer, "background", None)
            start = (f"the model's average over its {len(background):,} background rows" if background is not None
                     else "the model's average over the rows it was trained on (its trees remember how many "
                          "training rows took each branch)")
            text += (f" Why {local.base_value:+.2f} and not the average output of {mean:+.2f} above: SHAP starts "
                     f"every row from {start}, while the average above is over the audited rows; both are "
                     "averages of the same model, over different rows.")
    return text


def dependence_sentence(data: pd.DataFrame, feature: str) -> str:
    """The feature's average SHAP value in each group of the plot."""
    if data.empty:
        return f"No sampled rows to show for {feature}."
    means = data.groupby("group", sort=True)["shap"].mean()
    parts = ", ".join(f"{group} {value:+.2f}" for group, value in means.items())
    return (f"Average push of {feature} on the output, by group: {parts}. When one colour sits "
            f"mostly below zero and another near zero, {feature} lowers the output of that group more.")


def _bracket(low, high, *, signed: bool = True) -> str:
    if low is None or high is None or not (np.isfinite(low) and np.isfinite(high)):
        return ""
    form = "+.2f" if signed else ".2f"
    return f" [{float(low):{form}}, {float(high):{form}}]"


def _whole(value, what: str) -> int:
    number = parse_number(value, f"The {what}", integer=True)
    if number is None:
        raise AuditInputError(f"The {what} is empty. Type a whole number such as 300.")
    return number
