"""How the browser gets the app's files fast: compression, long-lived caching, plotly.js fetched early.

- Every text response (scripts, styles, layout and callback JSON) of 1 KiB or more is compressed with
  Brotli when the browser accepts it, else gzip. Static files are compressed once at a fast level and kept
  in memory by content hash; one background thread then compresses them at the best level, one after the
  other, and keeps that copy on disk (by content hash, checked by decompressing before use), so the next
  process on this machine starts with it. Dynamic answers are compressed on the fly at a fast level.
- Fingerprinted files (Dash's ``.v1_2_3m…`` component files, ``/assets/…?m=…``, and plotly.js with
  ``?v=<version>``) may be cached by the browser for a year: their address changes when their content does.
- plotly.js is plotly.js's cartesian partial bundle when installed (``auditapp.figures.bundle``: a third of
  the full bundle's size and evaluation time; every chart of the app uses only its trace types), served
  at ``/_auditapp/plotly-cartesian.min.js?v=<version>``; else the full bundle from plotly.py.
- plotly.js is requested by the page itself from the start (an async script in the head), instead of after the
  layout arrives, and runs as soon as it has arrived without holding back Dash's scripts; until then every
  graph waits on ``window.Plotly`` (a stand-in, see ``PLOTLY_PROMISE``) rather than fetching its own copy.
  It carries V8's compile hint (``COMPILE_HINT``), so it is compiled while it downloads.
- dash-ag-grid's bundle is left out of every page's scripts and fetched when the first grid mounts
  (``assets/lazy-grid.js``), so pages without a grid never load it and the others draw before they parse it.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import queue
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

from flask import request

log = logging.getLogger("auditapp.assets")

MIN_BYTES = 1024
YEAR = 31_536_000
PLOTLY_PATH = "/_dash-component-suites/plotly/package_data/plotly.min.js"
PARTIAL_PATH = "/_auditapp/plotly-cartesian.min.js"
STATIC_PREFIXES = ("/_dash-component-suites/", "/assets/", "/_favicon.ico", PARTIAL_PATH)
GRID_BUNDLE = "dash_ag_grid.min.js"
# V8's explicit compile hint: every function of the file is compiled while it downloads, off the main thread,
# instead of on first call (plotly.js calls most of its functions as it runs: ~45 ms sooner to the first chart).
COMPILE_HINT = b"//# allFunctionsCalledOnLoad\n"
_TEXT_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml")
_FAST_BROTLI, _BEST_BROTLI = 5, 11
_CACHE_BYTES = 64 * 1024**2


def plotly_url() -> str:
    """The fingerprinted address of plotly.js (its version in the query), cached for a year."""
    from auditapp.figures.bundle import partial_bundle, plotly_version

    path = PARTIAL_PATH if partial_bundle() is not None else PLOTLY_PATH
    return f"{path}?v={plotly_version()}"


def load_grids_on_demand() -> None:
    """Leave dash-ag-grid's bundle out of the page's scripts (``assets/lazy-grid.js`` fetches it when needed).

    Call before the Dash app is created: Dash reads the packages' script lists then.
    """
    import dash_ag_grid

    for entry in dash_ag_grid._js_dist:
        if entry.get("relative_package_path") == GRID_BUNDLE:
            entry["dynamic"] = True


def grid_url() -> str:
    """The fingerprinted address of dash-ag-grid's bundle, as Dash itself would write it."""
    import dash_ag_grid
    from dash.fingerprint import build_fingerprint

    modified = int(os.stat(Path(dash_ag_grid.__file__).parent / GRID_BUNDLE).st_mtime)
    return f"/_dash-component-suites/dash_ag_grid/{build_fingerprint(GRID_BUNDLE, dash_ag_grid.__version__, modified)}"


# plotly.js runs when it has arrived, not in document order before Dash's scripts (which would wait for it).
# Until it has run, ``window.Plotly`` is a thenable: dcc.Graph waits on it (``Promise.resolve(window.Plotly)``)
# instead of fetching plotly.js a second time; then it is plotly.js itself. ``auditappOnPlotly(fn)`` runs
# ``fn(Plotly)`` once plotly.js has run (at once if it has).
PLOTLY_PROMISE = (
    "(function(){var real=null,waiting=[];"
    "function ready(v){real=v;Object.defineProperty(window,'Plotly',{value:v,writable:true,configurable:true});"
    "waiting.splice(0).forEach(function(f){f(v);});}"
    "var pending={then:function(ok){if(real){ok(real);}else{waiting.push(ok);}}};"
    "Object.defineProperty(window,'Plotly',{configurable:true,get:function(){return real||pending;},set:ready});"
    "window.auditappOnPlotly=function(f){pending.then(f);};})();"
)


def index_string() -> str:
    """Dash's page template with plotly.js fetched from the start and used by every graph."""
    url = plotly_url()
    # Dash's renderer points graphs at the unversioned address; keep them on this (cached) one.
    pin = ('<script>Object.defineProperty(window,"_dashPlotlyJSURL",{configurable:true,'
           f'get:function(){{return "{url}";}},set:function(){{}}}});window.auditappGridURL="{grid_url()}";</script>')
    head = f'{pin}<script>{PLOTLY_PROMISE}</script><script async src="{url}"></script>'
    return f"""<!DOCTYPE html>
<html lang="en">
    <head>
        {{%metas%}}
        <title>{{%title%}}</title>
        {{%favicon%}}
        {head}
        {{%css%}}
    </head>
    <body>
        {{%app_entry%}}
        <footer>
            {{%config%}}
            {{%scripts%}}
            {{%renderer%}}
        </footer>
    </body>
</html>"""


