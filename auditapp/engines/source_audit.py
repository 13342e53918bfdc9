"""The audit of every row of a server-side source, by the engine the app uses for it (no workspace here).

:mod:`auditapp.service.workspace` calls :func:`audit_whole_source` for a state opened from a source;
:mod:`auditapp.service.source_jobs` (which opens sources into workspaces) re-exports both functions.
"""

from __future__ import annotations

from collections.abc import Callable

from auditapp.core.audit import Audit
from auditapp.core.limits import runtime
from auditapp.core.spec import AuditSpec
from auditapp.core.workload import WorkLimits
from auditapp.engines.catalog import open_entry
from auditapp.engines.run import audit_source, choose_engine
from auditapp.engines.sources import Source

__all__ = ["audit_whole_source", "source_engine"]

Progress = Callable[[float, str], None]


def source_engine(source: Source) -> str:
    """The engine the app audits ``source`` with (``AUDITAPP_SOURCE_ENGINE``: auto, duckdb or spark)."""
    return choose_engine(source, runtime().source_engine)



def audit_whole_source(key: str, spec: AuditSpec, model: object = None, *, progress: Progress | None = None) -> Audit:
    """The audit of every row of an offered source (what ``workspace.audit_for`` computes for such a state)."""
    source = open_entry(key)
    return audit_source(source, spec, model, engine=source_engine(source), limits=WorkLimits.configured(),
                        progress=progress, hash_source=False).audit
