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

import logging
from collections.abc import Iterator, Mapping
from dataclasses import Field, dataclass, fields
from typing import Any

from auditapp.core.errors import AuditInputError

log = logging.getLogger("auditapp.core.limits")
# Capped bootstrap replicates, which no longer exist: ignored, with a warning in the log.
RETIRED_VARIABLE = "AUDITAPP_MAX_BOOTSTRAP_WORK"

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


def positive_int(name: str, default: int | None = None, *, environ: Mapping[str, str]) -> int:
    """The positive whole number in variable ``name`` of ``environ`` (``default`` when unset).

    Raises
    ------
    AuditInputError
        If the variable is set to anything but a positive whole number.
    """
    fallback = DEFAULTS[name] if default is None else default
    raw = environ.get(name, "").strip().replace("_", "")
    if not raw:
        return fallback
    if not raw.isdigit() or int(raw) <= 0:
        raise AuditInputError(f"{name} must be a positive whole number, but is {environ[name]!r}. "
                              f"Set it to a number such as {fallback} or unset it.")
    return int(raw)


def _flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class RuntimeLimits:
    """Every operator limit and engine setting the compute packages use, in one object.

    Built once at start-up from the ``AUDITAPP_*`` variables (:meth:`from_environ`, called by the entry
    points: the CLI, the web app's settings, a Celery worker) and installed with :func:`configure`; the
    compute packages read it through :func:`runtime` and never read the environment themselves. A
    library user who installs nothing gets these defaults.
    """

    max_groups: int = DEFAULTS["AUDITAPP_MAX_GROUPS"]
    max_intersections: int = DEFAULTS["AUDITAPP_MAX_INTERSECTIONS"]
    max_row_groupings: int = DEFAULTS["AUDITAPP_MAX_ROW_GROUPINGS"]
    max_bytes: int = 512 * 1024**2
    max_rows: int = 5_000_000
    max_columns: int = 5_000
    max_cells: int = 50_000_000
    max_table_memory: int = 1024**3
    sandbox_memory_mb: int = 4096
    sandbox_cpu_seconds: int = 3600
    sandbox_timeout: int = 600
    sandbox_start_seconds: int = 120
    sandbox_idle_seconds: int = 300
    sandbox_processes: int = 4
    sandbox_reply_mb: int = 1024
    allow_weak_sandbox: bool = False
    sandbox_bwrap: str = "bwrap"
    source_engine: str = "auto"
    data_sources: str = ""
    duckdb_memory: str = "1GB"
    duckdb_threads: int | None = None
    duckdb_temp: str | None = None
    spark_master: str = "local[*]"
    spark_partitions: int = 8
    spark_log_level: str = "ERROR"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RuntimeLimits:
        """The limits set in ``environ`` (defaults for the variables not set).

        Raises
        ------
        AuditInputError
            If a number is set to anything but a positive whole number, or the source engine is unknown.
        """
        numbers = {field.name: positive_int(variable, getattr(cls, field.name), environ=environ)
                   for field, variable in _numbers()}
        engine = environ.get("AUDITAPP_SOURCE_ENGINE", "").strip().lower() or "auto"
        if engine not in ("auto", "duckdb", "spark"):
            raise AuditInputError(f"AUDITAPP_SOURCE_ENGINE must be auto, duckdb or spark, not {engine!r}.")
        threads = environ.get("AUDITAPP_DUCKDB_THREADS", "").strip()
        if environ.get(RETIRED_VARIABLE, "").strip():
            log.warning("%s is set but no longer used: intervals are computed from counts, without bootstrap "
                        "replicates. One audit's work is capped by AUDITAPP_MAX_INTERSECTIONS and "
                        "AUDITAPP_MAX_ROW_GROUPINGS; unset %s.", RETIRED_VARIABLE, RETIRED_VARIABLE)
        return cls(
            **numbers, allow_weak_sandbox=_flag(environ, "AUDITAPP_ALLOW_WEAK_SANDBOX"),
            sandbox_bwrap=environ.get("AUDITAPP_SANDBOX_BWRAP", "").strip() or "bwrap", source_engine=engine,
            data_sources=environ.get("AUDITAPP_DATA_SOURCES", "").strip(),
            duckdb_memory=environ.get("AUDITAPP_DUCKDB_MEMORY", "").strip() or "1GB",
            duckdb_threads=positive_int("AUDITAPP_DUCKDB_THREADS", 1, environ=environ) if threads else None,
            duckdb_temp=environ.get("AUDITAPP_DUCKDB_TEMP", "").strip() or None,
            spark_master=environ.get("AUDITAPP_SPARK_MASTER", "").strip() or "local[*]",
            spark_log_level=environ.get("AUDITAPP_SPARK_LOG_LEVEL", "").strip() or "ERROR",
        )

    def to_environ(self) -> dict[str, str]:
        """These limits as ``AUDITAPP_*`` variables (for a child process's ``env=``); :meth:`from_environ`
        of the result gives them back."""
        env = {variable: str(getattr(self, field.name)) for field, variable in _numbers()}
        env.update({"AUDITAPP_ALLOW_WEAK_SANDBOX": "1" if self.allow_weak_sandbox else "0",
                    "AUDITAPP_SANDBOX_BWRAP": self.sandbox_bwrap, "AUDITAPP_SOURCE_ENGINE": self.source_engine,
                    "AUDITAPP_DATA_SOURCES": self.data_sources, "AUDITAPP_DUCKDB_MEMORY": self.duckdb_memory,
                    "AUDITAPP_DUCKDB_THREADS": "" if self.duckdb_threads is None else str(self.duckdb_threads),
                    "AUDITAPP_DUCKDB_TEMP": self.duckdb_temp or "", "AUDITAPP_SPARK_MASTER": self.spark_master,
                    "AUDITAPP_SPARK_LOG_LEVEL": self.spark_log_level})
        return env


def _numbers() -> Iterator[tuple[Field[Any], str]]:
    """(field, variable) of every whole-number field of :class:`RuntimeLimits`."""
    names = {"max_table_memory": "AUDITAPP_MAX_TABLE_MEMORY", "sandbox_processes": "AUDITAPP_SANDBOX_PROCESSES"}
    for field in fields(RuntimeLimits):
        if field.type in ("int", int):
            yield field, names.get(field.name, f"AUDITAPP_{field.name.upper()}")


_RUNTIME = [RuntimeLimits()]


def configure(limits: RuntimeLimits) -> None:
    """Install this process's limits (an entry point does this once, at start-up).

    Processes forked from this one inherit them; a process started afresh installs its own (a
    mitigation worker is handed its parent's).
    """
    if not isinstance(limits, RuntimeLimits):
        raise TypeError(f"configure() takes RuntimeLimits, not {type(limits).__name__}")
    _RUNTIME[0] = limits


def runtime() -> RuntimeLimits:
    """This process's limits (:func:`configure`; the defaults when nothing was installed)."""
    return _RUNTIME[0]


def max_groups() -> int:
    """Most distinct groups one sensitive feature may have (``AUDITAPP_MAX_GROUPS``, default 200)."""
    return runtime().max_groups
