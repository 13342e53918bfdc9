"""Callback tests call the callback functions directly with a store in a temporary folder."""

from __future__ import annotations

import pytest

from auditapp.service.store import ArtifactStore
from tests.callbacks.wiring import use_store


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fresh artifact store that every callback module sees."""
    fresh = ArtifactStore(tmp_path / "store")
    use_store(monkeypatch, fresh)
    return fresh


@pytest.fixture
def token(store):
    return store.new_session()
