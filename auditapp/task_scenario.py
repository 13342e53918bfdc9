"""The listing-price scenario installed into the artifact store (offline, generated once, seeded)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

SCENARIO = "listing-prices"
CHOICES = {"task": "regression", "target": "price", "prediction": "predicted_price", "sensitive": ["host_group"]}


def install_listing_prices(store) -> str:
    """Generate the scenario's CSV once per generator version and register it; return its artifact id."""
    from datasets import listing_prices

    folder = store.root / "scenarios" / SCENARIO / f"v{listing_prices.VERSION}"
    target = folder / listing_prices.DATA_FILE
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{SCENARIO}-"))
        try:
            written = listing_prices.write(tmp)
            with contextlib.suppress(FileExistsError):  # another process got there first
                os.link(written, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return store.register_builtin(SCENARIO, target, kind="dataset", name=target.name)
