"""Audits computed in the low-priority helper process land in the shared cache."""

import numpy as np
import pandas as pd
import pytest

from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec
from auditapp.service import workspace
from auditapp.service.audit_helper import audit_in_helper
from auditapp.service.config import Settings
from auditapp.service.store import ArtifactStore


def test_the_helper_computes_and_caches_and_passes_mistakes_back(tmp_path, monkeypatch):
    settings = Settings(data_dir=str(tmp_path), audit_helper=True)
    store = ArtifactStore(tmp_path)
    token = store.new_session()
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"y": rng.integers(0, 2, 300), "s": rng.random(300), "g": rng.choice(["a", "b"], 300)})
    info = store.put(token, frame.to_csv(index=False).encode(), kind="dataset", name="d.csv")
    state = {"dataset": info.id, "model": None,
             "spec": AuditSpec(target="y", score="s", sensitive=("g",), n_boot=50).to_dict()}
    key = ("audit", *workspace.state_key(store, token, state))
    assert store.peek(key) is None
    assert audit_in_helper(token, state, settings=settings, timeout=120) is True
    cached = ArtifactStore(tmp_path).peek(key)  # a fresh store: read from the shared disk cache
    assert cached is not None and cached.result.n_rows == 300
    bad = dict(state, spec=AuditSpec(target="y", score="s", sensitive=("missing",)).to_dict())
    with pytest.raises(AuditInputError, match="'missing'"):
        audit_in_helper(token, bad, settings=settings, timeout=120)


def test_daemonic_workers_compute_themselves(monkeypatch):
    import multiprocessing

    monkeypatch.setattr(multiprocessing.current_process(), "daemon", True, raising=False)
    assert audit_in_helper("token", {}, settings=Settings(data_dir="unused"), timeout=1) is False


def test_the_helper_starts_ahead_of_the_first_audit_at_low_priority():
    import os

    from auditapp.service.audit_helper import NICENESS, start_helper

    pid = start_helper(Settings(data_dir="unused", audit_helper=True)).result(timeout=120)
    assert pid != os.getpid()
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + NICENESS)
    assert start_helper(Settings(data_dir="unused", audit_helper=False)) is None
