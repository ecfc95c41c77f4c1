"""The reminder run for the whole region: time and memory at 50 000 persons.

Builds a fresh database (a temporary SQLite file, or a schema of its own on
PostgreSQL, dropped at the end) with the synthetic region of `--persons`
persons (bench/setup.py), gives every actor an editor (daily digests), adds
five coordinators, and records calls on a share of the paths (most reached,
some failed, the rest never called). Then it runs `send_reminders` as
`flask reminders send` does, against a real SMTP server in this process
(aiosmtpd on 127.0.0.1, from the dev requirements, in a process of its own
as a real server is), and reports:

- the seconds of the whole run (read the region once, render and send every
  digest, log each), against the goal of 60 s, and the CPU seconds of this
  process (on a busy machine the wall clock says more about the neighbours);
- the resident memory while it runs, sampled every 20 ms: its growth over
  the run, at `--persons` and at a fifth of it, so "flat" is a ratio (the
  growth should not follow the size of the region: what the run holds is a
  few values per actor, never every path as an object).

    .venv/bin/python bench/reminders.py [--persons 50000] [--database-url URL]
"""

import argparse
import multiprocessing
import os
import random
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from bench.setup import build_region, dispose, fresh_database, make_app  # noqa: E402
from directory.core.extensions import db  # noqa: E402
from directory.core.models import (  # noqa: E402
    Actor,
    CallOutcome,
    CheckSource,
    ContactPoint,
    PathCheck,
    ReminderFrequency,
    User,
    UserActor,
    UserRole,
    utcnow,
)
from directory.reminders.send import send_reminders  # noqa: E402
from tests.smtp import free_port  # noqa: E402

GOAL_SECONDS = 60.0
PAGE = os.sysconf("SC_PAGE_SIZE")


def _serve_smtp(port: int, received, ready) -> None:
    """An SMTP server in a process of its own (as a real one is): counts what it accepts."""
    from aiosmtpd.controller import Controller

    class Counter:
        async def handle_DATA(self, server, session, envelope):
            with received.get_lock():
                received.value += 1
            return "250 OK"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    threading.Event().wait()


class SmtpProcess:
    def __init__(self):
        self.port = free_port()
        self.received = multiprocessing.Value("i", 0)
        ready = multiprocessing.Event()
        self.process = multiprocessing.Process(target=_serve_smtp, daemon=True,
                                               args=(self.port, self.received, ready))
        self.process.start()
        ready.wait(10)

    def stop(self) -> None:
        self.process.terminate()
        self.process.join()


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


class MemorySampler:
    """The largest resident size seen while it runs."""

    def __init__(self):
        self.peak = rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())


def add_people_and_calls(seed: int) -> dict:
    """An editor per actor, five coordinators, and calls on 60 % of the paths."""
    rng = random.Random(seed)
    actor_ids = db.session.scalars(select(Actor.id).where(Actor.deleted_at.is_(None))).all()
    users = [{"email": f"editor{n}@bench.example", "password_hash": "x", "name": f"Editor {n}",
              "role": UserRole.EDITOR, "active": True, "version": 1, "mode_notices": True,
              "reminder_frequency": ReminderFrequency.DAILY, "locale": rng.choice(["sv", "en"]),
              "created_at": utcnow(), "updated_at": utcnow()}
             for n in range(len(actor_ids))]
    users += [{**users[0], "email": f"coordinator{n}@bench.example", "role": UserRole.ADMIN,
               "name": f"Coordinator {n}"} for n in range(5)]
    db.session.execute(insert(User), users)
    editors = db.session.scalars(select(User.id).where(User.role == UserRole.EDITOR)
                                 .order_by(User.id)).all()
    db.session.execute(insert(UserActor), [{"user_id": u, "actor_id": a}
                                           for u, a in zip(editors, actor_ids, strict=True)])
    now = utcnow()
    point_ids = db.session.scalars(select(ContactPoint.id)).all()
    checks = []
    for point_id in point_ids:
        roll = rng.random()
        if roll < 0.6:
            checks.append({
                "contact_point_id": point_id, "note": "",
                "at": now - timedelta(days=rng.randint(0, 400)),
                "outcome": CallOutcome.FAILED if roll < 0.02 else CallOutcome.REACHED,
                "source": rng.choice(list(CheckSource))})
    for start in range(0, len(checks), 5000):
        db.session.execute(insert(PathCheck), checks[start:start + 5000])
    db.session.commit()
    return {"actors": len(actor_ids), "editors": len(editors), "paths": len(point_ids),
            "calls": len(checks)}


def measure(persons: int, url: str | None) -> dict:
    with fresh_database(url, prefix="kvreminders") as database:
        app = make_app(database)
        region = build_region(app, persons)
        server = SmtpProcess()
        try:
            app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port,
                              BASE_URL="https://kontakt.example.se")
            with app.app_context():
                made = add_people_and_calls(seed=persons)
                db.session.remove()
            with app.app_context(), app.test_request_context(base_url=app.config["BASE_URL"]):
                before = rss()
                started, cpu = time.perf_counter(), time.process_time()
                with MemorySampler() as memory:
                    report = send_reminders(utcnow().date(), utcnow())
                seconds = time.perf_counter() - started
                cpu = time.process_time() - cpu
            assert report.error is None, report.error
            return {"persons": persons, "label": database.label, "made": region.made(),
                    **made, "sent": len(report.sent), "received": server.received.value,
                    "seconds": seconds, "cpu": cpu, "growth_mb": (memory.peak - before) / 2**20,
                    "rss_mb": memory.peak / 2**20}
        finally:
            server.stop()
            dispose(app)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=50000)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--no-compare", action="store_true",
                        help="measure --persons only (no run at a fifth of it)")
    args = parser.parse_args(argv)
    small = None if args.no_compare else measure(max(args.persons // 5, 1000),
                                                 args.database_url)
    big = measure(args.persons, args.database_url)
    for row in filter(None, (small, big)):
        print(f"{row['persons']:>6} persons on {row['label']}: {row['paths']} paths, "
              f"{row['calls']} calls recorded, {row['actors']} actors")
        print(f"        {row['sent']} digests sent ({row['received']} received by the SMTP "
              f"server) in {row['seconds']:.1f} s ({row['cpu']:.1f} s CPU of this process); "
              f"memory grew {row['growth_mb']:.1f} MB "
              f"(peak RSS {row['rss_mb']:.0f} MB)")
    if small:
        print(f"Size x{args.persons / small['persons']:.0f}: memory growth "
              f"{small['growth_mb']:.1f} MB -> {big['growth_mb']:.1f} MB, "
              f"time x{big['seconds'] / small['seconds']:.2f}")
    verdict = "met" if big["seconds"] <= GOAL_SECONDS else "MISSED"
    print(f"Goal: the whole region in <= {GOAL_SECONDS:.0f} s: {verdict} "
          f"({big['seconds']:.1f} s)")


if __name__ == "__main__":
    main()
