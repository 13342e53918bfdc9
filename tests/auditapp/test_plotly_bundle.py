"""The app loads plotly.js's cartesian partial bundle: every chart must use only its trace types."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import plotly.graph_objects as go
import pytest
from plotly.basedatatypes import BaseTraceType

from auditapp.figures import bundle

ROOT = Path(__file__).resolve().parents[2]
TRACE_CLASSES = {name for name in dir(go) if name[:1].isupper()
                 and inspect.isclass(obj := getattr(go, name)) and issubclass(obj, BaseTraceType)}


def trace_types_used() -> dict[str, list[str]]:
    """Every ``go.<Trace>(`` call in the app's Python, by trace type, with where it is."""
    used: dict[str, list[str]] = {}
    for folder in ("auditapp", "callbacks", "layouts", "datasets"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and isinstance(node.func.value, ast.Name) and node.func.value.id == "go"
                        and node.func.attr in TRACE_CLASSES):
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    used.setdefault(node.func.attr.lower(), []).append(where)
    return used


def test_every_trace_type_the_app_draws_is_in_the_cartesian_bundle():
    used = trace_types_used()
    assert {"bar", "scatter", "heatmap"} <= set(used)  # the scan finds the charts it is meant to check
    outside = {kind: places for kind, places in used.items() if kind not in bundle.CARTESIAN_TRACES}
    assert not outside, f"these trace types would not draw with the cartesian bundle: {outside}"


def test_the_bundle_list_matches_the_installed_partial_bundle():
    path = bundle.partial_bundle()
    if path is None:
        pytest.skip("the cartesian bundle is not installed (tools/fetch_plotly_bundle.py)")
    text = path.read_text(encoding="utf-8")
    # Each trace module registers itself by name: moduleType:"trace",name:"bar" (minified).
    for kind in bundle.CARTESIAN_TRACES:
        assert f'name:"{kind}"' in text, kind
    for kind in ("waterfall", "scattergl", "sankey", "indicator"):
        assert f'moduleType:"trace",name:"{kind}"' not in text


def test_a_bundle_of_another_version_is_not_used(tmp_path, monkeypatch):
    fake = tmp_path / bundle.PARTIAL_NAME
    fake.write_text("/**\n* plotly.js (cartesian - minified) v0.0.1\n*/\n", encoding="utf-8")
    monkeypatch.setattr(bundle, "VENDOR", tmp_path)
    bundle.partial_bundle.cache_clear()
    try:
        assert bundle.partial_bundle() is None
        assert "plotly.js" in bundle.plotly_js()[:2000].lower()
    finally:
        bundle.partial_bundle.cache_clear()
