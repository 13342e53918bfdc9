"""Obtain raw data files: a user's local copy, the cache, or a download, each checked by sha256.

The cache lives under ``$AUDITAPP_DATA_DIR`` (default ``~/.cache/auditapp``), one folder per
dataset. Downloads use urllib with a timeout; tests pass their own ``fetch(url) -> bytes``.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from auditapp.core.errors import AuditInputError
from auditapp.inputs.intake import sha256_file

Fetch = Callable[[str], bytes]

DATA_DIR_ENV = "AUDITAPP_DATA_DIR"
DOWNLOAD_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class RemoteFile:
    """A raw data file: where it is published and the sha256 of the published bytes."""

    dataset: str
    filename: str
    base_url: str
    sha256: str

    @property
    def url(self) -> str:
        """The full download address."""
        return self.base_url + self.filename


def obtain(remote: RemoteFile, *, fetch: Fetch | None = None, local_path: Path | None = None,
           local_env: str | None = None, cache_dir: Path | None = None) -> Path:
    """Return a path to a verified copy of ``remote``: local, cached or freshly downloaded.

    A ``local_path`` (the user's own copy) is checked and used as is. Otherwise the cache
    (``cache_dir``, default :func:`default_cache_dir`) is used if its copy is intact, else the
    file is fetched with ``fetch(url) -> bytes`` (default: HTTP GET with a timeout), checked,
    and written to the cache. ``local_env`` names the environment variable for local copies
    (a ``*_PATH`` variable names the file, a ``*_DIR`` variable its folder), so that messages
    can say what to set.

    Raises
    ------
    AuditInputError
        If the local copy is missing, the download fails, or a sha256 differs from the
        published one.
    """
    if local_path is not None:
        if not local_path.is_file():
            raise AuditInputError(
                f"{local_env or 'The local copy'} points at {local_path}, but there is no file "
                f"{remote.filename} there. Point it at {_local_target(local_env)}, or unset it "
                "to download the file."
            )
        _verify(remote, sha256_file(local_path), local_path)
        return local_path
    cached = (cache_dir or default_cache_dir()) / remote.dataset / remote.filename
    if cached.is_file() and sha256_file(cached) == remote.sha256:
        return cached
    try:
        payload = (fetch or _http_get)(remote.url)
    except (OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        where = f"set {local_env} to {_local_target(local_env)}, or " if local_env else ""
        raise AuditInputError(
            f"Downloading {remote.filename} from {remote.url} failed: {reason}. If this machine "
            f"is offline, get the file elsewhere and {where}copy it to {cached}."
        ) from exc
    _verify(remote, hashlib.sha256(payload).hexdigest(), remote.url)
    _write_atomically(cached, payload)
    return cached


def default_cache_dir() -> Path:
    """Return ``$AUDITAPP_DATA_DIR`` if set, else ``~/.cache/auditapp``."""
    configured = os.environ.get(DATA_DIR_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "auditapp"


def _http_get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:  # noqa: S310
        return response.read()


def _local_target(local_env: str | None) -> str:
    return "the file" if (local_env or "").endswith("_PATH") else "the folder that holds it"


def _verify(remote: RemoteFile, found: str, where: object) -> None:
    if found != remote.sha256:
        raise AuditInputError(
            f"{remote.filename} from {where} has sha256 {found}, but the published file has "
            f"{remote.sha256}, so it is a different or damaged copy. Use the unmodified file "
            f"from {remote.url}."
        )


def _write_atomically(target: Path, payload: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as handle:
        handle.write(payload)
    os.replace(handle.name, target)


def env_path(name: str) -> Path | None:
    """Return the path in environment variable ``name``, or None if it is unset or empty."""
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def obtain_all(files: tuple[RemoteFile, ...], *, local_env: str, fetch: Fetch | None = None
               ) -> list[Path]:
    """Obtain several files; ``$local_env``, if set, is a folder holding local copies of all."""
    folder = env_path(local_env)
    return [obtain(f, fetch=fetch, local_env=local_env,
                   local_path=None if folder is None else folder / f.filename) for f in files]
