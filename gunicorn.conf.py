"""gunicorn settings for ``gunicorn app:server`` (read from the working directory; flags override them).

Threads: a user's "Run audit" request waits (it does not compute) while the audit runs in the web
worker's low-priority helper process. With few threads per worker, a burst of users starting audits
takes every thread of a worker and everyone else's quick requests (group metrics, threshold moves)
queue behind them: with 4 threads, 20 users uploading at once pushed the 95th percentile of those
requests past 1 s; with 16 it stayed under 0.25 s (bench/load.py). Waiting threads cost no CPU.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8050')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
threads = int(os.environ.get("AUDITAPP_WEB_THREADS", "16"))
timeout = 120


def post_fork(server, worker):
    """Start this worker's audit helper now, so the first users' audits do not pay for its start-up."""
    from auditapp.service.audit_helper import start_helper
    from auditapp.service.config import Settings

    start_helper(Settings.from_env())  # this worker's settings, read from its environment at start-up
