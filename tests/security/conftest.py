"""The bad-input suite drives the real upload routes (Flask test client) and the real CLI."""

from __future__ import annotations

from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest
from flask import Flask

from auditapp.service.config import Settings
from auditapp.service.store import ArtifactStore
from callbacks.routes import register_routes


@pytest.fixture
def store(tmp_path):
    return ArtifactStore(tmp_path / "store", redis_url="")


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=str(tmp_path / "store"), max_upload_bytes=2 * 1024**2)


@pytest.fixture
def client(store, settings):
    server = Flask("auditapp-test")
    register_routes(server, store, settings)
    return server.test_client()


@pytest.fixture
def token(store):
    return store.new_session()


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n = 240
    x = rng.normal(size=n)
    return pd.DataFrame({"sex": rng.choice(["f", "m"], n), "x": x, "z": rng.normal(size=n),
                         "y": (x + rng.normal(size=n) > 0).astype(int), "pred": (x > 0).astype(int)})


@pytest.fixture
def upload(client, token):
    """POST a file as the browser does; return (status, JSON)."""

    def send(kind: str, name: str, data: bytes, *, session: str | None = None):
        response = client.post(f"/api/upload/{kind}", data=data, headers={
            "X-Auditapp-Session": token if session is None else session, "X-Filename": quote(name)})
        return response.status_code, response.get_json()

    return send


@pytest.fixture
def answers_normally(upload, frame):
    """After a refused file, a good upload in the same session is accepted as usual."""

    def check():
        status, body = upload("dataset", "good.csv", frame.to_csv(index=False).encode())
        assert status == 200 and "error" not in body and body["rows"] == len(frame)

    return check
