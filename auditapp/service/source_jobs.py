"""Server-side data sources in the app: open one, audit all of it through an engine, and say what was used.

A user opens an entry of the operator's directory (``engines.catalog``): the engine draws a preview (a
uniform sample) that becomes the session's dataset, so every page can offer its columns and values.
"Audit the whole source" then draws a sample stratified by group × outcome for the pages that need rows
(explanations, mitigations, simulations: the sample's statement says what that means for their
intervals), and audits every row of the source through the engine (DuckDB by default,
``AUDITAPP_SOURCE_ENGINE=spark`` with ``AUDITAPP_SPARK_MASTER`` for a cluster). Group metrics, the
threshold explorer, the policy and the report then read that audit.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from typing import Any

import pandas as pd

from auditapp.core.audit import Audit
from auditapp.core.defaults import SOURCE_SAMPLE_ROWS
from auditapp.core.errors import AuditInputError
from auditapp.engines.catalog import open_entry
from auditapp.engines.run import open_engine, sample_source
from auditapp.engines.source_audit import audit_whole_source, source_engine
from auditapp.engines.sources import Source
from auditapp.service.store import ArtifactStore

PREVIEW_ROWS = 20_000
__all__ = ["PREVIEW_ROWS", "audit_source_state", "audit_whole_source", "dataset_info_for", "open_source",
           "source_dataset_info", "source_engine"]
Progress = Callable[[float, str], None]


def _quiet(_fraction: float, _text: str) -> None:
    return None


def _put_frame(store: ArtifactStore, token: str, frame: pd.DataFrame, *, name: str, meta: dict):
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return store.put(token, buffer.getvalue(), kind="dataset", name=name, meta=meta)


def _file_name(source: Source, what: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", source.name).strip("-.") or "source"
    return f"{stem[:60]}-{what}.parquet"


def open_source(store: ArtifactStore, token: str, key: str, *, progress: Progress = _quiet,
                state: dict | None = None) -> tuple[dict, str]:
    """Open an offered source: its preview becomes the session's dataset, with no settings chosen yet (the
    user chooses them). The checked policy of ``state`` stays. Returns the new state and a message."""
    from auditapp.service import workspace

    source = open_entry(key)
    name = source_engine(source)
    progress(0.05, f"Opening {key} with {name}")
    engine = open_engine(source, name)
    try:
        progress(0.3, "Counting the rows")
        rows = engine.count_rows()
        progress(0.6, "Drawing a preview to choose columns from")
        frame = engine.preview(size=PREVIEW_ROWS, seed=0)
    finally:
        engine.close()
    if frame.empty:
        raise AuditInputError(f"{key} has no rows.")
    info = _put_frame(store, token, frame, name=_file_name(source, "preview"),
                      meta={"source": key, "rows": rows, "engine": name})
    new_state, _ = workspace.state_for_dataset(store, token, {"policy": (state or {}).get("policy")}, info.id)
    new_state["source"] = key
    progress(1.0, "Opened")
    return new_state, (f"Opened {key}: {rows:,} rows, {len(frame.columns)} columns, read by {name}. Choose what "
                   "to audit below, then press “Audit the whole source”.")


def audit_source_state(store: ArtifactStore, token: str, state: dict[str, Any], *, trust_pickle: bool = False,
                       progress: Progress = _quiet, sample_rows: int = SOURCE_SAMPLE_ROWS) -> tuple[dict, Audit, str]:
    """Draw the stratified sample of ``state``'s spec, then audit the whole source (cached like any audit).

    ``sample_rows`` is the size of the sample kept for explanations and mitigations (the operator's
    ``AUDITAPP_SOURCE_SAMPLE_ROWS``, :attr:`Settings.source_sample_rows`).

    Returns the new state (its dataset is the sample), the audit, and the sample's statement.
    """
    from auditapp.service import workspace

    if not state or not state.get("source"):
        raise AuditInputError("Open a server-side source first.")
    spec = workspace.spec_from_state(state)
    source = open_entry(state["source"])
    progress(0.02, "Drawing a sample stratified by group × outcome")
    sample = sample_source(source, spec, size=sample_rows, seed=spec.seed, engine=source_engine(source))
    info = _put_frame(store, token, sample.frame, name=_file_name(source, "sample"),
                      meta={"source": state["source"], "rows": sample.total_rows, "sample": sample.statement()})
    new_state = dict(state, dataset=info.id)
    audit = workspace.audit_for(store, token, new_state, trust_pickle=trust_pickle,
                                progress=lambda fraction, text: progress(0.15 + 0.85 * fraction, text))
    progress(1.0, "Audited")
    return new_state, audit, sample.statement()


def source_dataset_info(store: ArtifactStore, token: str, state: dict[str, Any]) -> dict:
    """What the record says about a source state's data: the whole source (hashed once per content)."""
    key = state["source"]
    source = open_entry(key)
    stamp = tuple((p, os.path.getmtime(p), os.path.getsize(p)) for p in source.paths)
    sha = store.cached(("source-sha256", key, stamp), source.sha256, disk=False)
    meta = store.info(token, state["dataset"]).meta or {}
    from auditapp.service import workspace

    columns = workspace.dataset_for(store, token, state).columns
    info = {"name": source.name, "sha256": sha, "rows": int(meta.get("rows") or 0), "columns": columns,
            "engine": source_engine(source)}
    if meta.get("sample"):
        info["sample"] = meta["sample"]
    return info


def dataset_info_for(store: ArtifactStore, token: str, state: dict[str, Any]) -> dict:
    """The record's dataset section for any state: the whole source for a source state, else the dataset."""
    if state.get("source"):
        return source_dataset_info(store, token, state)
    from auditapp.reporting.outputs import dataset_info
    from auditapp.service import workspace

    return dataset_info(workspace.dataset_for(store, token, state))
