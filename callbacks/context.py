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
    """The cached audit for a browser state (computed, when new, in a low-priority helper process)."""
    from auditapp import workspace

    current = settings()
    helper = None
    if current.audit_helper:
        from functools import partial

        from auditapp.audit_helper import audit_in_helper

        helper = partial(audit_in_helper, trust_pickle=current.trust_pickle, timeout=current.job_time_limit)
    return workspace.audit_for(get_store(), token, state, trust_pickle=current.trust_pickle,
                               compute_elsewhere=helper)
