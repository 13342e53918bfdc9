"""The auditapp Dash app. ``create_app()`` builds it; ``server`` is the WSGI app for gunicorn.

``gunicorn app:server`` creates the app on first access to ``server`` (nothing heavy runs at import).
"""

from __future__ import annotations

import logging
from pathlib import Path

import dash
from dash import set_props

from auditapp.core.runtime import limit_threads
from auditapp.service.config import Settings

HERE = Path(__file__).resolve().parent
log = logging.getLogger("auditapp.app")


def _on_error(exc: Exception) -> None:
    """Safety net for bugs: log the traceback, show a calm message, keep the app working."""
    from auditapp.service.jobs import failure_message
    from layouts import ids
    from layouts.components import error_alert

    job_message = failure_message(exc)
    if job_message:
        log.warning("Background job failed: %s", job_message)
        set_props(ids.GLOBAL_ALERT, {"children": error_alert(job_message, title="The job did not finish")})
        return
    log.exception("Unhandled error in a callback", exc_info=exc)
    set_props(ids.GLOBAL_ALERT, {"children": error_alert(
        "Something went wrong on our side while updating this view. The error has been logged; "
        "try again, or change the settings.", title="Sorry")})


def create_app(settings: Settings | None = None, *, threads: bool = True) -> dash.Dash:
    """Build the app with ``settings`` (default: read from the environment now, once).

    ``threads=False`` starts no background thread (the sandbox probe, the demo's audit): for a Celery worker,
    which forks its pool processes next. A process forked while a thread imports a module inherits that
    module's import lock held, and its first job to import the module waits forever.

    One app per process: Dash attaches ``@callback``s to the first app created. The settings reach the
    callbacks through ``callbacks.context`` only; ``os.environ`` is left as it is.
    """
    limit_threads()
    settings = settings or Settings.from_env()
    settings.install()  # the compute packages' limits (tables, groups, sandbox, engines) for this process
    import threading

    from auditapp.inputs.sandbox import announce

    # Probing bubblewrap starts a process (~0.5 s): done beside start-up, its verdict logged.
    if threads:
        threading.Thread(target=announce, name="auditapp-sandbox-probe", daemon=True).start()
    from callbacks import assets, context
    from callbacks.first_view import ROUTING_INPUTS
    from callbacks.managers import background_manager
    from layouts.shell import CHARTS_SCRIPT

    store = context.configure(settings)
    assets.load_grids_on_demand()
    app = dash.Dash(
        __name__, use_pages=True, pages_folder=str(HERE / "layouts" / "pages"),
        assets_folder=str(HERE / "layouts" / "assets"),
        suppress_callback_exceptions=True, title="auditapp", on_error=_on_error,
        background_callback_manager=background_manager(settings),
        serve_locally=True, index_string=assets.index_string(), external_scripts=[CHARTS_SCRIPT],
        routing_callback_inputs=ROUTING_INPUTS,  # pages are drawn with their first view (callbacks.first_view)
    )
    assets.install(app.server)  # compression, long-lived caching of fingerprinted files
    app.server.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes + 1024**2
    import callbacks  # noqa: F401  (registers every @callback on this app)
    from callbacks import first_view

    first_view.install()
    from callbacks.routes import register_routes
    from callbacks.shell import make_layout

    register_routes(app.server, store, settings)
    from auditapp.service import auth

    auth.install(app.server, auth.load_users(basic_auth=settings.basic_auth, users_file=settings.users_file),
                 secret=store.signing_key("login"), failures=store.recent_failures,
                 proxies=settings.trusted_proxies, session_seconds=settings.login_seconds)
    from callbacks import browser_session

    browser_session.install(app.server, store, login_path=auth.LOGIN_PATH, logout_path=auth.LOGOUT_PATH)
    initial = None
    if settings.demo:
        from auditapp.service.scenarios import scenario_state

        initial = scenario_state(store, settings.demo)
    if initial is not None and threads:
        # The demo's audit, computed beside start-up: its first visitor's page then opens drawn.
        threading.Thread(target=_audit_demo, args=(store, initial, settings), name="auditapp-demo-audit",
                         daemon=True).start()
    app.layout = make_layout(store, initial)
    _set_up_before_serving(app)
    return app


def _audit_demo(store, state: dict, settings: Settings) -> None:
    """Compute and cache the built-in demo's audit and draw its pages' first views (a failure is logged: the
    pages' callbacks retry it)."""
    from auditapp.service import workspace
    from callbacks import first_view

    try:
        token = store.new_session()
        workspace.audit_for(store, token, state, trust_pickle=settings.trust_pickle)
        first_view.warm(token, state)
    except Exception:
        log.exception("Auditing the demo at start-up failed; its page will audit it when opened")


def _set_up_before_serving(app: dash.Dash) -> None:
    """Run Dash's first-request set-up now, in one thread, before any request arrives.

    Dash 4.4.1 builds its callback map and page router in ``before_request`` hooks on the first
    request, marking them done before doing them and without a lock: on a fresh gunicorn worker, a few
    simultaneous first requests raced (one answered HTTP 500, "dictionary changed size during
    iteration"; others could have been served before the page router existed).
    """
    with app.server.test_request_context("/"):
        for setup in app.server.before_request_funcs.get(None, ()):
            if getattr(setup, "__module__", "").startswith("dash"):
                setup()


_app: dash.Dash | None = None


def __getattr__(name: str):
    global _app
    if name in ("app", "server"):
        if _app is None:
            _app = create_app()
        return _app if name == "app" else _app.server
    raise AttributeError(name)


if __name__ == "__main__":
    create_app().run(debug=False)
