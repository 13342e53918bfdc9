"""Fixtures every test folder shares; the data builders behind them are in ``tests/builders.py`` (and, for
the engines, ``tests/engines/data.py``)."""

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


@pytest.fixture(autouse=True)
def _restore_limits():
    """Whatever a test installs (the CLI's ``main`` installs the limits of its environment) ends with it."""
    from auditapp.core.limits import configure, runtime

    before = runtime()
    yield
    configure(before)


@pytest.fixture
def use_limits():
    """``use_limits(**fields)``: this process's compute limits for this test (what an entry point installs
    at start-up from the ``AUDITAPP_*`` variables), the others at their defaults; ``use_limits(environ={...})``
    parses variables as start-up does. The process's model processes are ended before and after."""
    from auditapp.core.limits import RuntimeLimits, configure, runtime
    from auditapp.inputs.sandbox import reset_default_pool

    before = runtime()

    def install(environ=None, **fields) -> RuntimeLimits:
        limits = RuntimeLimits.from_environ(environ) if environ is not None else RuntimeLimits(**fields)
        configure(limits)
        reset_default_pool()
        return limits

    yield install
    configure(before)
    reset_default_pool()
