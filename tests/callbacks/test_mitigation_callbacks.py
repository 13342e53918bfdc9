"""Mitigation page: the glue in auditapp.service.mitigation_jobs and the callbacks, called directly on a tiny store."""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
import pytest
from dash import no_update

from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec
from auditapp.inputs.models import load_model, save_skops
from auditapp.service import mitigation_jobs as jobs
from auditapp.service.store import ArtifactStore
from tests.callbacks.wiring import use_store

CHOSEN = ["threshold_optimizer", "baseline", "reweighing"]


def _applicants(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], size=n)
    years = rng.integers(0, 20, size=n)
    club = (sex == "female") & (rng.random(n) < 0.7)
    logit = 0.25 * years - 2.0 + 1.2 * (sex == "male")
    hired = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"years": years, "club": club.astype(int), "degree": rng.choice(["bsc", "msc"], size=n),
                         "sex": sex, "hired": hired})


@pytest.fixture(scope="module")
def workspace_files(tmp_path_factory):
    """A store holding a small applicants table and a logistic-regression pipeline trained on it."""
    from auditapp.mitigation.learners import default_learner

    root = tmp_path_factory.mktemp("store")
    store = ArtifactStore(root, secret=b"k" * 32)
    token = store.new_session()
    frame = _applicants(900, seed=4)
    features = ["years", "club", "degree"]
    model = default_learner(frame, features).fit(frame[features], frame["hired"])
    save_skops(model, root / "screening.skops")
    data = store.put(token, frame.to_csv(index=False).encode(), kind="dataset", name="applicants.csv")
    model_info = store.put(token, (root / "screening.skops").read_bytes(), kind="model", name="screening.skops")
    spec = AuditSpec(target="hired", favorable=1, sensitive=("sex",), reference={"sex": "male"},
                     min_group_size=5, n_boot=60, seed=2)
    state = {"dataset": data.id, "model": model_info.id, "spec": spec.to_dict()}
    return store, token, state, frame


@pytest.fixture
def page(monkeypatch, workspace_files):
    """The callbacks module wired to the tiny store, one candidate at a time (no process pool in tests)."""
    from callbacks import mitigation

    store = workspace_files[0]
    use_store(monkeypatch, store)
    monkeypatch.setattr(mitigation, "N_JOBS", 1)
    return mitigation


@pytest.fixture(scope="module")
def ran(workspace_files):
    """The comparison of three candidates, run once through the callback and cached in the store."""
    from callbacks import mitigation

    store, token, state, _frame = workspace_files
    published = []
    with pytest.MonkeyPatch.context() as patch:
        use_store(patch, store)
        patch.setattr(mitigation, "N_JOBS", 1)
        choice, alert = mitigation.on_run_comparison(published.append, 1, "demographic_parity", CHOSEN, None, state,
                                                     token)
    comparison = jobs.cached_comparison(store, token, state, constraint="demographic_parity", candidates=CHOSEN)
    return choice, alert, published, comparison


def _statuses(progress) -> list[str]:
    return [item.to_plotly_json()["props"]["data-status"] for item in progress[2].children]


def test_run_reports_progress_from_queued_to_done_and_stores_only_choices(ran):
    choice, alert, published, comparison = ran
    assert alert is None
    assert choice == {"constraint": "demographic_parity", "candidates": ["baseline", "reweighing",
                                                                         "threshold_optimizer"],
                      "grouping": ["sex"], "run": 1}
    assert published[0][0] == 0 and _statuses(published[0]) == ["queued"] * 3
    assert "running" in _statuses(published[1])
    assert published[-1][0] == 100 and published[-1][1] == "3 of 3 finished"
    assert _statuses(published[-1]) == ["done"] * 3
    assert [c.name for c in comparison.candidates] == choice["candidates"]


