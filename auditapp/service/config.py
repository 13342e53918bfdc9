"""Operator settings: built once when a process starts (from command-line flags and the environment), then
passed down as parameters; :func:`current` is the one accessor for code that runs inside the server.

Nothing writes settings back into ``os.environ``: a child process gets them explicitly (the audit helper is
handed the caller's :class:`Settings`; a forked background job inherits :func:`configure`'s value), and a
separately started worker (Celery) reads its own environment once, in :func:`current`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from auditapp.core.limits import DEFAULTS, job_time_limit, positive_int


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    """How this server runs. Every field has an ``AUDITAPP_*`` environment variable.

    ``redis_url`` switches the artifact store to Redis and background jobs to Celery workers;
    ``basic_auth`` (``user:password``) or ``users_file`` (one ``user:password`` or
    ``user:pbkdf2:...`` line per user) asks every request for a login.
    """

    data_dir: str
    trust_pickle: bool = False
    demo: str | None = "hiring"
    max_upload_bytes: int = DEFAULTS["AUDITAPP_MAX_UPLOAD_BYTES"]
    redis_url: str | None = None
    job_time_limit: int = DEFAULTS["AUDITAPP_JOB_TIME_LIMIT"]
    artifact_ttl: int = DEFAULTS["AUDITAPP_ARTIFACT_TTL"]
    basic_auth: str | None = None
    users_file: str | None = None
    audit_helper: bool = False

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            data_dir=os.environ.get("AUDITAPP_DATA_DIR")
            or os.path.join(os.path.expanduser("~"), ".cache", "auditapp", "app"),
            trust_pickle=_flag("AUDITAPP_TRUST_PICKLE"),
            demo=os.environ.get("AUDITAPP_DEMO", "hiring") or None,
            max_upload_bytes=positive_int("AUDITAPP_MAX_UPLOAD_BYTES"),
            redis_url=os.environ.get("AUDITAPP_REDIS_URL") or None,
            job_time_limit=job_time_limit(),
            artifact_ttl=positive_int("AUDITAPP_ARTIFACT_TTL"),
            basic_auth=os.environ.get("AUDITAPP_BASIC_AUTH") or None,
            users_file=os.environ.get("AUDITAPP_USERS_FILE") or None,
            audit_helper=os.environ.get("AUDITAPP_AUDIT_HELPER", "1").strip().lower() in ("1", "true", "yes", "on"),
        )


_current: Settings | None = None


def configure(settings: Settings) -> Settings:
    """Make ``settings`` this process's settings (the app's start-up, or a helper process given them)."""
    global _current
    _current = settings
    return settings


def current() -> Settings:
    """This process's settings: those configured at start-up, else read from the environment once."""
    global _current
    if _current is None:
        _current = Settings.from_env()
    return _current
