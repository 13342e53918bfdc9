"""Callback tests give the callbacks their store and settings through the one accessor, ``callbacks.context``."""

from __future__ import annotations

import pytest

import callbacks.context as context
from auditapp.service.config import Settings
from auditapp.service.store import ArtifactStore


def use_store(monkeypatch: pytest.MonkeyPatch, store: ArtifactStore, settings: Settings | None = None) -> None:
    """Every callback module sees ``store`` and ``settings`` (default: settings naming the store's folder)."""
    monkeypatch.setattr(context, "_settings", settings or Settings(data_dir=str(store.root)))
    monkeypatch.setattr(context, "_store", store)
