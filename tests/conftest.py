"""Builders every test folder shares."""

from __future__ import annotations

import pytest

from auditapp.service import config
from auditapp.service.config import Settings


@pytest.fixture
def use_settings(monkeypatch):
    """``use_settings(data_dir=..., **fields)``: make these the process's settings for this test (what the app's
    start-up does with ``config.configure``), so callbacks, background jobs and helpers all see them."""

    def configure(**fields) -> Settings:
        settings = Settings(**fields)
        monkeypatch.setattr(config, "_current", settings)
        return settings

    return configure


@pytest.fixture
def use_store(monkeypatch, use_settings):
    """``use_store(store)``: make ``store`` the one every callback reaches (``callbacks.context.get_store``),
    with settings naming its folder."""
    import callbacks.context as context

    def configure(store, **fields):
        use_settings(data_dir=str(store.root), **fields)
        monkeypatch.setitem(context._STORES, (str(store.root), ""), store)
        return store

    return configure
