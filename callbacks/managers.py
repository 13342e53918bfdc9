"""Dash's background-callback managers for this app: diskcache on one machine, Celery for a team.

Both are supervised: every job runs under ``auditapp.jobs.job_guard`` (its dataset and model are pinned
against expiry, and it has a time limit), and a job whose process died, or that no worker took, is
reported as failed with a message instead of spinning forever. This module uses Dash; the engine's
side of jobs (guards, limits, Celery tasks) is in ``auditapp.jobs``.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Callable

from auditapp.config import Settings
from auditapp.jobs import (
    _HEARTBEAT,
    JOB_LOST,
    JOB_NOT_STARTED,
    _artifacts_in,
    celery_app,
    job_guard,
)
from auditapp.limits import job_queue_wait


def _supervised(fn: Callable, beat_for: Callable[[], Callable[[], None] | None]) -> Callable:
    """Wrap a background callback so it runs under :func:`job_guard`."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        token, ids = _artifacts_in([*args, *kwargs.values()])  # inputs and states, in order
        with job_guard(token, ids, beat=beat_for()):
            return fn(*args, **kwargs)

    return run


def _error(message: str) -> dict:
    return {"background_callback_error": {"msg": message, "tb": ""}}


def _diskcache_manager(settings: Settings):
    import diskcache
    from dash import DiskcacheManager

    class SupervisedDiskcacheManager(DiskcacheManager):
        """Jobs in subprocesses; a dead subprocess without a result is reported as :data:`JOB_LOST`."""

        def make_job_fn(self, fn, progress, key=None):
            return super().make_job_fn(_supervised(fn, lambda: None), progress, key)

        def terminate_job(self, job):
            if job is not None:
                self.handle.set(f"auditapp-ended-{job}", True, expire=3600)
            super().terminate_job(job)

        def get_result(self, key, job):
            result = super().get_result(key, job)
            if (result is self.UNDEFINED and job and not self.job_running(job)
                    and self.handle.get(f"auditapp-ended-{job}") is None):
                result = super().get_result(key, job)  # it may have finished between the two reads
                if result is self.UNDEFINED:
                    self.handle.set(f"auditapp-ended-{job}", True, expire=3600)
                    return _error(JOB_LOST)
            return result

    cache = diskcache.Cache(os.path.join(settings.data_dir, "jobs"))
    return SupervisedDiskcacheManager(cache, expire=3600)


def _celery_manager(settings: Settings):
    from dash import CeleryManager

    app = celery_app(settings.redis_url)

    class SupervisedCeleryManager(CeleryManager):
        """Jobs on Celery workers; a job whose worker died, or that no worker took, is reported failed."""

        def _alive_key(self, job) -> str:
            return f"auditapp-job-alive-{job}"

        def make_job_fn(self, fn, progress, key=None):
            def beat_for():
                from celery import current_task

                job = current_task.request.id if current_task else None
                client = self.handle.backend.client
                return (lambda: client.set(self._alive_key(job), "running", ex=4 * _HEARTBEAT)) if job else None

            return super().make_job_fn(_supervised(fn, beat_for), progress, key)

        def call_job_fn(self, key, job_fn, args, context):
            job = uuid.uuid4().hex
            self.handle.backend.client.set(self._alive_key(job), "queued", ex=job_queue_wait())
            job_fn.apply_async(args=(key, self._make_progress_key(key), args, context), task_id=job)
            return job

        def get_result(self, key, job):
            result = super().get_result(key, job)
            if result is self.UNDEFINED and job:
                state = self.handle.AsyncResult(job).state
                alive = self.handle.backend.client.exists(self._alive_key(job))
                reason = (JOB_LOST if state == "FAILURE" or (state in ("STARTED", "RETRY") and not alive)
                          else JOB_NOT_STARTED if state == "PENDING" and not alive else None)
                if reason and (result := super().get_result(key, job)) is self.UNDEFINED:
                    self.handle.control.revoke(job)
                    return _error(reason)
            return result

    return SupervisedCeleryManager(app, expire=3600)


def background_manager(settings: Settings):
    """The manager for ``@callback(background=True)``: Celery when ``redis_url`` is set, else diskcache."""
    return _celery_manager(settings) if settings.redis_url else _diskcache_manager(settings)