def _encoding(accept: str) -> str | None:
    offered = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    if "br" in offered and _brotli() is not None:
        return "br"
    return "gzip" if "gzip" in offered else None


def _brotli():
    try:
        import brotli
    except ImportError:  # pragma: no cover - brotli is pinned in requirements.txt
        return None
    return brotli


def _compress(data: bytes, encoding: str, *, best: bool) -> bytes:
    if encoding == "br":
        return _brotli().compress(data, quality=_BEST_BROTLI if best else _FAST_BROTLI)
    return gzip.compress(data, compresslevel=9 if best else 6, mtime=0)


def _decompress(data: bytes, encoding: str) -> bytes:
    return _brotli().decompress(data) if encoding == "br" else gzip.decompress(data)


def default_disk_folder() -> Path:
    """Machine-wide folder for best-level copies (content-addressed and checked, so sharing is safe)."""
    return Path(tempfile.gettempdir()) / "auditapp-compressed"


class StaticCache:
    """Compressed copies of static files by (content hash, encoding); the best level computed in the background."""

    def __init__(self, max_bytes: int = _CACHE_BYTES, disk: Path | None = None):
        self._items: OrderedDict[tuple[str, str], tuple[bytes, bool]] = OrderedDict()
        self._pending: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._max_bytes = max_bytes
        self._disk = disk
        self._work: queue.Queue | None = None

    def get(self, data: bytes, encoding: str) -> bytes:
        key = (hashlib.sha256(data).hexdigest(), encoding)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit[0]
        stored = self._read_disk(key)
        if stored is not None:
            self._put(key, stored, best=True)
        elif len(data) > 64 * 1024:
            self._put(key, _compress(data, encoding, best=False), best=False)
            self._improve_later(key, data, encoding)
        else:
            self._put(key, _compress(data, encoding, best=True), best=True)
        with self._lock:
            return self._items[key][0]

    def _disk_path(self, key) -> Path | None:
        return None if self._disk is None else self._disk / f"{key[0]}.{key[1]}"

    def _read_disk(self, key) -> bytes | None:
        path = self._disk_path(key)
        try:
            stored = path.read_bytes() if path is not None else None
            if stored is not None and hashlib.sha256(_decompress(stored, key[1])).hexdigest() == key[0]:
                return stored
        except Exception:  # noqa: BLE001 - an unreadable or wrong copy is ignored, never served
            return None
        return None

    def _write_disk(self, key, value: bytes) -> None:
        path = self._disk_path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
            tmp.write_bytes(value)
            tmp.replace(path)
        except OSError as exc:
            log.info("Could not keep a compressed copy in %s: %s", path.parent, exc)

    def _put(self, key, value: bytes, *, best: bool) -> None:
        with self._lock:
            current = self._items.get(key)
            if current is not None and current[1] and not best:
                return
            self._items[key] = (value, best)
            self._items.move_to_end(key)
            while sum(len(v[0]) for v in self._items.values()) > self._max_bytes and len(self._items) > 1:
                self._items.popitem(last=False)

    def _improve_later(self, key, data: bytes, encoding: str) -> None:
        """Queue the best-level compression; one thread works through the queue, one file at a time."""
        with self._lock:
            if key in self._pending:
                return
            self._pending.add(key)
            if self._work is None:
                self._work = queue.Queue()
                threading.Thread(target=self._worker, name="auditapp-compress", daemon=True).start()
            self._work.put((key, data, encoding))

    def _worker(self) -> None:
        while True:
            key, data, encoding = self._work.get()
            try:
                best = _compress(data, encoding, best=True)
                self._put(key, best, best=True)
                self._write_disk(key, best)
            finally:
                with self._lock:
                    self._pending.discard(key)


def _fingerprinted() -> bool:
    path = request.path
    if path.startswith("/assets/"):
        return "m" in request.args
    if path in (PLOTLY_PATH, PARTIAL_PATH):
        from auditapp.figures.bundle import plotly_version

        return request.args.get("v") == plotly_version()
    return False


def install(server, *, disk: Path | None = None) -> StaticCache:
    """Compress and cache-mark the responses of ``server`` (a Flask app); best-level copies kept in ``disk``."""
    cache = StaticCache(disk=disk if disk is not None else default_disk_folder())
    from auditapp.figures.bundle import partial_bundle

    bundle = partial_bundle()
    if bundle is not None:
        from flask import Response

        # 1.5 MB, kept once per process (its compressed copies are cached too), with the compile hint.
        body = COMPILE_HINT + bundle.read_bytes()
        server.add_url_rule(PARTIAL_PATH, "auditapp_plotly_partial",
                            lambda: Response(body, mimetype="application/javascript"))

    @server.after_request
    def compress_and_cache(response):
        if request.method == "GET" and response.status_code == 200 and _fingerprinted():
            response.cache_control.public = True
            response.cache_control.max_age = YEAR
            response.cache_control.immutable = True
            response.cache_control.no_cache = None
        mimetype = response.mimetype or ""
        if (response.status_code != 200 or response.is_streamed and not response.direct_passthrough
                or "Content-Encoding" in response.headers or not mimetype.startswith(_TEXT_TYPES)):
            return response
        encoding = _encoding(request.headers.get("Accept-Encoding", ""))
        response.vary.add("Accept-Encoding")
        if encoding is None:
            return response
        response.direct_passthrough = False
        data = response.get_data()
        if len(data) < MIN_BYTES:
            return response
        static = request.method == "GET" and request.path.startswith(STATIC_PREFIXES)
        body = cache.get(data, encoding) if static else _compress(data, encoding, best=False)
        response.set_data(body)
        response.headers["Content-Encoding"] = encoding
        response.headers.pop("Accept-Ranges", None)
        return response

    return cache
