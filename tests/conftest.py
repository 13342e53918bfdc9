"""Builders every test folder shares."""

from __future__ import annotations

import pytest

from auditapp.service.config import Settings


@pytest.fixture
def use_settings(monkeypatch):
    """``use_settings(data_dir=..., **fields)``: make these the process's settings for this test (what the app's
    start-up does through ``callbacks.context.configure``), so callbacks and background jobs see them."""
    import callbacks.context as context

    def configure(**fields) -> Settings:
        settings = Settings(**fields)
        monkeypatch.setattr(context, "_settings", settings)
        monkeypatch.setattr(context, "_store", settings.open_store())
        return settings

    return configure
