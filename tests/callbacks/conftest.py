"""Callback tests call the callback functions directly with a store in a temporary folder."""

from __future__ import annotations

import pytest

import callbacks.context as context


@pytest.fixture
def store(tmp_path, use_settings):
    """A fresh artifact store that every callback module sees: the process's settings name its folder (the one
    place callbacks reach services through, ``callbacks.context``)."""
    use_settings(data_dir=str(tmp_path / "store"), audit_helper=False)
    return context.get_store()


@pytest.fixture
def token(store):
    return store.new_session()
