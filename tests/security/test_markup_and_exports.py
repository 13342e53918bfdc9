"""HTML/script in names and values stays text; exported CSV cells cannot start spreadsheet formulas."""

from __future__ import annotations

import io
import json

import pandas as pd

from auditapp.service import workspace
from auditapp.service.forms import column_options, dataset_preview
from tests.callbacks.wiring import use_store

SCRIPT = "<script>document.title='pwned'</script>"
IMG = '<img src=x onerror="alert(1)">'


def test_html_in_column_names_and_values_reaches_the_grid_as_plain_text(upload, store, token):
    frame = pd.DataFrame({SCRIPT: [IMG, "ok"], "y": [1, 0]})
    status, body = upload("dataset", f"{IMG}.csv", frame.to_csv(index=False).encode())
    assert status == 200 and body["name"] == f"{IMG}.csv"
    dataset = workspace.load_dataset(store, token, body["id"])
    preview = dataset_preview(dataset)
    assert [c["headerName"] for c in preview["columns"]] == [SCRIPT, "y"]
    assert preview["rows"][0]["c0"] == IMG
    # AG Grid shows headerName and cell values as text unless a column asks for an HTML/markdown renderer.
    text = json.dumps(preview)
    assert "cellRenderer" not in text and "dangerously" not in text
    assert column_options(dataset)["all"][0] == {"label": SCRIPT, "value": SCRIPT}


def test_html_in_the_upload_message_is_a_plain_string_child(upload, store, token, monkeypatch):
    from dash import html

    import callbacks.data as data

    use_store(monkeypatch, store)
    _, body = upload("dataset", f"{IMG}.csv", b"a,y\n1,1\n")
    _state, alert = data.on_upload(body, None, token)
    texts = []

    def walk(node):
        if isinstance(node, str):
            texts.append(node)
        elif isinstance(node, (list, tuple)):
            for item in node:
                walk(item)
        elif hasattr(node, "children"):
            assert not isinstance(node, (html.Iframe, html.Script))
            walk(node.children)

    walk(alert)
    assert any(IMG in t for t in texts)  # the name arrives as a string child: React renders it as text


def test_exported_predictions_cannot_start_spreadsheet_formulas():
    from auditapp.mitigation.export import neutralised

    frame = pd.DataFrame({"name": ["=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)", "plain"],
                          "=cmd|' /C calc'!A0": [1, 2, 3, 4, 5], "score": [0.1, -0.2, 0.3, 0.4, 0.5]})
    text = neutralised(frame).to_csv(index=False)
    cells = [c for line in io.StringIO(text).read().splitlines() for c in line.split(",")]
    assert not [c for c in cells if c.strip('"').startswith(("=", "+", "@")) and not c.startswith("'")]
    back = pd.read_csv(io.StringIO(text))
    assert back["score"].tolist() == [0.1, -0.2, 0.3, 0.4, 0.5]  # numbers stay numbers


def test_formulas_hidden_behind_spaces_or_full_width_signs_are_neutralised():
    from auditapp.mitigation.export import neutralised

    tricky = [" =1+1", "  +1+1", "\u00a0-2+3", "\u3000@SUM(A1)", "\u200b=1+1", "＝1+1", "＋1+1", "－2+3", "＠SUM(A1)",
              "﹦1+1", " ＝HYPERLINK(\"http://x\")", "\t=1", "\r=1"]
    frame = pd.DataFrame({"name": tricky, " ＝cmd": range(len(tricky))})
    out = neutralised(frame)
    assert out["name"].tolist() == ["'" + t for t in tricky]
    assert list(out.columns) == ["name", "' ＝cmd"]
    assert out["' ＝cmd"].tolist() == list(range(len(tricky)))  # numbers stay numbers
    assert neutralised(pd.DataFrame({"t": [" plain", "1-2", "a=b", "x@y"]}))["t"].tolist() == [" plain", "1-2", "a=b", "x@y"]


def test_every_character_that_unicode_folds_to_a_formula_sign_is_neutralised():
    import sys
    import unicodedata

    from auditapp.mitigation.export import neutralise_cell

    signs = [chr(c) for c in range(sys.maxunicode + 1)
             if unicodedata.normalize("NFKC", chr(c)).lstrip()[:1] in ("=", "+", "-", "@")]
    assert {"=", "＝", "﹦", "＋", "﹢", "－", "﹣", "＠", "﹫"} <= set(signs)
    missed = [s for s in signs if not neutralise_cell(f"{s}1+1").startswith("'")]
    assert missed == []
