"""Background jobs: Dash's background-callback manager on local disk (diskcache) by default."""

from __future__ import annotations

import os

from auditapp.config import Settings


def background_manager(settings: Settings):
    """The manager for ``@callback(background=True)``: diskcache under the data directory."""
    import diskcache
    from dash import DiskcacheManager

    cache = diskcache.Cache(os.path.join(settings.data_dir, "jobs"))
    return DiskcacheManager(cache, expire=3600)
