"""Amounts & classes page: regression and multiclass audits of the session's dataset."""

from __future__ import annotations

from dash import Input, Output, State, callback, dcc, no_update

from auditapp.core.errors import AuditInputError
from auditapp.core.task_table import mitigation_columns, mitigation_rows, table_columns, table_rows
from auditapp.explain.proxies import proxy_sentence
from auditapp.figures import empty_figure
from auditapp.figures.explain import gap_waterfall_figure, importance_figure, proxy_rows
from auditapp.figures.tasks import (
    class_rate_figure,
    confusion_figure,
    cutoff_figure,
    distribution_figure,
    regression_metric_figure,
)
from auditapp.service import task_workspace, workspace
from callbacks.context import get_store, settings
from datasets.listing_prices import CHOICES, VERSION, compare_mitigations, install_listing_prices
from layouts import ids
from layouts.components import error_alert, info_alert

SEP = "|"
HIDDEN, SHOWN = {"display": "none"}, None


def _audit(token, state, choices):
    return task_workspace.task_audit_for(get_store(), token, state, choices, trust_pickle=settings().trust_pickle)


def _grouping(audit, key):
    return audit.result.grouping(*key.split(SEP)) if key else audit.result.groupings[0]


@callback(
    Output(ids.TASK_TARGET_DROPDOWN, "options"), Output(ids.TASK_PREDICTION_DROPDOWN, "options"),
    Output(ids.TASK_SENSITIVE_DROPDOWN, "options"),
    Input(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_task_columns(state, token):
    """Offer the dataset's columns when the page opens or the dataset changes."""
    if not state or not state.get("dataset"):
        return [], [], []
    try:
        columns = workspace.dataset_for(get_store(), token, state).columns
    except AuditInputError:
        return [], [], []
    return columns, columns, columns


SCENARIO_OUTPUTS = dict(
    state=Output(ids.STATE_STORE, "data", allow_duplicate=True), kind=Output(ids.TASK_KIND_RADIO, "value"),
    target=Output(ids.TASK_TARGET_DROPDOWN, "value"), prediction=Output(ids.TASK_PREDICTION_DROPDOWN, "value"),
    sensitive=Output(ids.TASK_SENSITIVE_DROPDOWN, "value"),
    alert=Output(ids.TASK_ALERT, "children", allow_duplicate=True),
    targets=Output(ids.TASK_TARGET_DROPDOWN, "options", allow_duplicate=True),
    predictions=Output(ids.TASK_PREDICTION_DROPDOWN, "options", allow_duplicate=True),
    sensitives=Output(ids.TASK_SENSITIVE_DROPDOWN, "options", allow_duplicate=True),
)


@callback(
    output=SCENARIO_OUTPUTS,
    inputs=dict(n_clicks=Input(ids.TASK_SCENARIO_BUTTON, "n_clicks"), current=State(ids.STATE_STORE, "data"),
                token=State(ids.SESSION_STORE, "data")),
    prevent_initial_call=True,
)
def on_load_listing_scenario(n_clicks, current, token):
    """Load the listing-price scenario and fill in its settings (one click, offline)."""
    if not n_clicks:
        return dict.fromkeys(SCENARIO_OUTPUTS, no_update)
    state = {"dataset": install_listing_prices(get_store())}
    if (current or {}).get("policy"):
        state["policy"] = current["policy"]
    columns = workspace.dataset_for(get_store(), token, state).columns
    return dict(state=state, kind=CHOICES["task"], target=CHOICES["target"], prediction=CHOICES["prediction"],
                sensitive=CHOICES["sensitive"],
                alert=info_alert("Loaded the listing-price scenario: a price model trained on last year's prices, "
                                 "when group B's listings were discounted. Press Run.", color="success"),
                targets=columns, predictions=columns, sensitives=columns)


RUN_OUTPUTS = dict(
    choices=Output(ids.TASK_CHOICES_STORE, "data"), alert=Output(ids.TASK_ALERT, "children"),
    context=Output(ids.TASK_CONTEXT, "children"), groupings=Output(ids.TASK_GROUPING_DROPDOWN, "options"),
    grouping=Output(ids.TASK_GROUPING_DROPDOWN, "value"), regression=Output(ids.TASK_REGRESSION_AREA, "style"),
    multiclass=Output(ids.TASK_MULTICLASS_AREA, "style"), cutoff_min=Output(ids.TASK_CUTOFF_SLIDER, "min"),
    cutoff_max=Output(ids.TASK_CUTOFF_SLIDER, "max"), cutoff=Output(ids.TASK_CUTOFF_SLIDER, "value"),
)


@callback(
    output=RUN_OUTPUTS,
    inputs=dict(n_clicks=Input(ids.TASK_RUN_BUTTON, "n_clicks"), kind=State(ids.TASK_KIND_RADIO, "value"),
                target=State(ids.TASK_TARGET_DROPDOWN, "value"), prediction=State(ids.TASK_PREDICTION_DROPDOWN, "value"),
                sensitive=State(ids.TASK_SENSITIVE_DROPDOWN, "value"), state=State(ids.STATE_STORE, "data"),
                token=State(ids.SESSION_STORE, "data")),
    prevent_initial_call=True,
)
def on_run_task_audit(n_clicks, kind, target, prediction, sensitive, state, token):
    """Run the regression or multiclass audit with the chosen settings."""
    if not n_clicks:
        return dict.fromkeys(RUN_OUTPUTS, no_update)
    confidence = ((state or {}).get("spec") or {}).get("confidence") or 0.95
    choices = {"task": kind or "auto", "target": target, "prediction": prediction, "sensitive": sensitive or [],
               "confidence": confidence}
    try:
        audit = _audit(token, state, choices)
    except AuditInputError as exc:
        return dict(choices=None, alert=error_alert(str(exc), title="The audit could not run"), context="",
                    groupings=[], grouping=None, regression=HIDDEN, multiclass=HIDDEN, cutoff_min=no_update,
                    cutoff_max=no_update, cutoff=no_update)
    options = [{"label": g.name, "value": SEP.join(g.features)} for g in audit.result.groupings]
    regression = audit.task == "regression"
    low, high = (float(audit.y_pred.min()), float(audit.y_pred.max())) if regression else (0.0, 1.0)
    context = (f"{audit.task.capitalize()} audit of {audit.result.n_rows:,} rows ({audit.choice.reason}); "
               f"predictions from the {audit.source}.")
    notes = [n for n in audit.notices[1:]]
    return dict(choices=choices, alert=info_alert(" ".join(notes), color="warning") if notes else None,
                context=context, groupings=options, grouping=options[0]["value"],
                regression=SHOWN if regression else HIDDEN, multiclass=HIDDEN if regression else SHOWN,
                cutoff_min=low, cutoff_max=high, cutoff=round((low + high) / 2, 2))


def _current(choices, state, token, key):
    if not choices:
        raise AuditInputError("Press Run first.")
    audit = _audit(token, state, choices)
    return audit, _grouping(audit, key)


@callback(
    Output(ids.TASK_METRIC_GRAPH, "figure"), Output(ids.TASK_RESIDUAL_GRAPH, "figure"),
    Output(ids.TASK_PREDICTION_GRAPH, "figure"),
    Input(ids.TASK_GROUPING_DROPDOWN, "value"), Input(ids.TASK_METRIC_DROPDOWN, "value"),
    Input(ids.TASK_CHOICES_STORE, "data"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_regression_charts(key, metric, choices, state, token):
    """Metric bars and the residual/prediction box plots for the chosen grouping."""
    try:
        audit, grouping = _current(choices, state, token, key)
        if audit.task != "regression":
            return (no_update,) * 3
        dist = task_workspace.distributions_for(get_store(), token, state, choices, grouping.name)
    except (AuditInputError, KeyError):
        return (empty_figure("Run a regression audit first."),) * 3
    return (regression_metric_figure(grouping, metric),
            distribution_figure(dist.residuals, what="prediction − outcome", title=f"Residuals by {grouping.name}"),
            distribution_figure(dist.predictions, what="prediction", title=f"Predictions by {grouping.name}"))


@callback(
    Output(ids.TASK_CUTOFF_GRAPH, "figure"),
    Input(ids.TASK_CUTOFF_SLIDER, "value"), Input(ids.TASK_GROUPING_DROPDOWN, "value"),
    State(ids.TASK_CHOICES_STORE, "data"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_cutoff_rates(cutoff, key, choices, state, token):
    """Each group's share predicted above the cutoff."""
    try:
        audit, grouping = _current(choices, state, token, key)
        if audit.task != "regression" or cutoff is None:
            return no_update
        index = task_workspace.cutoff_for(get_store(), token, state, choices, grouping.name)
    except (AuditInputError, KeyError):
        return empty_figure("Run a regression audit first.")
    return cutoff_figure(index.rates(float(cutoff), confidence=audit.result.confidence), cutoff=float(cutoff),
                         features=grouping.features)


@callback(
    Output(ids.TASK_CLASS_GRAPH, "figure"), Output(ids.TASK_CONFUSION_GROUP_DROPDOWN, "options"),
    Output(ids.TASK_CONFUSION_GROUP_DROPDOWN, "value"),
    Input(ids.TASK_GROUPING_DROPDOWN, "value"), Input(ids.TASK_CLASS_METRIC_RADIO, "value"),
    Input(ids.TASK_CHOICES_STORE, "data"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_class_rates(key, prefix, choices, state, token):
    """Per-class rates by group, and the groups whose confusion matrix can be shown."""
    try:
        audit, grouping = _current(choices, state, token, key)
        if audit.task != "multiclass":
            return no_update, no_update, no_update
    except (AuditInputError, KeyError):
        return empty_figure("Run a multiclass audit first."), [], None
    labels = list(grouping.groups.index)
    return class_rate_figure(grouping, prefix), labels, labels[0]


@callback(
    Output(ids.TASK_CONFUSION_GRAPH, "figure"),
    Input(ids.TASK_CONFUSION_GROUP_DROPDOWN, "value"), State(ids.TASK_GROUPING_DROPDOWN, "value"),
    State(ids.TASK_CHOICES_STORE, "data"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_confusion(label, key, choices, state, token):
    """The chosen group's confusion matrix as a heatmap."""
    try:
        audit, grouping = _current(choices, state, token, key)
        if audit.task != "multiclass" or label not in grouping.confusion:
            return no_update
    except (AuditInputError, KeyError):
        return no_update
    return confusion_figure(grouping, label)


@callback(
    Output(ids.TASK_TABLE, "rowData"), Output(ids.TASK_TABLE, "columnDefs"),
    Input(ids.TASK_GROUPING_DROPDOWN, "value"), Input(ids.TASK_CHOICES_STORE, "data"),
    State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_task_table(key, choices, state, token):
    """Every metric of the chosen grouping with its interval."""
    try:
        audit, grouping = _current(choices, state, token, key)
    except (AuditInputError, KeyError):
        return [], no_update  # keep the empty table's header (a grid without columns is not a valid table)
    return table_rows(audit, grouping), table_columns(audit, grouping)


@callback(
    Output(ids.TASK_PROXY_TEXT, "children"), Output(ids.TASK_PROXY_GRID, "rowData"),
    Input(ids.TASK_CHOICES_STORE, "data"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_task_proxies(choices, state, token):
    """Which features stand in for a sensitive attribute, in words and in a table."""
    if not choices:
        return "Run the audit to score the features as proxies.", []
    try:
        report = task_workspace.task_proxies_for(get_store(), token, state, choices,
                                                 trust_pickle=settings().trust_pickle)
    except AuditInputError as exc:
        return str(exc), []
    return proxy_sentence(report), proxy_rows(report)


_MITIGATION_NAMES = {"unmitigated": "Unmitigated", "reweighing": "Reweighing (by outcome quartile)",
                     "correlation_remover": "CorrelationRemover", "bounded_group_loss": "Bounded group loss",
                     "grid_search": "Bounded group loss, grid search (one model)"}


@callback(
    Output(ids.TASK_MITIGATION_TABLE, "rowData"), Output(ids.TASK_MITIGATION_TABLE, "columnDefs"),
    Output(ids.TASK_MITIGATION_TEXT, "children"), Output(ids.TASK_MITIGATION_DOWNLOADS, "style"),
    Output(ids.TASK_MITIGATION_CANDIDATE_DROPDOWN, "options"),
    Output(ids.TASK_MITIGATION_CANDIDATE_DROPDOWN, "value"),
    Input(ids.TASK_MITIGATION_BUTTON, "n_clicks"), State(ids.TASK_CHOICES_STORE, "data"),
    State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"), prevent_initial_call=True,
)
def on_compare_mitigations(n_clicks, choices, state, token):
    """Compare the mitigations: the session's model refitted on one split, or the listing-price scenario's.
    The session's candidates can then be downloaded (model file, test predictions)."""
    if not n_clicks:
        return (no_update,) * 6
    hidden = (HIDDEN, [], None)
    if _is_listing_scenario(state) and (choices or {}).get("prediction"):
        result = get_store().cached(("listing-mitigations", VERSION), compare_mitigations)
        return (mitigation_rows(result.table, _MITIGATION_NAMES), mitigation_columns(),
                "The listing-price scenario: the price model refitted on last year's listings, audited on this "
                "year's.", *hidden)
    if not choices:
        return [], mitigation_columns(), "Run the audit first (with the model uploaded on Data & model).", *hidden
    try:
        comparison = task_workspace.task_mitigations_for(get_store(), token, state, choices,
                                                         trust_pickle=settings().trust_pickle)
    except AuditInputError as exc:
        return [], mitigation_columns(), str(exc), *hidden
    trained = [name for name in comparison.table.index if name in comparison.predictions]
    options = [{"label": _MITIGATION_NAMES.get(name, name), "value": name} for name in trained]
    return (mitigation_rows(comparison.table, _MITIGATION_NAMES, task=comparison.task, errors=comparison.errors),
            mitigation_columns(comparison.task), " ".join(comparison.notes), SHOWN if options else HIDDEN, options,
            options[0]["value"] if options else None)


@callback(
    Output(ids.TASK_MITIGATION_MODEL_DOWNLOAD, "data"), Output(ids.TASK_MITIGATION_PREDICTIONS_DOWNLOAD, "data"),
    Output(ids.TASK_MITIGATION_DOWNLOAD_ALERT, "children"),
    Input(ids.TASK_MITIGATION_MODEL_BUTTON, "n_clicks"), Input(ids.TASK_MITIGATION_PREDICTIONS_BUTTON, "n_clicks"),
    State(ids.TASK_MITIGATION_CANDIDATE_DROPDOWN, "value"), State(ids.TASK_CHOICES_STORE, "data"),
    State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"), prevent_initial_call=True,
)
def download_task_file(model_clicks, predictions_clicks, name, choices, state, token, *, what=None):
    """The chosen candidate's model file (skops) or test predictions (CSV: row, group, outcome, prediction),
    by the button pressed."""
    from dash import ctx

    what = what or ("model" if ctx.triggered_id == ids.TASK_MITIGATION_MODEL_BUTTON else "predictions")
    if not name or not choices:
        return no_update, no_update, error_alert("Compare the mitigations first, then choose a candidate.")
    try:
        content, filename = task_workspace.task_mitigation_file(get_store(), token, state, choices, name, what,
                                                                trust_pickle=settings().trust_pickle)
    except AuditInputError as exc:
        return no_update, no_update, error_alert(str(exc))
    sent = dcc.send_bytes(content, filename)
    return (sent, no_update, None) if what == "model" else (no_update, sent, None)


def _is_listing_scenario(state) -> bool:
    return bool(state) and state.get("dataset") == install_listing_prices(get_store())


@callback(
    Output(ids.TASK_EXPLAIN_CLASS_DROPDOWN, "options"), Output(ids.TASK_EXPLAIN_CLASS_DROPDOWN, "value"),
    Output(ids.TASK_EXPLAIN_CLASS_FIELD, "style"),
    Input(ids.TASK_CHOICES_STORE, "data"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_explain_classes(choices, state, token):
    """A multiclass model's classes to choose from (none chosen for the user: each is explained on its own)."""
    if not choices:
        return [], None, HIDDEN
    try:
        audit = _audit(token, state, choices)
    except AuditInputError:
        return [], None, HIDDEN
    if audit.task != "multiclass":
        return [], None, HIDDEN
    classes = list(audit.result.groupings[0].classes)
    return [{"label": c, "value": c} for c in classes], None, SHOWN


EXPLAIN_OUTPUTS = dict(text=Output(ids.TASK_EXPLAIN_TEXT, "children"),
                       importance=Output(ids.TASK_IMPORTANCE_GRAPH, "figure"),
                       gaps=Output(ids.TASK_GAP_GROUP_DROPDOWN, "options"),
                       gap=Output(ids.TASK_GAP_GROUP_DROPDOWN, "value"),
                       area=Output(ids.TASK_EXPLAIN_AREA, "style"))


@callback(
    output=EXPLAIN_OUTPUTS,
    inputs=dict(n_clicks=Input(ids.TASK_EXPLAIN_BUTTON, "n_clicks"),
                target_class=State(ids.TASK_EXPLAIN_CLASS_DROPDOWN, "value"),
                choices=State(ids.TASK_CHOICES_STORE, "data"), state=State(ids.STATE_STORE, "data"),
                token=State(ids.SESSION_STORE, "data")),
    prevent_initial_call=True,
)
def on_explain_task_model(n_clicks, target_class, choices, state, token):
    """Explain the session's model: importance by group, and the gaps' parts (SHAP values)."""
    if not n_clicks:
        return dict.fromkeys(EXPLAIN_OUTPUTS, no_update)
    try:
        if not choices:
            raise AuditInputError("Run the audit first (with the model uploaded on Data & model).")
        explanation = task_workspace.task_explanation_for(get_store(), token, state, choices, target_class,
                                                          trust_pickle=settings().trust_pickle)
    except AuditInputError as exc:
        return dict(text=str(exc), importance=empty_figure("Nothing explained yet."), gaps=[], gap=None, area=HIDDEN)
    first = explanation.gaps[0].grouping if explanation.gaps else None
    options = [{"label": f"{g.group} against {g.reference} ({' × '.join(g.grouping)})", "value": i}
               for i, g in enumerate(explanation.gaps)]
    grouping = " × ".join(first) if first else None
    sample = explanation.sample
    text = (f"Explained {sample.n_rows:,} of {int(sample.cell_sizes.sum()):,} rows with the "
            f"{explanation.shap.method} explainer, in the {explanation.shap.output_label}. "
            + " ".join(n for n in explanation.notices if not n.startswith("Task:")))
    return dict(text=text, importance=importance_figure(explanation, grouping=grouping), gaps=options,
                gap=0 if options else None, area=SHOWN)


@callback(
    Output(ids.TASK_GAP_GRAPH, "figure"),
    Input(ids.TASK_GAP_GROUP_DROPDOWN, "value"), State(ids.TASK_EXPLAIN_CLASS_DROPDOWN, "value"),
    State(ids.TASK_CHOICES_STORE, "data"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
    prevent_initial_call=True,
)
def show_task_gap(index, target_class, choices, state, token):
    """One group's gap against its reference, split into the columns' parts."""
    if index is None or not choices:
        return empty_figure("Explain the model to see what makes up each gap.")
    try:
        explanation = task_workspace.task_explanation_for(get_store(), token, state, choices, target_class,
                                                          trust_pickle=settings().trust_pickle)
        return gap_waterfall_figure(explanation.gaps[int(index)])
    except (AuditInputError, IndexError):
        return empty_figure("Explain the model to see what makes up each gap.")
