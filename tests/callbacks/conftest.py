"""Callback tests call the callback functions directly with a store in a temporary folder."""

from __future__ import annotations

import pytest

import callbacks.context as context
from auditapp.service.config import Settings
from auditapp.service.store import ArtifactStore


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fresh artifact store that every callback module sees."""
    fresh = ArtifactStore(tmp_path / "store")
    monkeypatch.setattr(context, "get_store", lambda: fresh)
    monkeypatch.setattr(context, "settings", lambda: Settings(data_dir=str(tmp_path / "store")))
    import callbacks

    for module in vars(callbacks).values():
        if getattr(module, "__name__", "").startswith("callbacks.") and hasattr(module, "get_store"):
            monkeypatch.setattr(module, "get_store", lambda: fresh)
    return fresh


@pytest.fixture
def token(store):
    return store.new_session()
