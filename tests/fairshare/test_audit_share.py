"""Finding 4: one user's heavy audit no longer holds back everyone's new audits, and abandoned audits stop.

The finding's audit (3 sensitive features, 20,000 bootstrap replicates) is cheap since intervals come
from counts; the heavy audit here is the heaviest kind the default caps allow (``tests.heavy_audit``:
six sensitive features, 49,140 pairs of groups compared, about half a minute of one core).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import psutil
import pytest

from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec
from auditapp.core.workload import WorkLimitError
from auditapp.service import audit_helper, workspace
from auditapp.service.audit_queue import (
    ABANDONED,
    CANCELLED,
    audit_queue,
    audit_status,
    cancel_audits,
    compute_fairly,
)
from auditapp.service.config import Settings
from auditapp.service.slots import WorkCancelledError
from auditapp.service.store import ArtifactStore
from tests.heavy_audit import HEAVY_FEATURES, heavy_frame
from tests.waiting import wait_for


def small_frame(n: int = 1_000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = rng.random(n).round(4)
    return pd.DataFrame({"sex": rng.choice(["f", "m"], n), "score": score, "y": (rng.random(n) < score).astype(int)})


def _state(store, token, frame, sensitive, n_boot):
    info = store.put(token, frame.to_csv(index=False).encode(), kind="dataset", name="d.csv")
    spec = AuditSpec(target="y", sensitive=sensitive, score="score", threshold=0.5, n_boot=n_boot)
    return {"dataset": info.id, "model": None, "spec": spec.to_dict()}


@pytest.fixture
def server(tmp_path, use_settings):
    """A data directory as a server's web processes share it, with the default caps (2 audits, 1 per session)."""
    settings = use_settings(data_dir=str(tmp_path), audit_helper=True, job_time_limit=600)
    return settings, ArtifactStore(tmp_path, redis_url="")



def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _start_heavy(settings, store, token, state, **options):
    outcome = {}

    def run():
        try:
            compute_fairly(store, token, state, settings=settings, **options)
            outcome["done"] = True
        except AuditInputError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    wait_for(lambda: audit_status(settings, store, token) == "Your audit is running." and audit_helper.busy_helpers(),
              what="the heavy audit starting")
    return thread, outcome


def test_a_heavy_audit_leaves_room_for_others_and_stops_when_abandoned(server):
    settings, store = server
    heavy_token = store.new_session()
    heavy = _state(store, heavy_token, heavy_frame(), HEAVY_FEATURES, 20_000)
    abandoned = threading.Event()
    thread, outcome = _start_heavy(settings, store, heavy_token, heavy, abandoned=abandoned.is_set)
    [heavy_pid] = audit_helper.busy_helpers()

    # four other sessions' small audits, at once: each finishes while the heavy one still runs
    others = [store.new_session() for _ in range(4)]
    states = [_state(store, t, small_frame(seed=i), ("sex",), 200) for i, t in enumerate(others)]
    errors = []
    started = time.monotonic()
    threads = [threading.Thread(target=lambda t=t, s=s: errors.append(
        compute_fairly(store, t, s, settings=settings) is not True)) for t, s in zip(others, states, strict=True)]
    for small in threads:
        small.start()
    for small in threads:
        small.join(60)
    waited = time.monotonic() - started
    assert errors == [False] * 4
    for token, state in zip(others, states, strict=True):
        assert store.peek(("audit", *workspace.state_key(store, token, state))) is not None
    assert thread.is_alive() and audit_status(settings, store, heavy_token) == "Your audit is running."
    assert waited < 45, f"the small audits took {waited:.1f} s behind the heavy one"

    abandoned.set()  # the heavy audit's request is abandoned: its helper is killed, its slot freed
    thread.join(10)
    assert not thread.is_alive()
    assert isinstance(outcome["error"], WorkCancelledError) and str(outcome["error"]) == ABANDONED
    wait_for(lambda: _gone(heavy_pid), timeout=10, what="the heavy audit's helper ending")
    assert audit_queue(settings).counts() == {"running": 0, "waiting": 0}
    assert store.peek(("audit", *workspace.state_key(store, heavy_token, heavy))) is None


def test_a_session_cancels_its_running_audit_and_the_time_limit_stops_another(server):
    settings, store = server
    token = store.new_session()
    heavy = _state(store, token, heavy_frame(seed=2), HEAVY_FEATURES, 20_000)
    thread, outcome = _start_heavy(settings, store, token, heavy)
    [pid] = audit_helper.busy_helpers()
    assert cancel_audits(settings, store, token) == 1
    thread.join(10)
    assert str(outcome["error"]) == CANCELLED
    wait_for(lambda: _gone(pid), timeout=10, what="the cancelled audit's helper ending")
    assert audit_status(settings, store, token) is None

    quick = Settings(data_dir=settings.data_dir, audit_helper=True, job_time_limit=1)
    started = time.monotonic()
    with pytest.raises(AuditInputError, match="The audit ran longer than this server's limit of 1 seconds"):
        compute_fairly(store, token, heavy, settings=quick)
    assert time.monotonic() - started < 15
    assert audit_helper.busy_helpers() == []
    assert audit_queue(settings).counts() == {"running": 0, "waiting": 0}


def test_the_server_refuses_an_audit_above_its_caps_with_the_numbers_and_what_to_do(server):
    settings, store = server
    token = store.new_session()
    frame = heavy_frame(seed=3)
    frame["age"] = np.random.default_rng(99).integers(18, 48, len(frame)).astype(str)  # 30 ages
    intersections = len(frame[["region", "age"]].drop_duplicates())
    assert intersections > 1_000
    with pytest.raises(WorkLimitError) as refused:
        compute_fairly(store, token, _state(store, token, frame, ("region", "age"), 1000), settings=settings)
    assert str(refused.value) == (
        f"The sensitive features region and age have {intersections:,} intersections in these 20,000 rows; this "
        "server audits at most 1,000 (AUDITAPP_MAX_INTERSECTIONS). Bin numeric features (e.g. age into "
        "quartiles), merge rare values, or choose fewer sensitive features; the command line (auditapp audit "
        "--no-work-limit) can run it on your own machine.")
    assert audit_queue(settings).counts() == {"running": 0, "waiting": 0}  # the refusal freed its slot
