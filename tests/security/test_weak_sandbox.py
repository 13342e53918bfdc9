"""Without bubblewrap: said at start-up and on the Data & model page, model uploads refused, unless the
operator opts in; then models run with what the platform allows (no network, limits, empty environment)."""

from __future__ import annotations

import logging
import socket

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sandbox_probes import model_reporting
from sklearn.linear_model import LogisticRegression

from auditapp.inputs import sandbox
from auditapp.inputs.models import load_model


@pytest.fixture
def no_bubblewrap(use_limits):
    """A server without bubblewrap; ``no_bubblewrap(allow_weak=True)``: its operator accepts weak isolation."""

    def install(allow_weak: bool = False):
        use_limits(sandbox_bwrap="/nonexistent/bwrap", allow_weak_sandbox=allow_weak)

    install()
    return install


@pytest.fixture
def model_bytes():
    frame = pd.DataFrame({"x": np.linspace(-1, 1, 30)})
    return sio.dumps(LogisticRegression().fit(frame, np.arange(30) % 2)), frame


def test_start_up_says_so_and_model_uploads_are_refused(no_bubblewrap, upload, answers_normally, model_bytes,
                                                        caplog):
    from callbacks.data import show_sandbox_note

    with caplog.at_level(logging.WARNING, logger="auditapp.inputs.sandbox"):
        note = sandbox.announce()
    assert "cannot sandbox model files" in note and "bubblewrap (/nonexistent/bwrap) is not installed" in note
    assert note in caplog.text
    assert note in str(show_sandbox_note("data-sandbox-note"))
    status, body = upload("model", "model.skops", model_bytes[0])
    assert status == 200 and "this server cannot isolate model files" in body["error"]
    assert "AUDITAPP_ALLOW_WEAK_SANDBOX=1" in body["error"]
    assert sandbox.default_pool().processes() == []
    answers_normally()


def test_with_bubblewrap_nothing_is_shown():
    from callbacks.data import show_sandbox_note

    if not sandbox.current_mode().strong:
        pytest.skip("needs bubblewrap")
    assert sandbox.startup_note() is None and show_sandbox_note("data-sandbox-note") is None
    assert sandbox.announce().startswith("Model files run in a sandbox: strong")


def test_the_operator_can_accept_weak_isolation(no_bubblewrap, model_bytes):
    no_bubblewrap(allow_weak=True)
    mode = sandbox.current_mode()
    assert not mode.strong and "weak" in sandbox.startup_note()
    data, frame = model_bytes
    model = load_model(data, filename="lr.skops")
    np.testing.assert_allclose(model.predict_proba(frame), sio.loads(data, trusted=[]).predict_proba(frame))
    listener = socket.create_server(("127.0.0.1", 0))
    probe = f"""
import os, socket
report = []
try:
    socket.create_connection(("127.0.0.1", {listener.getsockname()[1]}), timeout=3).close()
    report.append("network reached")
except OSError:
    report.append("network blocked")
report.append("auditapp settings " + str(sorted(k for k in os.environ if k.startswith("AUDITAPP"))))
"""
    try:
        report = load_model(model_reporting(probe), filename="probe.pkl", trust_pickle=True).feature_names
    finally:
        listener.close()
    assert "auditapp settings []" in report
    if mode.prefix:  # unshare --net worked (as root, or with user namespaces)
        assert "network blocked" in report
