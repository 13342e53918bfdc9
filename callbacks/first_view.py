"""Pages that open already drawn: a page's first view comes with the page, not from callbacks after it.

Dash's page router fills the page by a callback once the layout has arrived, and each page's own callbacks
then fetch its figures (one of them chained behind the grouping dropdown's value): three round trips
before the first chart. A page with a *first-view provider* is instead rendered with its figures, by the
same functions its callbacks use:

- on a page load, the app's layout (``layouts.shell``) carries the page the browser asked for (the address
  of the layout request's ``Referer``), with the router's location already set, so the router does not
  render it again;
- on a page switch, Dash's router hands the page the browser's workspace state and token
  (``ROUTING_INPUTS``), and the page comes back drawn.

A provider draws only from what is cached (``context.cached_audit``): a page whose audit is not computed
yet opens empty and its callbacks fill it through the audit queue, with its notice, as before. A page drawn
here holds ``ids.FIRST_VIEW`` = the digest of the state it was drawn for. A page callback's first call
(nothing triggered it) is skipped when that digest is its state's (:func:`already_drawn`): the view on
screen is that state's already. When the browser's stored state is another one (its ``localStorage``,
shared by its tabs), the store's change triggers the callbacks and the page is redrawn for it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import dash
from dash import State, ctx, dcc, html
from dash.development.base_component import Component

from auditapp.core.errors import AuditInputError
from layouts import ids

log = logging.getLogger("auditapp.first_view")

# What Dash's page router passes to every page's layout function (besides the address's query).
ROUTING_INPUTS = {"state": State(ids.STATE_STORE, "data"), "token": State(ids.SESSION_STORE, "data")}

Provider = Callable[[Any, dict], "dict[str, dict[str, Any]] | None"]
_PROVIDERS: dict[str, Provider] = {}


def provides(path: str) -> Callable[[Provider], Provider]:
    """Register ``provider(token, state) -> {component id: {prop: value}}`` as the first view of ``path``.

    The provider returns None when it cannot draw without computing (nothing cached, no dataset yet).
    """

    def register(provider: Provider) -> Provider:
        _PROVIDERS[path] = provider
        return provider

    return register


_REMEMBERED: OrderedDict[tuple[str, str], tuple[weakref.ref, dict]] = OrderedDict()
_REMEMBER = 64
_lock = threading.Lock()


def remembered(path: str, audit: Any, state: dict, draw: Callable[[], dict]) -> dict:
    """``draw()`` for ``path``, kept while ``audit`` (the very object the store holds) is alive.

    A page's first view depends only on its audit and state: switching back to a page reuses it instead of
    building its figures again. Call it after the session's access to ``audit`` was checked.
    """
    key = (path, state_digest(state))
    with _lock:
        hit = _REMEMBERED.get(key)
        if hit is not None and hit[0]() is audit:
            _REMEMBERED.move_to_end(key)
            return hit[1]
    values = draw()
    with _lock:
        _REMEMBERED[key] = (weakref.ref(audit), values)
        while len(_REMEMBERED) > _REMEMBER:
            _REMEMBERED.popitem(last=False)
    return values


_LAST_STATES: OrderedDict[str, dict] = OrderedDict()
_LAST_KEPT = 4096


def note_state(token: Any, state: dict | None) -> None:
    """Remember the state a browser's workspace last audited: its next page load is drawn for it."""
    if not token or not state:
        return
    with _lock:
        _LAST_STATES[str(token)] = state
        _LAST_STATES.move_to_end(str(token))
        while len(_LAST_STATES) > _LAST_KEPT:
            _LAST_STATES.popitem(last=False)


def last_state(token: Any, default: dict | None) -> dict | None:
    """The state this workspace last audited in this process, else ``default`` (e.g. the demo's)."""
    with _lock:
        return _LAST_STATES.get(str(token), default)


def state_digest(state: dict | None) -> str:
    """A short digest of a workspace state (the key a drawn page is checked against)."""
    text = json.dumps(state, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def already_drawn(state: dict | None, drawn_for: str | None) -> bool:
    """True on a page callback's first call when the page came drawn for this very state (skip it)."""
    return drawn_for is not None and drawn_for == state_digest(state) and ctx.triggered_id is None


def hydrate(tree: Component, values: dict[str, dict[str, Any]]) -> int:
    """Set ``values[id][prop]`` on the components of ``tree`` with those ids; return how many were set."""
    found = 0
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(node)
            continue
        if not isinstance(node, Component):
            continue
        props = values.get(getattr(node, "id", None)) if isinstance(getattr(node, "id", None), str) else None
        if props:
            for name, value in props.items():
                setattr(node, name, value)
            found += 1
        children = getattr(node, "children", None)
        if children is not None:
            stack.append(children)
    return found


def drawn_page(path: str, layout: Any, token: Any, state: dict | None, query: dict[str, Any]) -> Any:
    """The page's layout with its first view drawn in, when its provider can draw it from the cache."""
    tree = layout(**query) if callable(layout) else layout
    provider = _PROVIDERS.get(path)
    if provider is None:
        return tree
    values = None
    if token and state:
        try:
            values = provider(token, state)
        except AuditInputError:
            values = None
        except Exception:  # a page must open even when drawing its first view fails: its callbacks fill it
            log.exception("Drawing the first view of %s failed; the page's callbacks will draw it", path)
            values = None
    if values:
        hydrate(tree, values)
    # The page's callbacks read this store: the digest of the state drawn, or None (they draw the page).
    return html.Div([tree, dcc.Store(id=ids.FIRST_VIEW, data=state_digest(state) if values else None)])


def warm(token: Any, state: dict) -> None:
    """Draw every page's first view for ``state`` now (e.g. the demo's, at start-up), so opening them is quick."""
    for path, provider in _PROVIDERS.items():
        try:
            provider(token, state)
        except Exception:  # only a head start: the page draws itself when opened
            log.exception("Drawing the first view of %s ahead of time failed", path)


def install() -> None:
    """Let every registered page be drawn with its first view (call after the app registered its pages)."""
    for page in dash.page_registry.values():
        if getattr(page["layout"], "_auditapp_drawn", False):
            continue
        original, path = page["layout"], page["path"]

        def layout(*, state=None, token=None, _original=original, _path=path, **query):
            return drawn_page(_path, _original, token, state, query)

        layout._auditapp_drawn = True  # type: ignore[attr-defined]
        page["layout"] = layout


@dataclass(frozen=True)
class InitialPage:
    """The page a layout request is for, drawn: the router's location, content and title."""

    pathname: str
    search: str
    content: Any
    title: str


def initial_page(referrer: str | None, token: Any, state: dict | None) -> InitialPage | None:
    """The page at ``referrer`` (the address the browser shows), drawn for ``state``; None if unknown."""
    if not referrer:
        return None
    from dash._pages import _parse_query_string, _path_to_page

    address = urlsplit(referrer)
    app = dash.get_app()
    try:
        page, variables = _path_to_page(app.strip_relative_path(address.path))
    except Exception:  # an address Dash cannot place: let its router answer, as usual
        return None
    if not page:
        return None
    search = f"?{address.query}" if address.query else ""
    query = {**(variables or {}), **_parse_query_string(search)}
    content = page["layout"](state=state, token=token, **query) if callable(page["layout"]) else page["layout"]
    title = page["title"](**(variables or {})) if callable(page["title"]) else page["title"]
    return InitialPage(pathname=address.path, search=search, content=content, title=title)
