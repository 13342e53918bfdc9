"""Operator settings: one :class:`Settings` built at start-up and passed down as a parameter.

The environment is read in one place, :meth:`Settings.from_env`, called once by each process's
start-up (``auditapp serve`` after its flags, ``gunicorn app:server``, ``celery -A celery_app``).
Nothing writes settings back into ``os.environ``: a child process gets its settings explicitly (the
audit helper as an argument, a subprocess through :meth:`Settings.to_env` in its own ``env=``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from auditapp.core.defaults import SOURCE_SAMPLE_ROWS
from auditapp.core.errors import AuditInputError
from auditapp.core.limits import DEFAULTS, RuntimeLimits, configure, positive_int
from auditapp.service.login import SESSION_SECONDS
from auditapp.service.slots import AUDITS, JOBS, Caps
from auditapp.service.store_cache import DISK_VALUE_BYTES, MEMORY_CACHE_BYTES

if TYPE_CHECKING:
    from auditapp.service.store import ArtifactStore

_TRUE = ("1", "true", "yes", "on")


def default_data_dir() -> str:
    """Where uploads and cached results live when no data folder is given."""
    return os.path.join(os.path.expanduser("~"), ".cache", "auditapp", "app")


def _proxy_hops(env: Mapping[str, str]) -> int:
    """``AUDITAPP_TRUSTED_PROXIES``: how many reverse proxies forward requests to the app (default 0)."""
    raw = env.get("AUDITAPP_TRUSTED_PROXIES", "").strip()
    if raw and not raw.isdigit():
        raise AuditInputError(f"AUDITAPP_TRUSTED_PROXIES must be the number of reverse proxies in front of the "
                              f"app (0, 1, 2 …), but is {raw!r}. Set it to a number or unset it.")
    return int(raw or 0)


@dataclass(frozen=True)
class Settings:
    """How this server runs. Every field has an ``AUDITAPP_*`` environment variable (see README).

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
    secret: str | None = None
    memory_cache_bytes: int = MEMORY_CACHE_BYTES
    disk_cache_max_bytes: int = DISK_VALUE_BYTES
    trusted_proxies: int = 0
    login_seconds: int = SESSION_SECONDS
    audit_caps: Caps = field(default_factory=lambda: Caps.from_env(AUDITS, {}))
    job_caps: Caps = field(default_factory=lambda: Caps.from_env(JOBS, {}))
    job_abandon_after: int = DEFAULTS["AUDITAPP_JOB_ABANDON_AFTER"]
    source_sample_rows: int = SOURCE_SAMPLE_ROWS
    limits: RuntimeLimits = field(default_factory=RuntimeLimits)  # the compute packages' limits (tables, groups, sandbox, engines)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``environ`` (default: this process's environment), read once, now."""
        env = os.environ if environ is None else environ

        def flag(name: str, default: str = "") -> bool:
            return env.get(name, default).strip().lower() in _TRUE

        return cls(
            data_dir=env.get("AUDITAPP_DATA_DIR") or default_data_dir(),
            trust_pickle=flag("AUDITAPP_TRUST_PICKLE"),
            demo=env.get("AUDITAPP_DEMO", "hiring") or None,
            max_upload_bytes=positive_int("AUDITAPP_MAX_UPLOAD_BYTES", environ=env),
            redis_url=env.get("AUDITAPP_REDIS_URL") or None,
            job_time_limit=positive_int("AUDITAPP_JOB_TIME_LIMIT", environ=env),
            artifact_ttl=positive_int("AUDITAPP_ARTIFACT_TTL", environ=env),
            basic_auth=env.get("AUDITAPP_BASIC_AUTH") or None,
            users_file=env.get("AUDITAPP_USERS_FILE") or None,
            audit_helper=flag("AUDITAPP_AUDIT_HELPER", "1"),
            secret=env.get("AUDITAPP_SECRET") or None,
            memory_cache_bytes=positive_int("AUDITAPP_MEMORY_CACHE_BYTES", MEMORY_CACHE_BYTES, environ=env),
            disk_cache_max_bytes=positive_int("AUDITAPP_DISK_CACHE_MAX_BYTES", DISK_VALUE_BYTES, environ=env),
            trusted_proxies=_proxy_hops(env),
            login_seconds=positive_int("AUDITAPP_LOGIN_SECONDS", SESSION_SECONDS, environ=env),
            audit_caps=Caps.from_env(AUDITS, env),
            job_caps=Caps.from_env(JOBS, env),
            job_abandon_after=positive_int("AUDITAPP_JOB_ABANDON_AFTER", environ=env),
            source_sample_rows=positive_int("AUDITAPP_SOURCE_SAMPLE_ROWS", SOURCE_SAMPLE_ROWS, environ=env),
            limits=RuntimeLimits.from_environ(env),
        )

    def to_env(self) -> dict[str, str]:
        """These settings as ``AUDITAPP_*`` variables, for the ``env=`` of one child process (never ``os.environ``).

        :meth:`from_env` of the result gives back these settings.
        """
        env = {
            "AUDITAPP_DATA_DIR": self.data_dir,
            "AUDITAPP_TRUST_PICKLE": "1" if self.trust_pickle else "0",
            "AUDITAPP_DEMO": self.demo or "",
            "AUDITAPP_MAX_UPLOAD_BYTES": str(self.max_upload_bytes),
            "AUDITAPP_REDIS_URL": self.redis_url or "",
            "AUDITAPP_JOB_TIME_LIMIT": str(self.job_time_limit),
            "AUDITAPP_ARTIFACT_TTL": str(self.artifact_ttl),
            "AUDITAPP_AUDIT_HELPER": "1" if self.audit_helper else "0",
            "AUDITAPP_MEMORY_CACHE_BYTES": str(self.memory_cache_bytes),
            "AUDITAPP_DISK_CACHE_MAX_BYTES": str(self.disk_cache_max_bytes),
            "AUDITAPP_TRUSTED_PROXIES": str(self.trusted_proxies),
            "AUDITAPP_LOGIN_SECONDS": str(self.login_seconds),
            "AUDITAPP_JOB_ABANDON_AFTER": str(self.job_abandon_after),
            "AUDITAPP_MAX_WAITING": str(self.job_caps.max_waiting),
            "AUDITAPP_JOB_QUEUE_WAIT": str(int(self.job_caps.max_wait)),
            "AUDITAPP_SOURCE_SAMPLE_ROWS": str(self.source_sample_rows),
            **self.limits.to_environ(),
        }
        for kind, caps in ((AUDITS, self.audit_caps), (JOBS, self.job_caps)):
            env[kind.variable], env[f"{kind.variable}_PER_SESSION"] = str(caps.total), str(caps.per_session)
        if self.secret:
            env["AUDITAPP_SECRET"] = self.secret
        if self.basic_auth:
            env["AUDITAPP_BASIC_AUTH"] = self.basic_auth
        if self.users_file:
            env["AUDITAPP_USERS_FILE"] = self.users_file
        return env

    def install(self) -> None:
        """Make these settings' compute limits this process's (:func:`auditapp.core.limits.configure`)."""
        configure(self.limits)

    def open_store(self) -> ArtifactStore:
        """The artifact store these settings name (Redis when ``redis_url`` is set, else the data folder)."""
        from auditapp.service.store import ArtifactStore

        return ArtifactStore(self.data_dir, redis_url=self.redis_url or "", ttl=self.artifact_ttl,
                             secret=self.secret.encode() if self.secret else None,
                             memory_bytes=self.memory_cache_bytes, disk_value_bytes=self.disk_cache_max_bytes)