def test_results_table_and_text_show_the_engines_numbers(page, ran, workspace_files):
    _store, token, state, _frame = workspace_files
    choice, _alert, _published, comparison = ran
    out = page.show_mitigation_results(choice, state, token)
    style, figure, text, rows, columns = (out[k] for k in ("results", "tradeoff", "tradeoff_text", "rows", "columns"))
    options, value, groups_text, group_rows = (out[k] for k in ("candidates", "candidate", "groups_text", "group_rows"))
    assert style == {"display": "block"}
    assert [r["name"] for r in rows] == ["baseline", "reweighing", "threshold_optimizer"]
    for row in rows:
        result = comparison.candidate(row["name"])
        assert row["accuracy"] == pytest.approx(result.accuracy.value)
        assert row["disparity"] == pytest.approx(result.disparity.value)
        assert row["accuracy_text"].startswith(f"{100 * result.accuracy.value:.1f}% [")
    assert rows[2]["needs_sensitive"] == "yes" and rows[1]["needs_sensitive"] == "no"
    assert {c["field"] for c in columns} >= {"accuracy", "disparity", "fit_seconds", "needs_sensitive", "notes"}
    assert value == jobs.recommended_candidate(comparison) and value in comparison.pareto
    assert comparison.candidate(value).family != "baseline"
    assert [o["value"] for o in options] == choice["candidates"]
    sizes = comparison.group_sizes.table
    assert [r["test_rows"] for r in group_rows] == sizes["test_rows"].tolist()
    assert sum(r["test_rows"] for r in group_rows) == comparison.split.test_rows
    assert "Groups of sex:" in groups_text
    baseline = comparison.candidate("baseline")
    assert f"{baseline.disparity.value:.3f}" in " ".join(li.children for li in text)
    assert len(figure.data) >= 2


def test_results_stay_hidden_for_another_state_or_no_run(page, ran, workspace_files):
    _store, token, state, _frame = workspace_files
    choice = ran[0]
    other = dict(state, spec=dict(state["spec"], seed=99))
    assert page.show_grouping_choices(state, choice) == ([{"label": "sex", "value": "sex"}], "sex")
    assert page.show_mitigation_results(choice, other, token)["results"] == {"display": "none"}
    assert page.show_mitigation_results(None, state, token)["results"] == {"display": "none"}


def test_downloaded_model_loads_through_intake_and_reproduces_the_predictions(page, ran, workspace_files):
    _store, token, state, frame = workspace_files
    choice, _alert, _published, comparison = ran
    download, alert = page.on_download_model(1, "reweighing", choice, state, token)
    assert alert is None and download["filename"] == "reweighing.skops"
    model = load_model(base64.b64decode(download["content"]), filename=download["filename"])
    test = frame.iloc[comparison.split.test_positions]
    predicted = np.asarray(model.predict(test[list(model.feature_names)])).astype(int)
    np.testing.assert_array_equal(predicted, comparison.candidate("reweighing").y_pred)


def test_downloaded_predictions_csv_has_one_row_per_test_row(page, ran, workspace_files):
    _store, token, state, _frame = workspace_files
    choice, _alert, _published, comparison = ran
    download, alert = page.on_download_predictions(1, "threshold_optimizer", choice, state, token)
    table = pd.read_csv(io.BytesIO(base64.b64decode(download["content"])))
    assert alert is None and len(table) == comparison.split.test_rows
    np.testing.assert_array_equal(table["prediction"], comparison.candidate("threshold_optimizer").y_pred)
    assert page.on_download_model(None, "baseline", choice, state, token) == (no_update, no_update)


def test_candidate_detail_names_the_sensitive_attribute_need(page, ran, workspace_files):
    _store, token, state, _frame = workspace_files
    choice = ran[0]
    figure, text, model_disabled, csv_disabled = page.show_candidate("threshold_optimizer", choice, state, token)
    assert "Needs the sensitive attribute" in " ".join(li.children for li in text)
    assert not model_disabled and not csv_disabled
    assert len(figure.data) == 3


def test_setup_offers_defaults_and_disables_what_does_not_apply(page, workspace_files):
    _store, token, state, _frame = workspace_files
    context, help_text, options, value, alert = page.show_mitigation_setup(state, "error_rate_parity", "sex", None, token)
    disabled = {o["value"] for o in options if o["disabled"]}
    assert disabled == {"threshold_optimizer"} and "threshold_optimizer" not in value
    assert "baseline_refit" in value and "900 rows" in context and alert is None
    assert help_text == jobs.CONSTRAINT_TEXT["error_rate_parity"]
    saved = {"constraint": "equalized_odds", "candidates": ["baseline", "grid_search"]}
    assert page.show_mitigation_setup(state, "equalized_odds", "sex", saved, token)[3] == ["baseline", "grid_search"]
    assert "groups: sex" in context


