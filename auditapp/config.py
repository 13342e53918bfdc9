"""Operator settings, read from the environment (so web and worker processes agree)."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    """How this server runs. Every field has an ``AUDITAPP_*`` environment variable."""

    data_dir: str
    trust_pickle: bool = False
    demo: str | None = "hiring"
    max_upload_bytes: int = 512 * 1024**2
    redis_url: str | None = None

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            data_dir=os.environ.get("AUDITAPP_DATA_DIR")
            or os.path.join(os.path.expanduser("~"), ".cache", "auditapp", "app"),
            trust_pickle=_flag("AUDITAPP_TRUST_PICKLE"),
            demo=os.environ.get("AUDITAPP_DEMO", "hiring") or None,
            max_upload_bytes=int(os.environ.get("AUDITAPP_MAX_UPLOAD_BYTES", 512 * 1024**2)),
            redis_url=os.environ.get("AUDITAPP_REDIS_URL") or None,
        )

    def export(self) -> None:
        """Write these settings to the environment, for worker processes started later."""
        os.environ["AUDITAPP_DATA_DIR"] = self.data_dir
        os.environ["AUDITAPP_TRUST_PICKLE"] = "1" if self.trust_pickle else "0"
        os.environ["AUDITAPP_DEMO"] = self.demo or ""
        os.environ["AUDITAPP_MAX_UPLOAD_BYTES"] = str(self.max_upload_bytes)
