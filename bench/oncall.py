"""The on-call board at national scale, beside its floor (issue 21).

Signs in through /login as a viewer and as an editor (of one municipality
and the actors under it) and times, through the app with the Flask test
client, `GET /oncall` unfiltered and with its filters (a kind of actor, a
place, both) and `GET /oncall/rows` (what the page fetches to refresh
itself). Beside each case, the floor: every SQL statement that one request
of the case sent (the session's user, the roles with their actors and
paths, the schedules, the mode states), replayed raw on the DBAPI cursor
with no ORM, no Python and no rendering. `p95/floor` is what our code adds
on top of the database's own work.

The region is the one bench/search.py keeps (`--data-dir`, default
`/work/bench-data`: `search-<persons>.sqlite`, or the schema
`kvbench_search_<persons>` in the PostgreSQL database given, never dropped);
it is built on the first run. Each run migrates it to head and makes (or
resets) the two bench users.

    .venv/bin/python bench/oncall.py --persons 50000
    .venv/bin/python bench/oncall.py --persons 50000 --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/oncall.py --persons 50000 --profile "viewer, all"   # cProfile

With `--page-cache memory` (the default, as served) a board asked for again
with the same filters is served from the page cache until the data changes
or someone's turn ends; the first request of each filter builds it, and that
request's statements are the floor. `--page-cache off` builds every request
anew: what the board costs after a change.

Exit status 1 when a request did not answer 200; the p95 bars (100 ms, 3x
the floor) are printed as PASS/FAIL.
"""

import argparse
import cProfile
import math
import pstats
import random
import re
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
from sqlalchemy import event, func, select  # noqa: E402

from bench.setup import fill_kept_region, kept_database, make_app, viewer_and_editor  # noqa: E402
from directory import warm_up  # noqa: E402
from directory.core.extensions import db  # noqa: E402
from directory.core.models import Actor, ActorKind, Role  # noqa: E402

TARGET_MS = 100.0
MAX_RATIO = 3.0
VIEWER = "bench-oncall-viewer@example.org"
EDITOR = "bench-oncall-editor@example.org"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--data-dir", default="/work/bench-data", help="where SQLite files stay")
    parser.add_argument("--page-cache", choices=("memory", "off"), default="memory",
                        help="memory: as served (a board asked for again is kept); off: "
                             "every request built anew, what a change or a handover costs")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", action="append", help="only these cases (repeatable)")
    parser.add_argument("--profile", help="profile this case with cProfile")
    return parser.parse_args(argv)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def bench_users(password: str) -> str:
    """The viewer and the editor, made or given this run's password; the editor's actor."""
    own = viewer_and_editor(VIEWER, EDITOR, password, "Bench on-call")
    db.session.commit()
    return own.name


def cases(args) -> dict[str, tuple[str, list[dict]]]:
    """Case name → (who signs in, the query strings of its requests)."""
    rng = random.Random(args.seed)
    count = args.warmup + args.requests
    places = db.session.scalars(
        select(Actor.short_name).where(Actor.kind == ActorKind.MUNICIPALITY)
    ).all()
    kinds = [k.value for k in ActorKind]
    found = {
        "viewer, all": ("viewer", [{} for _ in range(count)]),
        "viewer, kind": ("viewer", [{"kind": rng.choice(kinds)} for _ in range(count)]),
        "viewer, place": ("viewer", [{"place": rng.choice(places)} for _ in range(count)]),
        "viewer, kind + place": ("viewer", [
            {"kind": "municipality", "place": rng.choice(places)} for _ in range(count)]),
        "viewer, refresh rows": ("viewer", [{} for _ in range(count)]),
        "editor, all": ("editor", [{} for _ in range(count)]),
        "editor, place": ("editor", [{"place": rng.choice(places)} for _ in range(count)]),
    }
    return {k: v for k, v in found.items() if not args.only or k in args.only}


def path_of(case: str) -> str:
    return "/oncall/rows" if "refresh" in case else "/oncall"