def test_setup_without_a_dataset_says_what_to_do(page, workspace_files):
    token = workspace_files[1]
    *_rest, alert = page.show_mitigation_setup(None, "demographic_parity", None, None, token)
    assert "Data & model" in str(alert.to_plotly_json())


def test_run_without_candidates_shows_an_error(page, workspace_files):
    _store, token, state, _frame = workspace_files
    choice, alert = page.on_run_comparison(lambda _v: None, 1, "demographic_parity", [], None, state, token)
    assert choice is no_update and "No candidate is ticked" in str(alert.to_plotly_json())


def test_cancel_says_nothing_was_kept(page):
    assert page.on_cancel(None) is no_update
    assert "Cancelled" in str(page.on_cancel(1).to_plotly_json())


def test_chosen_candidates_use_engine_order_and_reject_bad_names():
    assert jobs.chosen_candidates(["threshold_optimizer", "baseline"]) == ("baseline", "threshold_optimizer")
    with pytest.raises(AuditInputError, match="Unknown candidate"):
        jobs.chosen_candidates(["baseline", "magic"])
    with pytest.raises(AuditInputError, match="No candidate is ticked"):
        jobs.chosen_candidates([])


def test_comparison_key_needs_a_dataset(workspace_files):
    store, token, _state, _frame = workspace_files
    with pytest.raises(AuditInputError, match="No dataset yet"):
        jobs.comparison_key(store, token, {}, constraint="demographic_parity", candidates=["baseline"])


def test_cache_hit_does_not_rerun_and_cancelled_runs_are_not_cached(ran, workspace_files):
    store, token, state, _frame = workspace_files
    calls = []
    again = jobs.run_comparison(store, token, state, constraint="demographic_parity", candidates=CHOSEN,
                                on_progress=lambda *a: calls.append(a))
    assert calls == [] and again.split.test_rows_sha256 == ran[3].split.test_rows_sha256
    stopped = jobs.run_comparison(store, token, state, constraint="equalized_odds", candidates=["baseline"],
                                  should_stop=lambda: True)
    assert stopped.cancelled == ("baseline",) and stopped.candidates == ()
    assert jobs.cached_comparison(store, token, state, constraint="equalized_odds", candidates=["baseline"]) is None


def test_progress_board_counts_finished_and_keeps_errors():
    seen = []
    board = jobs.ProgressBoard(["baseline", "grid_search"], publish=lambda b: seen.append(b.percent))

    class Failed:
        error = "ValueError: boom"

    board("grid_search", "running")
    board("grid_search", "failed", Failed())
    assert seen == [0, 50] and board.statuses[1].message == "ValueError: boom"
    board("baseline", "cancelled")
    assert board.percent == 100 and board.finished == 2


def test_tradeoff_summary_compares_baseline_with_fairest_pareto_candidate(ran):
    comparison = ran[3]
    lines = jobs.tradeoff_summary(comparison)
    base = comparison.candidate("baseline")
    best = comparison.candidate(jobs.recommended_candidate(comparison))
    assert lines[0].startswith("Groups of sex:")
    assert lines[1].startswith(f"{base.title}: accuracy {100 * base.accuracy.value:.1f}%")
    assert any(f"Recommended: {best.title}" in line and f"{best.disparity.value:.3f}" in line for line in lines)
    mitigations = [n for n in comparison.pareto if comparison.candidate(n).family != "baseline"]
    assert all(best.disparity.value <= comparison.candidate(n).disparity.value for n in mitigations)


def test_learner_notes_say_when_a_default_learner_replaced_the_model(workspace_files):
    store, token, state, _frame = workspace_files
    no_model = dict(state, model=None, spec=dict(state["spec"], prediction="club"))
    comparison = jobs.run_comparison(store, token, no_model, constraint="demographic_parity",
                                     candidates=["baseline", "reweighing"])
    notes = jobs.learner_notes(comparison)
    assert len(notes) == 1 and notes[0].startswith("Reweighing") and "cannot be refitted" in notes[0]
    with pytest.raises(AuditInputError, match="no scikit-learn model"):
        jobs.model_file(comparison, "baseline")
