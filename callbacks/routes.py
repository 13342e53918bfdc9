"""Plain Flask routes: streaming uploads (files go to disk in chunks, never through a callback)."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from pathlib import Path
from urllib.parse import unquote

from flask import Response, jsonify, request

from auditapp.core.errors import AuditInputError, LimitExceededError
from callbacks.browser_session import COOKIE, UPLOAD_HEADER
from layouts.shell import CHARTS_SCRIPT

log = logging.getLogger("auditapp.upload")
CHUNK = 1 << 20
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_filename(raw: str) -> str:
    """The base name of an uploaded file's name, without control characters and at most 200 characters."""
    name = Path(_CONTROL.sub("", unquote(raw or "")).replace("\\", "/")).name.strip()
    return name[-200:]


def _receive(store, max_bytes: int) -> tuple[Path, str, int]:
    """Stream the request body into a temporary file, hashing as it goes; refuse past ``max_bytes``."""
    tmp_dir = store.root / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as handle:
            while chunk := request.stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise LimitExceededError(
                        f"The file is larger than this server's upload limit of {max_bytes / 1024**2:,.0f} MB. "
                        "Upload a smaller sample, or ask the operator to raise AUDITAPP_MAX_UPLOAD_BYTES.")
                digest.update(chunk)
                handle.write(chunk)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name), digest.hexdigest(), size


def handle_upload(store, settings, kind: str, token: str | None, filename: str) -> tuple[dict, int]:
    """Validate and store one upload; return the JSON payload and HTTP status."""
    if kind not in ("dataset", "model"):
        return {"error": f"Unknown upload kind '{kind[:40]}'. Upload to /api/upload/dataset or /model."}, 404
    path = None
    try:
        store.session_id(token)
        if not filename:
            raise AuditInputError("The upload has no file name. Choose the file again.")
        path, sha, size = _receive(store, settings.max_upload_bytes)
        if size == 0:
            raise AuditInputError(f"'{filename}' is empty (0 bytes). Choose the file that holds your data.")
        if kind == "dataset":
            from auditapp.inputs.intake import read_table

            dataset = read_table(path, filename=filename)
            store.cached(("dataset", sha), lambda: dataset)
            meta = {"rows": dataset.rows, "columns": len(dataset.columns)}
            info = store.put_file(token, path, sha, kind=kind, name=filename, meta=meta)
            return {"kind": kind, "id": info.id, "name": filename, "notices": list(dataset.notices), **meta}, 200
        from auditapp.inputs.models import load_model
        from auditapp.service.workspace import session_scope

        # Opened in a sandboxed process (never here): the answer is the model's columns and classes.
        model = load_model(path, filename=filename, trust_pickle=settings.trust_pickle,
                           scope=session_scope(store, token))
        meta = {"format": model.format, "features": list(model.feature_names)}
        info = store.put_file(token, path, sha, kind=kind, name=filename,
                              meta={**meta, "description": model.runner.description})
        return {"kind": kind, "id": info.id, "name": filename, "notices": [], **meta}, 200
    except AuditInputError as exc:
        # A refused file is an answer, not a failed request: 200 keeps the browser console clean.
        return {"kind": kind, "error": str(exc), "name": filename}, 200
    except Exception:  # a bug: log it, answer calmly, keep serving
        log.exception("Upload of %r failed", filename)
        return {"kind": kind, "name": filename,
                "error": "The server could not process this file. The error has been logged."}, 500
    finally:
        if path is not None:
            path.unlink(missing_ok=True)


def register_routes(server, store, settings) -> None:
    """Add ``POST /api/upload/<kind>`` (raw body; header X-Filename, and X-Auditapp-Session or, from the
    page's script, X-Auditapp-Upload with the workspace cookie), and ``GET /_auditapp/charts.js``, the
    charts' accessibility script shared with the HTML report."""

    @server.get(CHARTS_SCRIPT)
    def charts_script():
        from auditapp.figures.describe import chart_script

        return Response(chart_script(), mimetype="text/javascript",
                        headers={"Cache-Control": "no-cache"})

    @server.post("/api/upload/<kind>")
    def upload(kind: str):
        filename = clean_filename(request.headers.get("X-Filename", ""))
        token = request.headers.get("X-Auditapp-Session")
        if not token and request.headers.get(UPLOAD_HEADER):
            # The page's own script: the browser's workspace cookie (another site cannot set this header).
            token = request.cookies.get(COOKIE)
            if not token:
                return jsonify({"kind": kind, "name": filename, "error": (
                    "This browser did not send auditapp's workspace cookie, so the file cannot be kept for "
                    "you. Allow cookies for this site, then reload the page.")}), 200
        payload, status = handle_upload(store, settings, kind, token, filename)
        return jsonify(payload), status

    @server.errorhandler(413)
    def too_large(_error):
        limit = settings.max_upload_bytes / 1024**2
        return jsonify({"error": f"The file is larger than this server's upload limit of {limit:,.0f} MB. "
                                 "Upload a smaller sample, or ask the operator to raise "
                                 "AUDITAPP_MAX_UPLOAD_BYTES."}), 413
