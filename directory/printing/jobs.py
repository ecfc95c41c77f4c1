"""Binder revisions built outside the request, on an RQ queue in Redis.

The whole region's binder takes tens of seconds and hundreds of megabytes to
lay out at national scale: longer than a request may take, and memory a web
worker would keep. "Print a new revision" and "Preview PDF" on the binder page therefore put a
job on the print queue (RQ, on the Redis every app server shares) and answer
at once; a print worker (`flask --app wsgi print worker`) records the
revision (or lays out the preview), and keeps the PDF it laid out for the
person who asked in Redis for an hour. RQ's
worker forks a work horse per job, so the worker's memory is back where it
started when the job ends. The person follows the job on a page of its own
(`/binder/jobs/<id>`) that shows what it is doing, then the download.

A small binder (one actor's) is usually done within a moment: the request
waits up to PRINT_WAIT_SECONDS for it and then goes straight to the PDF, as
before. Only the person who asked sees a job and its PDF (the PDF holds the
numbers that person may see). When the queue cannot be reached, the page
prints in the request, as it did before there was a queue: a binder is what
people reach for when other things are down.
"""

import gc
import time

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale, get_locale
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy.exc import IntegrityError

from directory.core.extensions import db
from directory.core.models import Actor, User
from directory.printing.binder import record_and_render, render_preview

PDF_SECONDS = 3600  # a finished job's PDF is kept this long for its download
JOB_SECONDS = 900  # a job that runs longer than this is stopped (and says so)

# What a job is doing, for its page (the page words them).
QUEUED, BUILDING, DONE, COLLIDED, FAILED = "queued", "building", "done", "collided", "failed"


class QueueUnavailable(Exception):
    """Redis cannot be reached: print in the request instead."""


def connection() -> Redis:
    return Redis.from_url(current_app.config["REDIS_URL"], socket_connect_timeout=1,
                          socket_timeout=5)


def queue() -> Queue:
    return Queue(current_app.config["PRINT_QUEUE"], connection=connection(),
                 is_async=current_app.config["PRINT_JOBS_ASYNC"])


def _pdf_key(job_id: str) -> str:
    return f"{current_app.config['PRINT_QUEUE']}:pdf:{job_id}"


def start(job, actor: Actor | None, user: User, mode: str | None, at) -> Job:
    """Queue a print job (`build_revision` or `build_preview`) for `user`; wait a
    moment for a small one. Raises QueueUnavailable when Redis does not answer."""
    try:
        queued = queue().enqueue(
            job, actor.id if actor else None, user.id, mode,
            at.isoformat() if at else None, str(get_locale() or "sv"),
            job_timeout=JOB_SECONDS, result_ttl=PDF_SECONDS, failure_ttl=PDF_SECONDS,
            meta={"user_id": user.id, "actor_id": actor.id if actor else None,
                  "step": QUEUED},
        )
        deadline = time.monotonic() + current_app.config["PRINT_WAIT_SECONDS"]
        while queued.get_status() not in (JobStatus.FINISHED, JobStatus.FAILED) \
                and time.monotonic() < deadline:
            time.sleep(0.1)
    except RedisError as error:
        raise QueueUnavailable(str(error)) from error
    return queued


def find(job_id: str, user: User) -> Job | None:
    """The user's own print job, or None (unknown, expired, or someone else's)."""
    try:
        job = Job.fetch(job_id, connection=connection())
    except (NoSuchJobError, RedisError, ValueError):
        return None
    return job if job.meta.get("user_id") == user.id else None


def progress(job: Job) -> dict:
    """What the job's page shows: its step, and the revision once it is recorded."""
    status = job.get_status()
    job.refresh()
    outcome = job.return_value() if status == JobStatus.FINISHED else None
    step = job.meta.get("step", QUEUED)
    if status == JobStatus.FAILED or (status in (JobStatus.STOPPED, JobStatus.CANCELED)):
        step = FAILED
    elif outcome:
        step = outcome.get("step", DONE)
    return {"step": step, "outcome": outcome or {}, "enqueued_at": job.enqueued_at,
            "started_at": job.started_at, "ended_at": job.ended_at}


def pdf(job: Job) -> bytes | None:
    try:
        return connection().get(_pdf_key(job.id))
    except RedisError:
        return None


def _step(step: str) -> None:
    job = get_current_job()
    if job is not None:
        job.meta["step"] = step
        job.save_meta()


def _keep(content: bytes) -> None:
    job = get_current_job()
    if job is not None:
        job.connection.set(_pdf_key(job.id), content, ex=PDF_SECONDS)


def _entries(actor_id, user_id, at_iso):
    from datetime import datetime

    user = db.session.get(User, user_id)
    actor = db.session.get(Actor, actor_id) if actor_id else None
    return actor, user, datetime.fromisoformat(at_iso) if at_iso else None


def build_revision(actor_id, user_id, mode, at_iso, locale) -> dict:
    """The job behind "Print a new revision": record it, keep the PDF it laid out
    for the person who asked.

    Runs in the print worker, inside the app context its command pushed (or,
    with PRINT_JOBS_ASYNC off, in the request).
    """
    with force_locale(locale):
        _step(BUILDING)
        actor, user, at = _entries(actor_id, user_id, at_iso)
        try:
            revision, content = record_and_render(actor, user, mode, at)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            return {"step": COLLIDED}
        outcome = {"step": DONE, "kind": "revision", "revision_id": revision.id,
                   "number": revision.number, "title": revision.title,
                   "filename": f"{revision.title} {revision.number}"}
    _keep(content)
    current_app.logger.info("binder %s revision %d recorded by user %s (print job)",
                            revision.scope, revision.number, user_id)
    return outcome


def build_preview(actor_id, user_id, mode, at_iso, locale) -> dict:
    """The job behind "Preview PDF": the binder as it would print now; records nothing."""
    with force_locale(locale):
        _step(BUILDING)
        actor, user, at = _entries(actor_id, user_id, at_iso)
        content, name = render_preview(actor, user, mode, at)
        db.session.rollback()  # read only
    _keep(content)
    return {"step": DONE, "kind": "preview", "filename": name}


class PrintWorker(Worker):
    """RQ's worker, whose work horses do without Python's cycle collector.

    A work horse lives for one job and gives all its memory back when it
    exits, so collecting cycles in it only costs time: walking the objects it
    inherited from the worker and the millions a national binder makes (the
    collection at the end of a binder took seconds, of a job that must stay
    under half a minute).
    """

    def main_work_horse(self, job, queue):
        gc.freeze()  # what the worker holds: never walked in the horse
        gc.disable()
        super().main_work_horse(job, queue)


print_cli = AppGroup("print", help="The print queue: binder revisions built in the background.")


@print_cli.command("worker")
@click.option("--burst", is_flag=True, help="Work through the queue, then stop.")
def worker_command(burst):
    """Build queued binder revisions (run one or more beside the app servers)."""
    db.engine.dispose()  # each job's work horse opens its own connections
    PrintWorker([queue()], connection=connection()).work(burst=burst)


def init_app(app) -> None:
    app.cli.add_command(print_cli)
