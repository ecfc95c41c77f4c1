"""Search speed at national scale, beside its floor (issues 17 and 18).

Times `directory.lookup.search.search(q)` (what /search and the type-ahead
call) for query samples a duty officer types, each call in a fresh
application context as a request has, and beside it the floor: every SQL
statement the same search sent (the word list, synonyms, the ranking that
finds the ids, the loading of the entries shown), replayed raw on the DBAPI
cursor, without the ORM or any Python ranking; `ids95` is the p95 of the
statements that find the ids alone. `p95/floor` is what our code adds on top
of the database's own work. `--before FILE` times another version of
search.py in turns with ours.

Building a region of 50 000 or 200 000 persons takes minutes on a loaded
machine, so the database is kept and reused: a SQLite file
`<data-dir>/search-<persons>.sqlite`, or the PostgreSQL schema
`kvbench_search_<persons>` in the database given (never dropped). Each run
migrates it to head first; `--reindex` also rebuilds the search index
(`index.reindex_all()`) and prints how long that took.

    .venv/bin/python bench/search.py --persons 50000 [--reindex]
    .venv/bin/python bench/search.py --persons 50000 --database-url postgresql://postgres@127.0.0.1:5432/test_search
    .venv/bin/python bench/search.py --persons 200000 --only "search"
    .venv/bin/python bench/search.py --persons 50000 --profile "search, typo"

Exit status 1 when a p95 is over 50 ms or over 3 times its floor.
"""

import argparse
import math
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
from sqlalchemy import event, select  # noqa: E402

from bench.setup import fill_kept_region, kept_database, make_app  # noqa: E402
from directory import warm_up  # noqa: E402
from directory.core.extensions import db  # noqa: E402
from directory.core.models import Actor, ActorKind  # noqa: E402
from directory.lookup import index as search_index  # noqa: E402
from directory.lookup import search as search_module  # noqa: E402
from directory.operations.synth import analyze_tables  # noqa: E402

TARGET_MS = 50.0
MAX_RATIO = 3.0
SEARCH_TABLES = ("search_term", "search_word", "search_synonym")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--data-dir", default="/work/bench-data", help="where SQLite files stay")
    parser.add_argument("--requests", type=int, default=200, help="timed calls per sample set")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reindex", action="store_true", help="rebuild the index, timed")
    parser.add_argument("--only", action="append", help="only these sample sets (repeatable)")
    parser.add_argument("--no-migrate", action="store_true",
                        help="leave the schema as it is (to time older code on it)")
    parser.add_argument("--before", help="a search.py of an earlier version, timed in turns "
                        "with ours (git show main:directory/lookup/search.py > FILE)")
    parser.add_argument("--profile", help="profile this sample set with cProfile")
    return parser.parse_args(argv)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _typo(rng: random.Random, word: str) -> str:
    """One letter doubled, as a hurried thumb types it ("hanninge")."""
    at = rng.randrange(1, len(word))
    return word[:at] + word[at - 1] + word[at:]


def samples(args) -> dict[str, list[str]]:
    rng = random.Random(args.seed)
    count = args.warmup + args.requests
    places = db.session.scalars(
        select(Actor.short_name).where(Actor.kind == ActorKind.MUNICIPALITY)
    ).all()
    pick = lambda: rng.choice(places).lower()  # noqa: E731
    sets = {
        "search": [f"{pick()} tib" for _ in range(count)],
        "search, one word": [pick() for _ in range(count)],
        "search, typo": [f"{_typo(rng, pick())} tib" for _ in range(count)],
        "search, inside": [pick()[2:] for _ in range(count)],
        "search, inside + tib": [f"{pick()[2:]} tib" for _ in range(count)],
        # what the type-ahead sends while a place and "tib" are typed
        "type-ahead": [
            (lambda p: p[: rng.randrange(2, len(p) + 1)] if rng.random() < 0.5
             else f"{p} {'tib'[: rng.randrange(1, 4)]}")(pick())
            for _ in range(count)
        ],
    }
    return {k: v for k, v in sets.items() if not args.only or k in args.only}


def statements_of(app, query: str) -> list[tuple[str, object, bool]]:
    """The SQL statements a search sends; whether each reads the search tables."""
    seen: list[tuple[str, object, bool]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters, any(t in statement for t in SEARCH_TABLES)))

    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            search_module.search(query)
        finally:
            event.remove(engine, "before_cursor_execute", record)
    return seen


def timed(call, items, warmup) -> list[float]:
    return timed_side_by_side([call], items, warmup)[0]


