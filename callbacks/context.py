"""What callbacks share: the artifact store and settings of this process."""

from __future__ import annotations

from functools import lru_cache

from auditapp.config import Settings
from auditapp.store import ArtifactStore


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()


@lru_cache(maxsize=1)
def get_store() -> ArtifactStore:
    return ArtifactStore(settings().data_dir, redis_url=settings().redis_url or "")


def audit_for(token, state):
    """The cached audit for a browser state."""
    from auditapp import workspace

    return workspace.audit_for(get_store(), token, state, trust_pickle=settings().trust_pickle)
