"""Other pages' cached results become report sections; nothing is computed for the report."""

from auditapp.feedback.runner import run_simulation
from auditapp.report_pages import page_figures
from auditapp.store import ArtifactStore


def test_a_cached_simulation_becomes_a_report_section(tmp_path):
    store = ArtifactStore(tmp_path)
    token = store.new_session()
    key = ["feedback", "policing", {"steps": 200, "runs": 3}, 0]
    result = store.cached(tuple(key), lambda: run_simulation("policing", {"steps": 200, "runs": 3}, seed=0),
                          token=token)
    results = {"feedback": {"scenario": "policing", "keys": [key]}}
    sections = page_figures(store, token, {}, results)
    assert list(sections) == ["Feedback loops"]
    assert len(sections["Feedback loops"]) == 1
    assert result.scenario == "policing"
    # Another session that copies the keys (they are printed in the report) gets no section.
    assert page_figures(store, store.new_session(), {}, results) == {}


def test_results_that_are_not_cached_or_not_simulations_are_left_out(tmp_path):
    store = ArtifactStore(tmp_path)
    token = store.new_session()
    store.cached(("secret", 1), lambda: "not a simulation")
    results = {"feedback": {"keys": [["feedback", "never run"], ["secret", 1], "junk"]},
               "explain": {"rows_per_group": 300, "seed": 0}, "mitigation": {"constraint": "demographic_parity"}}
    assert page_figures(store, token, {"dataset": None}, results) == {}
    assert page_figures(store, token, {}, None) == {}
