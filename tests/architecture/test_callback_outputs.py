"""Callbacks with many outputs name them (Dash's dict outputs) instead of returning long positional tuples."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MOST_POSITIONAL = 8  # beyond this many outputs a tuple is read by counting: name them


def positional_outputs() -> dict[str, int]:
    """``{"callbacks/x.py:function": n}``: positional ``Output(...)`` arguments of each ``@callback``."""
    found = {}
    for path in sorted((ROOT / "callbacks").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") == "callback":
                    count = sum(1 for a in decorator.args
                                if isinstance(a, ast.Call) and getattr(a.func, "id", "") == "Output")
                    found[f"{path.relative_to(ROOT)}:{node.name}"] = count
    return found


def test_no_callback_returns_a_long_positional_tuple():
    found = positional_outputs()
    assert len(found) > 50  # the scan sees the app's callbacks
    long = {name: n for name, n in found.items() if n > MOST_POSITIONAL}
    assert not long, f"name these outputs (output=dict(...)): {long}"

