"""Asset serving: compressed answers that decode to the same bytes, long-lived caching of fingerprinted files,
best-level copies that are checked before use, plotly.js fetched early and dash-ag-grid loaded on demand."""

from __future__ import annotations

import gzip
import hashlib

import brotli
import pytest
from flask import Flask, Response

from callbacks import assets

SCRIPT = ("function f(x){return x*2;}\n" * 4000).encode()


@pytest.fixture
def client(tmp_path):
    server = Flask(__name__)

    @server.get("/assets/app.js")
    def script():
        return Response(SCRIPT, mimetype="application/javascript")

    @server.get("/_dash-update-component")
    def small():
        return Response(b'{"ok": true}', mimetype="application/json")

    @server.get("/_dash-layout")
    def layout():
        return Response(b'{"props": "' + b"x" * 5000 + b'"}', mimetype="application/json")

    cache = assets.install(server, disk=tmp_path / "compressed")
    return server.test_client(), cache, tmp_path / "compressed"


def test_brotli_and_gzip_answers_decode_to_the_original_bytes(client):
    http, _cache, _disk = client
    br = http.get("/assets/app.js", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert br.headers["Content-Encoding"] == "br" and "Accept-Encoding" in br.headers["Vary"]
    assert brotli.decompress(br.data) == SCRIPT and len(br.data) < len(SCRIPT) / 20
    gz = http.get("/assets/app.js", headers={"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip" and gzip.decompress(gz.data) == SCRIPT
    plain = http.get("/assets/app.js")
    assert "Content-Encoding" not in plain.headers and plain.data == SCRIPT
    dynamic = http.get("/_dash-layout", headers={"Accept-Encoding": "br"})
    assert dynamic.headers["Content-Encoding"] == "br" and brotli.decompress(dynamic.data).startswith(b'{"props"')
    tiny = http.get("/_dash-update-component", headers={"Accept-Encoding": "br"})
    assert "Content-Encoding" not in tiny.headers  # under 1 KiB: not worth it


def test_only_fingerprinted_files_are_cached_for_a_year(client):
    http, _cache, _disk = client
    fingerprinted = http.get("/assets/app.js?m=1796402273.7")
    assert fingerprinted.cache_control.max_age == assets.YEAR and fingerprinted.cache_control.immutable
    assert http.get("/assets/app.js").cache_control.max_age is None


def test_a_best_level_copy_on_disk_is_used_only_if_it_decodes_to_the_file(client):
    http, cache, disk = client
    digest = hashlib.sha256(SCRIPT).hexdigest()
    disk.mkdir(parents=True, exist_ok=True)
    (disk / f"{digest}.br").write_bytes(brotli.compress(b"alert('planted')"))
    served = http.get("/assets/app.js", headers={"Accept-Encoding": "br"})
    assert brotli.decompress(served.data) == SCRIPT
    (disk / f"{digest}.gzip").write_bytes(gzip.compress(SCRIPT, 9))
    fresh = assets.StaticCache(disk=disk)
    assert fresh.get(SCRIPT, "gzip") == (disk / f"{digest}.gzip").read_bytes()


def test_the_page_template_fetches_plotly_early_runs_it_when_it_arrives_and_leaves_the_grid_bundle_out():
    from dash import _validate
    from dash.dash import _re_index_config, _re_index_entry, _re_index_scripts

    template = assets.index_string()
    url = assets.plotly_url()
    # Fetched from the head, run when it has arrived (Dash's scripts do not wait for it) ...
    assert template.count(url) == 2 and template.index(f'<script async src="{url}">') < template.index("{%css%}")
    # ... after the stand-in that dcc.Graph waits on instead of fetching plotly.js a second time.
    assert template.index(assets.PLOTLY_PROMISE) < template.index(f'<script async src="{url}">')
    assert f'"_dashPlotlyJSURL",{{configurable:true,get:function(){{return "{url}";}}' in template
    assert f'window.auditappGridURL="{assets.grid_url()}"' in template
    assets.load_grids_on_demand()
    import dash_ag_grid

    main = next(e for e in dash_ag_grid._js_dist if e["relative_package_path"] == assets.GRID_BUNDLE)
    assert main["dynamic"] is True
    # Dash accepts it as a page template (the check Dash runs on ``index_string``).
    _validate.validate_index("index string", (_re_index_entry, _re_index_config, _re_index_scripts), template)


def test_the_cartesian_bundle_is_served_fingerprinted_and_compressed(tmp_path):
    from auditapp.figures import bundle

    path = bundle.partial_bundle()
    if path is None:
        pytest.skip("the cartesian bundle is not installed (tools/fetch_plotly_bundle.py)")
    server = Flask(__name__)
    assets.install(server, disk=tmp_path / "compressed")
    url = assets.plotly_url()
    assert url == f"{assets.PARTIAL_PATH}?v={bundle.plotly_version()}"
    answer = server.test_client().get(url, headers={"Accept-Encoding": "br"})
    assert answer.status_code == 200 and answer.mimetype == "application/javascript"
    assert answer.cache_control.max_age == assets.YEAR and answer.cache_control.immutable
    assert brotli.decompress(answer.data) == assets.COMPILE_HINT + path.read_bytes()
