"""Operator limits that protect a shared server, each set by an ``AUDITAPP_*`` environment variable.

| variable | default | what it bounds |
| --- | --- | --- |
| ``AUDITAPP_MAX_UPLOAD_BYTES`` | 512 MB | one upload (refused while streaming, before it is stored) |
| ``AUDITAPP_MAX_BYTES`` / ``_ROWS`` / ``_COLUMNS`` | 512 MB / 5,000,000 / 5,000 | a table (``table_limits.Limits``) |
| ``AUDITAPP_MAX_CELLS`` / ``AUDITAPP_MAX_TABLE_MEMORY`` | 50,000,000 / 1 GB | a table's rows × columns, its bytes once read |
| ``AUDITAPP_MEMORY_CACHE_BYTES`` / ``_DISK_CACHE_MAX_BYTES`` | 1 GB / 256 MB | the artifact store's caches |
| ``AUDITAPP_MAX_GROUPS`` | 200 | distinct groups in one sensitive feature |
| ``AUDITAPP_JOB_TIME_LIMIT`` | 600 s | one background job |
| ``AUDITAPP_JOB_QUEUE_WAIT`` | 300 s | how long an audit or job may wait for a free slot or worker |
| ``AUDITAPP_ARTIFACT_TTL`` | 7 days | how long unused uploads and cached results are kept |
| ``AUDITAPP_MAX_AUDITS`` / ``_PER_SESSION`` | 2 / 1 | new audits computed at once (whole server / one session) |
| ``AUDITAPP_MAX_JOBS`` / ``_PER_SESSION`` | 2 / 1 | background jobs running at once (whole server / one session) |
| ``AUDITAPP_MAX_WAITING`` | 20 | audits (and, separately, jobs) waiting for a slot; more are refused |
| ``AUDITAPP_MAX_INTERSECTIONS`` | 1,000 | observed intersections of an audit's sensitive features |
| ``AUDITAPP_MAX_ROW_GROUPINGS`` | 10,000,000 | rows × groupings of one audit with scores (``auditapp.core.workload``) |
| ``AUDITAPP_JOB_ABANDON_AFTER`` | 120 s | a background job whose page stopped asking for it is stopped |
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from auditapp.core.errors import AuditInputError

DEFAULTS = {
    "AUDITAPP_MAX_UPLOAD_BYTES": 512 * 1024**2,
    "AUDITAPP_MAX_GROUPS": 200,
    "AUDITAPP_JOB_TIME_LIMIT": 600,
    "AUDITAPP_JOB_QUEUE_WAIT": 300,
    "AUDITAPP_ARTIFACT_TTL": 7 * 24 * 3600,
    "AUDITAPP_MAX_AUDITS": 2,
    "AUDITAPP_MAX_AUDITS_PER_SESSION": 1,
    "AUDITAPP_MAX_JOBS": 2,
    "AUDITAPP_MAX_JOBS_PER_SESSION": 1,
    "AUDITAPP_MAX_WAITING": 20,
    "AUDITAPP_MAX_INTERSECTIONS": 1_000,
    "AUDITAPP_MAX_ROW_GROUPINGS": 10_000_000,
    "AUDITAPP_JOB_ABANDON_AFTER": 120,
}


def positive_int(name: str, default: int | None = None, *, environ: Mapping[str, str] | None = None) -> int:
    """The positive whole number in environment variable ``name`` of ``environ`` (``default`` when unset).

    ``environ`` defaults to this process's environment.

    Raises
    ------
    AuditInputError
        If the variable is set to anything but a positive whole number.
    """
    fallback = DEFAULTS[name] if default is None else default
    env = os.environ if environ is None else environ
    raw = env.get(name, "").strip().replace("_", "")
    if not raw:
        return fallback
    if not raw.isdigit() or int(raw) <= 0:
        raise AuditInputError(f"{name} must be a positive whole number, but is {env[name]!r}. "
                              f"Set it to a number such as {fallback} or unset it.")
    return int(raw)


def max_groups() -> int:
    """Most distinct groups one sensitive feature may have (``AUDITAPP_MAX_GROUPS``, default 200)."""
    return positive_int("AUDITAPP_MAX_GROUPS")


def job_time_limit() -> int:
    """Seconds one background job may run (``AUDITAPP_JOB_TIME_LIMIT``, default 600)."""
    return positive_int("AUDITAPP_JOB_TIME_LIMIT")


def job_queue_wait() -> int:
    """Seconds a job may wait for a worker before it is reported as not started (default 300)."""
    return positive_int("AUDITAPP_JOB_QUEUE_WAIT")


def job_abandon_after() -> int:
    """Seconds a background job runs on after its page stopped asking for it (default 120)."""
    return positive_int("AUDITAPP_JOB_ABANDON_AFTER")
