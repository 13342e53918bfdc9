"""Which plotly.js the app and the report load: the cartesian partial bundle when installed, else the full one.

The full plotly.js (4.8 MB, shipped inside plotly.py) takes about half a second of script evaluation before
the first chart can draw. Every chart auditapp draws uses only trace types of plotly.js's *cartesian*
partial bundle (1.5 MB, same version, published by Plotly on the npm registry as
``plotly.js-cartesian-dist-min``): ``make run``/``make test`` fetch it, checked against its pinned
sha512 (``tools/fetch_plotly_bundle.py``), into ``auditapp/figures/vendor/``. When it is missing or of
another version than plotly.py's, the full bundle is used: the same charts, a slower first load.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

#: Trace types of plotly.js's cartesian partial bundle; a figure using any other type would not draw with it
#: (``tests/auditapp/test_plotly_bundle.py`` checks every figure builder against this list).
CARTESIAN_TRACES = frozenset({"bar", "box", "contour", "heatmap", "histogram", "histogram2d",
                              "histogram2dcontour", "image", "pie", "scatter", "violin"})
VENDOR = Path(__file__).resolve().parent / "vendor"
PARTIAL_NAME = "plotly-cartesian.min.js"


def plotly_version() -> str:
    """The plotly.js version plotly.py was built against (the partial bundle must be the same)."""
    from plotly.offline import get_plotlyjs_version

    return str(get_plotlyjs_version())


@lru_cache(maxsize=1)
def partial_bundle() -> Path | None:
    """The installed cartesian bundle of plotly.py's plotly.js version, or None."""
    path = VENDOR / PARTIAL_NAME
    try:
        with path.open("rb") as handle:
            head = handle.read(200).decode("utf-8", "replace")
    except OSError:
        return None
    return path if f"(cartesian - minified) v{plotly_version()}" in head else None


def plotly_js() -> str:
    """The text of the plotly.js the charts need (for self-contained HTML such as the report)."""
    path = partial_bundle()
    if path is not None:
        return path.read_text(encoding="utf-8")
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())
