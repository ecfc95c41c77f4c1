"""Paper speed: a 200-node call tree PDF, the demo region's binder, the binder at scale.

Builds a fresh database (a temporary SQLite file, or a schema of its own on
PostgreSQL that is dropped at the end), loads the demo region, signs in as a
coordinator through /login and times, through the app with the Flask test
client:

1. `GET /binder.pdf` for the demo region (45 actors, two call trees);
2. `GET /calltrees/<id>.pdf` for a regional call tree of 200 nodes (each
   calls three more, with instructions and alternates) added to the demo;
3. `GET /binder.pdf` again after `directory.operations.synth` added a synthetic region
   of `--persons` persons (5 000 by default) on top.

Beside each it reports the pages, the size and the number of SQL statements
of one request (constant in the size of the data: the binder is one data
load). Recording a revision (`POST /binder/revisions`) goes through the print
queue as in production (RQ on REDIS_URL; a worker in this process forks a
work horse for the job): timed at the demo's size and at scale, with the
worker's memory before and after and the work horse's peak.

    .venv/bin/python bench/printing.py [--persons 5000] [--database-url URL] [--repeat 3]
"""

import argparse
import json
import re
import resource
import secrets
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
from sqlalchemy import event, select  # noqa: E402

from bench.setup import add_synthetic_region, dispose, fresh_database, make_app  # noqa: E402
from directory.accounts.users import create_user  # noqa: E402
from directory.calltrees.rules import add_node  # noqa: E402
from directory.core.extensions import db  # noqa: E402
from directory.core.models import Actor, CallTree, Mode, PrintRevision, Role, UserRole, utcnow  # noqa: E402
from directory.operations.demo import load_demo  # noqa: E402

ADMIN_EMAIL = "bench-coordinator@example.org"
# Seconds, from the issue: a tree at once, the region's binder while one waits,
# the national binder well within a coffee.
TARGETS = {"tree": 1.0, "binder": 5.0, "binder at scale": 30.0}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=5000, help="synthetic persons added")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--nodes", type=int, default=200, help="nodes of the big call tree")
    parser.add_argument("--repeat", type=int, default=3, help="timed requests per document")
    parser.add_argument("--keep", help="directory to write the PDFs to (to look at them)")
    return parser.parse_args(argv)


@contextmanager
def counting_statements(engine):
    """Count the SQL statements run inside the block."""
    count = [0]

    def before(*_args, **_kwargs):
        count[0] += 1

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield count
    finally:
        event.remove(engine, "before_cursor_execute", before)