def timed_side_by_side(calls, items, warmup) -> list[list[float]]:
    """Milliseconds per call of each of `calls`, taking turns item by item.

    Taking turns puts each under the same load: on a shared machine the
    load changes from minute to minute.
    """
    for item in items[:warmup]:
        for call in calls:
            call(item)
    out = [[] for _ in calls]
    for item in items[warmup:]:
        for call, samples in zip(calls, out, strict=True):
            started = time.perf_counter()
            call(item)
            samples.append((time.perf_counter() - started) * 1000)
    return out


def load_before(path: str):
    """Another version of directory/lookup/search.py (say main's), to time beside ours."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("search_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    args = parse_args(argv)
    database, exists = kept_database(args.database_url, args.data_dir, args.persons)
    app = make_app(database)
    print(f"Database: {database.label}; {args.persons} persons")
    with app.app_context():
        if not args.no_migrate:
            started = time.perf_counter()
            flask_migrate.upgrade()
            print(f"Migrated to head in {time.perf_counter() - started:.1f} s")
        if not exists:
            region = fill_kept_region(args.persons, args.seed)
            print(f"Generated {region.made()} in {region.generate:.1f} s "
                  f"(search index {region.report.index_seconds:.1f} s with the card cache)")
        if args.reindex:
            started, cpu = time.perf_counter(), time.process_time()
            words = search_index.reindex_all()
            db.session.commit()
            print(f"Rebuilt the search index ({words} rows) in "
                  f"{time.perf_counter() - started:.1f} s ({time.process_time() - cpu:.1f} s "
                  "CPU of this process; the rest is the database and waiting for a core)")
            analyze_tables()
        if db.engine.dialect.name == "postgresql":
            # after a bulk load: the visibility map, so the index serves alone
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE search_term, search_word")
        sets = samples(args)
    warm_up(app)  # as gunicorn.conf.py does in each worker before its first request
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        with profiler:
            for q in sets[args.profile]:
                with app.app_context():
                    search_module.search(q)
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)
        return 0

    def search_call(q):
        with app.app_context():
            search_module.search(q)

    before = load_before(args.before) if args.before else None

    def before_call(q):
        with app.app_context():
            before.search(q)

    rows, failed = [], False
    for name, items in sets.items():
        replay = {q: statements_of(app, q) for q in dict.fromkeys(items)}
        with app.app_context():
            connection = db.engine.raw_connection()
        try:
            def floor_call(q, connection=connection, replay=replay, ids_only=False):
                cursor = connection.cursor()
                for statement, parameters, finds in replay[q]:
                    if finds or not ids_only:
                        cursor.execute(statement, parameters)
                        if cursor.description is not None:  # not a SET
                            cursor.fetchall()
                cursor.close()
                connection.rollback()

            calls = [search_call, floor_call, lambda q: floor_call(q, ids_only=True)]
            if before is not None:
                calls.append(before_call)
            ours, floor, ids, *then = timed_side_by_side(calls, items, args.warmup)
        finally:
            connection.close()
        p50, p95 = percentile(ours, 50), percentile(ours, 95)
        f50, f95 = percentile(floor, 50), percentile(floor, 95)
        ratio = p95 / f95 if f95 else float("inf")
        statements = sum(len(s) for s in replay.values()) / len(replay)
        ok = p95 <= TARGET_MS and ratio <= MAX_RATIO
        failed |= not ok
        rows.append((name, p50, p95, f50, f95, ratio, percentile(ids, 95), statements,
                     "PASS" if ok else "FAIL",
                     (percentile(then[0], 50), percentile(then[0], 95)) if then else None))
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    print()
    print(f"search() in ms, {args.requests} calls per set after {args.warmup} warm-up. "
          "floor = the same search's SQL statements replayed raw (finding the ids, then "
          "loading the entries shown); ids95 = p95 of the statements that find the ids alone")
    header = (f"{'sample set':<22} {'p50':>6} {'p95':>6} {'floor50':>8} {'floor95':>8} "
              f"{'p95/floor':>9} {'ids95':>6} {'stmts':>6} {'result':>6}"
              + (f" {'before50':>8} {'before95':>8}" if before else ""))
    print(header)
    print("-" * len(header))
    for name, p50, p95, f50, f95, ratio, ids95, statements, result, then in rows:
        print(f"{name:<22} {p50:>6.1f} {p95:>6.1f} {f50:>8.1f} {f95:>8.1f} {ratio:>8.1f}x "
              f"{ids95:>6.1f} {statements:>6.1f} {result:>6}"
              + (f" {then[0]:>8.1f} {then[1]:>8.1f}" if then else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
