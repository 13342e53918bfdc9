"""The hiring scenario's model in the loop: selective labels keep the gap that full information closes."""

import pytest

from auditapp.feedback.model_loop import simulate_model_loop
from auditapp.inputs.models import load_model
from auditapp.service.feedback_presets import (
    CONTROLS,
    SEED_CONTROL,
    loop_setup,
    model_loop_params,
    read_controls,
)
from auditapp.service.scenarios import install_scenario, scenario_folder, scenario_loop
from auditapp.service.store import ArtifactStore
from auditapp.service.workspace import load_dataset
from datasets import hiring


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    store = ArtifactStore(tmp_path_factory.mktemp("store"))
    token = store.new_session()
    ids = install_scenario(store, "hiring")
    frame = load_dataset(store, token, ids["dataset"]).frame
    model = load_model(scenario_folder(store, "hiring") / hiring.MODEL_FILE)
    return store, token, ids, frame, model


def test_the_demo_model_never_saw_the_audited_rows(demo):
    store, token, ids, frame, _model = demo
    train = load_dataset(store, token, ids["train"]).frame
    assert len(frame) == len(train) == 5000
    assert not set(frame["applicant_id"]) & set(train["applicant_id"])


def test_default_loop_keeps_a_gap_that_full_information_closes(demo):
    store, token, ids, frame, model = demo
    scenario = scenario_loop(store, token, ids["dataset"])
    assert scenario.outcome == "performed_well" and len(scenario.history) == 5000
    setup = loop_setup(frame, exclude=("hired", "sex", "ethnicity", "performed_well"), model=model,
                       scenario=scenario, target="hired")
    assert setup.outcomes[0] == "performed_well" and "past decisions" in setup.note
    raw = {c.name: c.default for c in (*CONTROLS["model-loop"], SEED_CONTROL)}
    raw.update(sensitive="sex", outcome=setup.outcomes[0], rounds=8)
    values = read_controls("model-loop", raw)
    assert values["pool_size"] == 1000 and values["exploration"] == 0
    params = model_loop_params(values, setup, frame, target="hired", favorable=1)
    assert params.target == "performed_well" and params.history is scenario.history
    result = simulate_model_loop(params, seed=0)
    loop, full = (result.series_wide(f"{w}_selection_gap")["(all)"] for w in ("loop", "counterfactual"))
    # Full information learns that women perform as well and closes the gap; the loop never finds out.
    assert loop.iloc[-3:].mean() > full.iloc[-3:].mean() + 0.05
    assert result.summary["loop_mean_selection_gap"] > result.summary["counterfactual_mean_selection_gap"]
    assert any("keeps a gap that full information would shrink" in line for line in result.narrative)


def test_an_uploaded_dataset_has_no_scenario_loop(demo):
    store, token, _ids, _frame, _model = demo
    assert scenario_loop(store, token, "abc123") is None
