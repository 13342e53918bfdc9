"""What one session uploads or computes stays its own, even when results are cached by content."""

from __future__ import annotations

import pytest

import callbacks.data as data_page
from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec
from auditapp.service import workspace
from tests.callbacks.wiring import use_store

SECRET_NAME = "acme_confidential_layoffs_2026.csv"


def _texts(node) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, (list, tuple)):
        return " ".join(_texts(n) for n in node)
    return _texts(getattr(node, "children", None) or "")


def test_the_same_bytes_uploaded_under_another_name_show_that_name(upload, store, frame, monkeypatch):
    use_store(monkeypatch, store)
    content = frame.to_csv(index=False).encode()
    first, second = store.new_session(), store.new_session()
    _, mine = upload("dataset", SECRET_NAME, content, session=first)
    _, theirs = upload("dataset", "q3_sample.csv", content, session=second)
    assert mine["id"] == theirs["id"]  # stored and parsed once, by content
    assert workspace.load_dataset(store, second, theirs["id"]).name == "q3_sample.csv"
    assert workspace.load_dataset(store, first, mine["id"]).name == SECRET_NAME
    state, _ = workspace.state_for_dataset(store, second, None, theirs["id"])
    status = _texts(data_page.show_dataset(state, second)["dataset"])
    assert "q3_sample.csv" in status and SECRET_NAME not in status


def test_notices_name_the_sessions_own_file(upload, store):
    content = "sex,y\nf,1\nm,0\nf,0\n".encode("utf-16")
    first, second = store.new_session(), store.new_session()
    _, mine = upload("dataset", SECRET_NAME, content, session=first)
    _, theirs = upload("dataset", "export.csv", content, session=second)
    assert theirs["notices"] == ["export.csv is UTF-16; read it as UTF-16."]
    dataset = workspace.load_dataset(store, second, theirs["id"])
    assert dataset.notices == ("export.csv is UTF-16; read it as UTF-16.",)
    assert workspace.load_dataset(store, first, mine["id"]).notices == (f"{SECRET_NAME} is UTF-16; read it as UTF-16.",)


def test_another_session_cannot_replay_an_audit_from_its_printed_hashes(upload, store, frame):
    owner, other = store.new_session(), store.new_session()
    _, body = upload("dataset", "mine.csv", frame.to_csv(index=False).encode(), session=owner)
    state = {"dataset": body["id"], "model": None,
             "spec": {"target": "y", "favorable": 1, "prediction": "pred", "sensitive": ["sex"],
                      "n_boot": 0, "min_group_size": 5}}
    state["spec"] = AuditSpec.from_dict(state["spec"]).to_dict()
    assert workspace.audit_for(store, owner, state).result.n_rows == len(frame)
    with pytest.raises(AuditInputError, match="not available in this session"):
        workspace.audit_for(store, other, state)  # the dataset id is the sha256 printed in the report