def big_tree(nodes: int) -> int:
    """A regional call tree of `nodes` nodes: each calls three more, breadth first."""
    roles = db.session.scalars(
        select(Role).where(Role.deleted_at.is_(None)).order_by(Role.id)
    ).all()
    actors = db.session.scalars(select(Actor).order_by(Actor.id)).all()
    tree = CallTree(
        name=f"Bench: larmkedja med {nodes} noder",
        mode=Mode.ACTIVATED,
        valid_from=date.today(),
        revision=1,
    )
    db.session.add(tree)
    db.session.flush()
    made = []
    for index in range(nodes):
        parent = made[(index - 1) // 3] if index else None
        made.append(
            add_node(
                tree,
                roles[index % len(roles)],
                parent=parent,
                instructions="Säg: detta är inte en övning. Lämna lägesbild och fråga efter behov "
                "av stöd. Ring vidare till dem under dig i kedjan.",
                escalate_after_minutes=5,
                alternates=[
                    (actors[index % len(actors)], 5),
                    (roles[(index + 7) % len(roles)], 10),
                ],
            )
        )
    return tree.id


def sign_in(client, password: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]
    response = client.post(
        "/login", data={"email": ADMIN_EMAIL, "password": password, "csrf_token": token}
    )
    if response.status_code != 302:
        raise RuntimeError(f"/login answered {response.status_code}")


def pages_of(content: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", content))


def time_get(app, client, url: str, repeat: int, keep: str | None, name: str) -> dict:
    """Seconds for each of `repeat` requests, after one untimed warm-up that also counts."""
    with app.app_context(), counting_statements(db.engine) as statements:
        first = client.get(url)
    if first.status_code != 200:
        raise RuntimeError(f"{url} answered {first.status_code}: {first.text[:500]}")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        (Path(keep) / f"{name}.pdf").write_bytes(first.data)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200
    return {
        "url": url,
        "samples": samples,
        "pages": pages_of(first.data),
        "bytes": len(first.data),
        "statements": statements[0],
    }


def rss_mib(pid: str = "self") -> float:
    """Resident memory of a process now (Linux /proc), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def record_revision(app, client) -> dict:
    """`POST /binder/revisions` through the print queue, as in production: the
    request queues the job and answers; a worker (the print worker's, forking a work
    horse for the job, as `flask print worker` runs it) takes it in this process. Reports
    the request's seconds, the job's seconds (start to end in the work horse),
    the worker's memory before and after, and the work horse's peak."""
    from directory.printing import jobs

    page = client.get("/binder").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]
    started = time.perf_counter()
    response = client.post("/binder/revisions", data={"csrf_token": token, "mode": ""})
    request_took = time.perf_counter() - started
    if response.status_code != 303 or "/binder/jobs/" not in response.headers["Location"]:
        raise RuntimeError(f"POST /binder/revisions answered {response.status_code} "
                           f"{response.headers.get('Location')}")
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    with app.app_context():
        db.engine.dispose()  # as `flask print worker` does: the work horse opens its own
        before = rss_mib()
        started = time.perf_counter()
        jobs.PrintWorker([jobs.queue()], connection=jobs.connection()).work(burst=True)
        worker_took = time.perf_counter() - started
        after = rss_mib()
        job = jobs.Job.fetch(job_id, connection=jobs.connection())
        if job.get_status() != "finished":
            raise RuntimeError(f"the print job ended {job.get_status()}: {job.latest_result()}")
        job_took = (job.ended_at - job.started_at).total_seconds()
    horse_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    done = client.get(f"/binder/jobs/{job_id}.pdf")
    if done.status_code != 200:
        raise RuntimeError(f"the job's PDF answered {done.status_code}")
    return {"request": request_took, "job": job_took, "worker": worker_took,
            "rss_before": before, "rss_after": after, "horse_peak": horse_peak,
            "pages": pages_of(done.data)}


def print_job_row(label: str, row: dict) -> bool:
    passed = row["job"] < TARGETS["binder at scale"] and row["rss_after"] - row["rss_before"] < 100
    print(f"{label}: request {row['request']:.2f} s, job {row['job']:.1f} s in the work horse"
          f" ({row['worker']:.1f} s with the fork), {row['pages']} pages; worker RSS"
          f" {row['rss_before']:.0f} → {row['rss_after']:.0f} MiB, work horse peak"
          f" {row['horse_peak']:.0f} MiB; targets: job < {TARGETS['binder at scale']:g} s,"
          f" worker back within 100 MB: {'PASS' if passed else 'FAIL'}")
    return passed


def print_row(label: str, target: float, row: dict) -> bool:
    median, worst = statistics.median(row["samples"]), max(row["samples"])
    passed = worst < target
    print(
        f"{label:<44} {median:>7.2f} {worst:>7.2f} {row['pages']:>6} "
        f"{row['bytes'] / 1024:>8.0f} {row['statements']:>6} {'<' + format(target, 'g') + ' s':>7} "
        f"{'PASS' if passed else 'FAIL':>6}"
    )
    return passed


def main(argv=None) -> int:
    args = parse_args(argv)
    with fresh_database(args.database_url) as database:
        print(
            f"Database: {database.label}; demo region, a {args.nodes}-node tree, then "
            f"{args.persons} synthetic persons; {args.repeat} timed requests each"
        )
        app = make_app(database)
        # Print jobs on a queue of this run's own, taken by a worker below.
        app.config.update(PRINT_QUEUE=f"kontaktvagar-bench-{secrets.token_hex(4)}",
                          PRINT_JOBS_ASYNC=True, PRINT_WAIT_SECONDS=0)
        password = secrets.token_urlsafe(16)
        try:
            with app.app_context():
                flask_migrate.upgrade()
                load_demo()
                create_user(ADMIN_EMAIL, password, UserRole.ADMIN, name="Bench coordinator")
                db.session.commit()
            client = app.test_client()  # each request gets its own app context
            sign_in(client, password)
            rows = [
                (
                    "binder",
                    "GET /binder.pdf (demo region)",
                    time_get(app, client, "/binder.pdf", args.repeat, args.keep, "binder-demo"),
                )
            ]
            recording = record_revision(app, client)
            with app.app_context():
                snapshot = db.session.scalar(select(PrintRevision.snapshot))
                snapshot_kib = len(json.dumps(snapshot)) / 1024
            with app.app_context():
                tree_id = big_tree(args.nodes)
                db.session.commit()
            rows.insert(
                0,
                (
                    "tree",
                    f"GET /calltrees/<id>.pdf ({args.nodes} nodes)",
                    time_get(
                        app, client, f"/calltrees/{tree_id}.pdf", args.repeat, args.keep, "tree-200"
                    ),
                ),
            )
            with app.app_context():
                region = add_synthetic_region(args.persons, seed=1)
                print(f"Synthetic region: {region.made()} in {region.generate:.1f} s")
                actors = db.session.scalar(select(db.func.count()).select_from(Actor))
            rows.append(
                (
                    "binder at scale",
                    f"GET /binder.pdf ({actors} actors, +{args.persons} persons)",
                    time_get(
                        app,
                        client,
                        "/binder.pdf",
                        max(1, args.repeat - 1),
                        args.keep,
                        "binder-scale",
                    ),
                )
            )
            recording_at_scale = record_revision(app, client)
        finally:
            dispose(app)
    print()
    print("Seconds per request through the app (test client); statements = SQL per request")
    header = (
        f"{'document':<44} {'median':>7} {'worst':>7} {'pages':>6} {'KiB':>8} "
        f"{'SQL':>6} {'target':>7} {'result':>6}"
    )
    print(header)
    print("-" * len(header))
    passed = [print_row(label, TARGETS[name], row) for name, label, row in rows]
    print(f"(the first revision's snapshot is {snapshot_kib:.0f} KiB of JSON)")
    print_job_row("Print a new revision, demo region", recording)
    passed.append(print_job_row(f"Print a new revision, {actors} actors", recording_at_scale))
    print(f"(run at {utcnow():%Y-%m-%d %H:%M} UTC)")
    return 0 if all(passed) else 1


if __name__ == "__main__":
    sys.exit(main())
