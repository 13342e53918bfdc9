"""Files an audit writes, written atomically, and the facts about its inputs that the record keeps."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["dataset_info", "model_info", "write_json", "write_text_atomic"]


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically: a half-written file never replaces a good one."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: str | os.PathLike[str], payload: dict[str, Any]) -> None:
    """Write ``payload`` as JSON atomically (NaN refused: the record is strict JSON)."""
    write_text_atomic(path, json.dumps(payload, indent=2, allow_nan=False))


def dataset_info(dataset: Any) -> dict[str, Any]:
    """Name, sha256, rows and columns of a ``Dataset`` (and its missing-value words when any were given)."""
    info = {"name": dataset.name, "sha256": dataset.sha256, "rows": dataset.rows, "columns": list(dataset.columns)}
    if dataset.missing_values:  # only when asked for, so records without it keep their shape
        info["missing_values"] = list(dataset.missing_values)
    return info


def model_info(model: Any) -> dict[str, Any] | None:
    """Name, sha256 and format of an ``AuditModel`` (None without a model)."""
    if model is None:
        return None
    return {"name": model.name, "sha256": model.sha256, "format": model.format}