def sign_in(client, email: str, password: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if not match:
        raise RuntimeError("no CSRF token on /login")
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": match[1]})
    if response.status_code != 302:
        raise RuntimeError(f"/login as {email} answered {response.status_code}")


def statements_of(app, client, path: str, query: dict) -> tuple[list, int]:
    """The SQL statements one request sent, and its status."""
    seen: list = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        status = client.get(path, query_string=query).status_code
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen, status


def key(query: dict) -> tuple:
    return tuple(sorted(query.items()))


def main(argv=None) -> int:
    args = parse_args(argv)
    database, exists = kept_database(args.database_url, args.data_dir, args.persons)
    app = make_app(database, PAGE_CACHE=args.page_cache)
    password = secrets.token_urlsafe(16)
    print(f"Database: {database.label}; {args.persons} persons; page cache {args.page_cache}")
    with app.app_context():
        flask_migrate.upgrade()
        if not exists:
            region = fill_kept_region(args.persons, args.seed)
            print(f"Generated {region.made()} in {region.generate:.1f} s")
        editor_of = bench_users(password)
        live = (Actor.deleted_at.is_(None),)
        actors = db.session.scalar(select(func.count()).select_from(Actor).where(*live))
        roles = db.session.scalar(
            select(func.count()).select_from(Role).join(Role.actor)
            .where(Role.deleted_at.is_(None), *live))
        print(f"{actors} live actors, {roles} live duty roles; the editor edits {editor_of}")
        sets = cases(args)

    clients = {}
    for who, email in (("viewer", VIEWER), ("editor", EDITOR)):
        clients[who] = app.test_client()
        sign_in(clients[who], email, password)
    warm_up(app)  # as gunicorn.conf.py does in each worker before its first request

    if args.profile:
        who, queries = sets[args.profile]
        profiler = cProfile.Profile()
        profiler.enable()
        for query in queries:
            clients[who].get(path_of(args.profile), query_string=query)
        profiler.disable()
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)
        return 0

    print()
    print(f"Milliseconds per request through the app (test client), {args.requests} per case "
          f"after {args.warmup} warm-up; floor = the same request's SQL statements replayed "
          "raw on the DBAPI cursor. Bars: p95 <= 100 ms and <= 3x the floor's p95.")
    header = (f"{'case':<42} {'p50':>6} {'p95':>6} {'floor50':>8} {'floor95':>8} "
              f"{'p95/floor':>9} {'stmts':>6} {'result':>6}")
    print(header)
    print("-" * len(header), flush=True)
    bad = []
    for name, (who, queries) in sets.items():
        client, path = clients[who], path_of(name)
        replay, statuses = {}, []
        for query in queries:
            if key(query) not in replay:
                replay[key(query)], status = statements_of(app, client, path, query)
                statuses.append(status)
        with app.app_context():
            connection = db.engine.raw_connection()
        try:
            def request(query, client=client, path=path, statuses=statuses):
                statuses.append(client.get(path, query_string=query).status_code)

            def floor(query, connection=connection, replay=replay):
                cursor = connection.cursor()
                for statement, parameters in replay[key(query)]:
                    cursor.execute(statement, parameters)
                    if cursor.description is not None:  # not a SET
                        cursor.fetchall()
                cursor.close()
                connection.rollback()

            ours, floors = [], []
            for i, query in enumerate(queries):  # in turns, under the same load
                for call, samples in ((request, ours), (floor, floors)):
                    started = time.perf_counter()
                    call(query)
                    if i >= args.warmup:
                        samples.append((time.perf_counter() - started) * 1000)
        finally:
            connection.close()
        failed = [s for s in statuses if s != 200]
        if failed:
            bad.append(f"{name}: {len(failed)} of {len(statuses)} requests answered "
                       f"{failed[0]}")
        p95, f95 = percentile(ours, 95), percentile(floors, 95)
        ratio = p95 / f95 if f95 else float("inf")
        statements = sum(len(s) for s in replay.values()) / len(replay)
        ok = not failed and p95 <= TARGET_MS and ratio <= MAX_RATIO
        print(f"{f'GET {path} ({name})':<42} {percentile(ours, 50):>6.1f} {p95:>6.1f} "
              f"{percentile(floors, 50):>8.1f} {f95:>8.1f} {ratio:>8.1f}x {statements:>6.1f} "
              f"{'PASS' if ok else 'FAIL':>6}", flush=True)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()

    for line in bad:
        print(f"not 200: {line}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
