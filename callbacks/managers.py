"""Dash's background-callback managers for this app: diskcache on one machine, Celery for a team.

Both are supervised: every job first waits for one of the server's job slots (``auditapp.service.jobs.job_slot``;
its place in line is shown in the shell's job notice), then runs under ``auditapp.service.jobs.job_guard`` (its
dataset and model are pinned against expiry, and it has a time limit); a job whose page stops asking
for it (closed tab) is stopped; and a job whose process died, or that no worker took, is reported as
failed with a message instead of spinning forever. Embedded jobs run at low priority (``nice`` 10).
This module uses Dash; the engine's side of jobs (guards, limits, slots, Celery tasks) is in
``auditapp.service.jobs``.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Callable

from dash import set_props

from auditapp.service.audit_helper import NICENESS
from auditapp.service.config import Settings
from auditapp.service.jobs import (
    HEARTBEAT,
    JOB_LOST,
    JOB_NOT_STARTED,
    artifacts_in,
    celery_app,
    heartbeat,
    job_guard,
    job_slot,
    watch_polls,
)
from auditapp.service.slots import JOBS, Place
from layouts import ids
from layouts.components import info_alert


def _show_place(place: Place, caps) -> None:
    """Tell the page where its job stands (from inside the job: Dash relays it with the next poll)."""
    text = place.message(JOBS, caps)
    set_props(ids.QUEUE_JOB_NOTICE, {"children": info_alert(
        f"{text} Its page's Stop button gives up its place.", dismissable=False)})


def _supervised(fn: Callable, beat_for: Callable[[], Callable[[], None] | None],
                polled_for: Callable[[], Callable[[], bool] | None], *, settings: Settings,
                nice: bool = False) -> Callable:
    """Wrap a background callback: wait for a job slot, then run under :func:`job_guard`.

    ``polled_for()`` gives the check that the page still asks for this job (see ``watch_polls``);
    ``nice`` lowers the job's priority (diskcache: its own process on the web machine).
    """

    @functools.wraps(fn)
    def run(*args, **kwargs):
        token, artifact_ids = artifacts_in([*args, *kwargs.values()], settings)  # inputs and states, in order
        shown = []

        def on_wait(place: Place) -> None:
            _show_place(place, queue_caps)
            shown.append(True)

        queue_caps = settings.job_caps
        with (heartbeat(beat_for()), watch_polls(polled_for(), seconds=settings.job_abandon_after),
              job_slot(token, settings=settings, on_wait=on_wait)):
            if shown:
                set_props(ids.QUEUE_JOB_NOTICE, {"children": None})
            if nice:
                os.nice(NICENESS)
            with job_guard(token, artifact_ids, settings=settings):
                return fn(*args, **kwargs)

    return run


def _polled_key(job) -> str:
    return f"auditapp-job-polled-{job}"


def _error(message: str) -> dict:
    return {"background_callback_error": {"msg": message, "tb": ""}}


def _diskcache_manager(settings: Settings):
    import diskcache
    from dash import DiskcacheManager

    class SupervisedDiskcacheManager(DiskcacheManager):
        """Jobs in subprocesses; a dead subprocess without a result is reported as :data:`JOB_LOST`."""

        def make_job_fn(self, fn, progress, key=None):
            def polled_for():
                job = os.getpid()  # this manager's job id is the pid of the process running it
                return lambda: self.handle.get(_polled_key(job)) is not None

            return super().make_job_fn(_supervised(fn, lambda: None, polled_for, settings=settings, nice=True), progress, key)

        def call_job_fn(self, key, job_fn, args, context):
            job = super().call_job_fn(key, job_fn, args, context)
            self.handle.set(_polled_key(job), True, expire=settings.job_abandon_after)
            return job

        def terminate_job(self, job):
            if job is not None:
                self.handle.set(f"auditapp-ended-{job}", True, expire=3600)
            super().terminate_job(job)

        def get_result(self, key, job):
            if job:
                self.handle.set(_polled_key(job), True, expire=settings.job_abandon_after)
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

    app = celery_app(settings)

    class SupervisedCeleryManager(CeleryManager):
        """Jobs on Celery workers; a job whose worker died, or that no worker took, is reported failed."""

        def _alive_key(self, job) -> str:
            return f"auditapp-job-alive-{job}"

        def make_job_fn(self, fn, progress, key=None):
            def beat_for():
                from celery import current_task

                job = current_task.request.id if current_task else None
                client = self.handle.backend.client
                return (lambda: client.set(self._alive_key(job), "running", ex=4 * HEARTBEAT)) if job else None

            def polled_for():
                from celery import current_task

                job = current_task.request.id if current_task else None
                client = self.handle.backend.client
                return (lambda: bool(client.exists(_polled_key(job)))) if job else None

            return super().make_job_fn(_supervised(fn, beat_for, polled_for, settings=settings), progress, key)

        def call_job_fn(self, key, job_fn, args, context):
            job = uuid.uuid4().hex
            self.handle.backend.client.set(self._alive_key(job), "queued", ex=int(settings.job_caps.max_wait))
            self.handle.backend.client.set(_polled_key(job), 1, ex=int(settings.job_caps.max_wait) + settings.job_abandon_after)
            job_fn.apply_async(args=(key, self._make_progress_key(key), args, context), task_id=job)
            return job

        def get_result(self, key, job):
            if job:
                self.handle.backend.client.set(_polled_key(job), 1, ex=settings.job_abandon_after)
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
