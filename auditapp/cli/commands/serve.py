"""``auditapp serve``: start the web app (development server; use gunicorn for teams)."""

from __future__ import annotations


def register(subparsers) -> None:
    """Add the ``serve`` sub-command."""
    parser = subparsers.add_parser("serve", help="start the web app",
                                   description="Start the auditapp web app on this machine.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8050)
    parser.add_argument("--demo", default="hiring", help="scenario loaded for new sessions ('' for none)")
    parser.add_argument("--data-dir", help="where uploads and cached results live (AUDITAPP_DATA_DIR)")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="accept pickle/joblib models (they run code when loaded: single-user, own files only)")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Build the app with these settings and serve it until interrupted."""
    from dataclasses import replace

    from auditapp.service.config import Settings

    settings = Settings.from_env()  # the environment, read once; the flags override it
    settings = replace(settings, demo=args.demo or None, trust_pickle=args.trust_pickle or settings.trust_pickle,
                       data_dir=args.data_dir or settings.data_dir)
    from auditapp.service.webroot import use_web_root

    use_web_root()  # app.py and its page modules: the checkout's root, or auditapp/_web when installed
    from app import create_app
    from auditapp.inputs.sandbox import announce

    app = create_app(settings)
    print(announce(), flush=True)
    print(f"auditapp is running at http://{args.host}:{args.port}/  (Ctrl+C to stop)", flush=True)
    app.run(host=args.host, port=args.port, debug=False)
    return 0
