"""Other pages' cached results become report sections; nothing is computed for the report."""

from auditapp.feedback.runner import run_simulation
from auditapp.service.report_pages import page_sections
from auditapp.service.store import ArtifactStore


def _drawn(section) -> str:
    return section.render(lambda fig, div_id: f'<div id="{div_id}"></div>')


def test_a_cached_simulation_becomes_a_report_section_with_its_summary(tmp_path):
    store = ArtifactStore(tmp_path)
    token = store.new_session()
    keys = [["feedback", "policing", {"steps": 200, "runs": 3, "corrected": c}, 0] for c in (False, True)]
    results = [store.cached(tuple(k), lambda c=c: run_simulation(
        "policing", {"steps": 200, "runs": 3, "corrected": c}, seed=0), token=token)
        for k, c in zip(keys, (False, True), strict=True)]
    run = {"feedback": {"scenario": "policing", "keys": keys, "titles": ["Without", "With"]}}
    sections = page_sections(store, token, {}, run)
    assert [s.anchor for s in sections] == ["explanations", "mitigations", "feedback", "compliance"]
    assert [s.ran for s in sections] == [False, False, True, False]
    text = _drawn(sections[2])
    assert "<h2>Feedback loops</h2>" in text and "<h3>Without</h3>" in text and "<h3>With</h3>" in text
    final = results[0].summary["final_mean_share"][0]
    assert f"{final:.1%}" in text and "True share of incidents" in text
    assert "Not run in this session" in _drawn(sections[0])
    # Another session that copies the keys (they are printed in the report) gets no section.
    assert not any(s.ran for s in page_sections(store, store.new_session(), {}, run))


def test_results_that_are_not_cached_or_not_simulations_are_left_out(tmp_path):
    store = ArtifactStore(tmp_path)
    token = store.new_session()
    store.cached(("secret", 1), lambda: "not a simulation")
    results = {"feedback": {"keys": [["feedback", "never run"], ["secret", 1], "junk"]},
               "explain": {"rows_per_group": 300, "seed": 0}, "mitigation": {"constraint": "demographic_parity"}}
    assert not any(s.ran for s in page_sections(store, token, {"dataset": None}, results))
    assert not any(s.ran for s in page_sections(store, token, {}, None))
