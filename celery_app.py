"""The Celery app for ``celery -A celery_app worker`` (the scaled deployment: AUDITAPP_REDIS_URL set).

A worker must know every background callback, and Dash attaches ``@callback``s to the first app in a
process, so the worker builds the same Dash app as the web processes (``create_app``) and then uses
the Celery app that app's background-callback manager registered its jobs on.
"""

from __future__ import annotations

import sys

from auditapp.service.config import Settings
from auditapp.service.jobs import celery_app as _celery_app

settings = Settings.from_env()  # this worker's settings, read from its environment once, at start-up
if not settings.redis_url:
    sys.exit("celery_app: set AUDITAPP_REDIS_URL (e.g. redis://127.0.0.1:6379/0) before starting a worker.")

from app import create_app  # noqa: E402  (after the check: building the app takes a few seconds)

dash_app = create_app(settings, threads=False)  # no thread may run while the worker forks its pool processes
app = _celery_app(settings)
