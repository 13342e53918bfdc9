"""Fetch plotly.js's cartesian partial bundle (the charts' only trace types) into auditapp/figures/vendor/.

Run by ``make run`` and ``make test``. The tarball comes from the npm registry and is checked against the
sha512 pinned here for plotly.py's plotly.js version; anything else is refused. Without it the app uses the
full plotly.js shipped in plotly.py (same charts, about half a second more before the first one draws), so
a failure here is reported and never stops the app.

    python tools/fetch_plotly_bundle.py
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditapp.figures.bundle import PARTIAL_NAME, VENDOR, plotly_version  # noqa: E402

PACKAGE = "plotly.js-cartesian-dist-min"
INTEGRITY = {  # npm's dist.integrity of each version
    "4.1.1": "sha512-o8GrFeusncwBIxbBynRJpY4pkgVB6caM+JLpwrLYbbsO7dZ8FJ+SVN2Fr+L7kiG/Z6w4P5O0Jus/Qr5EefHVeg==",
}
REGISTRY = os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org").rstrip("/")


def main() -> int:
    version = plotly_version()
    target = VENDOR / PARTIAL_NAME
    if target.exists() and f"v{version}" in target.read_text(encoding="utf-8", errors="replace")[:200]:
        return 0
    expected = INTEGRITY.get(version)
    if expected is None:
        print(f"No pinned {PACKAGE} for plotly.js {version}: the app uses the full plotly.js.", file=sys.stderr)
        return 0
    url = f"{REGISTRY}/{PACKAGE}/-/{PACKAGE}-{version}.tgz"
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            data = response.read(20 * 1024**2)
    except OSError as exc:
        print(f"Could not fetch {url} ({exc}): the app uses the full plotly.js.", file=sys.stderr)
        return 0
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != expected:
        print(f"{url} does not match its pinned sha512: refused; the app uses the full plotly.js.", file=sys.stderr)
        return 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        member = archive.extractfile(f"package/{PARTIAL_NAME}")
        text = member.read() if member is not None else b""
    VENDOR.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    tmp.write_bytes(text)
    tmp.replace(target)
    print(f"plotly.js {version} cartesian bundle in {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
