"""Lookup latency at national scale: search, reverse lookup and actor pages.

Builds a fresh database (a temporary SQLite file, or a schema of its own on
PostgreSQL that is dropped at the end), fills it with `directory.operations.synth`, signs
in as a viewer through /login, then times requests through the app with the
Flask test client. Beside each endpoint it times the "floor": the bare
database work behind it, each call in a fresh application context as a
request has. The ratio p95/floor p95 shows what the view adds (sign-in check,
on-call resolution, rendering).

    .venv/bin/python bench/lookup.py [--persons 50000] [--database-url URL] [--requests 300]
"""

import argparse
import math
import random
import re
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import selectinload  # noqa: E402

from bench.setup import build_region, dispose, fresh_database, make_app  # noqa: E402
from directory import warm_up  # noqa: E402
from directory.accounts.users import create_user  # noqa: E402
from directory.core.extensions import db  # noqa: E402
from directory.core.models import (  # noqa: E402
    Actor,
    ActorKind,
    ContactKind,
    ContactPoint,
    Person,
    Role,
    UserRole,
)
from directory.core.numbers import display_phone  # noqa: E402
from directory.lookup.numbers import lookup_number  # noqa: E402
from directory.lookup.search import search  # noqa: E402

VIEWER_EMAIL = "bench-viewer@example.org"
# p95 targets in milliseconds, from "answers in well under a second" at 03:00.
TARGETS = {
    "search": 50.0, "search, typo": 50.0, "search, inside": 50.0,
    "reverse lookup": 50.0, "actor page": 80.0,
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=50_000, help="size of the synthetic region")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per endpoint")
    parser.add_argument("--warmup", type=int, default=30, help="untimed calls first")
    parser.add_argument("--seed", type=int, default=1, help="seed of the region and the samples")
    return parser.parse_args(argv)


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def timed(call: Callable, items: list, warmup: int) -> list[float]:
    """Milliseconds per call for the items after the first `warmup` ones."""
    for item in items[:warmup]:
        call(item)
    samples = []
    for item in items[warmup:]:
        started = time.perf_counter()
        call(item)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def build(app, args) -> tuple[dict, float]:
    """Schema, synthetic region and viewer; returns the samples and generation time."""
    password = secrets.token_urlsafe(16)
    region = build_region(app, args.persons, args.seed)
    report, generation = region.report, region.generate
    with app.app_context():
        print(f"Generated {region.made()}")
        print(
            f"Generation took {generation:.1f} s (plan {report.plan_seconds:.1f} s, "
            f"insert {report.insert_seconds:.1f} s, search index {report.index_seconds:.1f} s "
            f"for {report.words} words, commit and analyze "
            f"{generation - report.seconds:.1f} s)"
        )
        create_user(VIEWER_EMAIL, password, UserRole.VIEWER, name="Bench viewer")
        db.session.commit()

        rng = random.Random(args.seed)
        count = args.warmup + args.requests
        places = db.session.scalars(
            select(Actor.short_name).where(Actor.kind == ActorKind.MUNICIPALITY)
        ).all()
        mobiles = db.session.scalars(
            select(ContactPoint.value)
            .where(ContactPoint.kind == ContactKind.MOBILE)
            .order_by(ContactPoint.id)
        ).all()
        slugs = db.session.scalars(select(Actor.slug).order_by(Actor.id)).all()
        region = app.config["DEFAULT_REGION"]
        samples = {
            "search": [f"{rng.choice(places)} tib" for _ in range(count)],
            # a letter doubled ("hanninge"), and a word's end ("ninge"): issue 17
            "search, typo": [_typo(rng, rng.choice(places)) + " tib" for _ in range(count)],
            "search, inside": [rng.choice(places)[2:] for _ in range(count)],
            "reverse lookup": [display_phone(rng.choice(mobiles), region) for _ in range(count)],
            "actor page": [rng.choice(slugs) for _ in range(count)],
        }
    return {"samples": samples, "password": password}, generation


def _typo(rng: random.Random, word: str) -> str:
    """The word with one letter doubled, as a hurried thumb types it."""
    at = rng.randrange(1, len(word))
    return word[:at] + word[at - 1] + word[at:]


def sign_in(client, password: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if not match:
        raise RuntimeError("no CSRF token on /login")
    response = client.post(
        "/login", data={"email": VIEWER_EMAIL, "password": password, "csrf_token": match[1]}
    )
    if response.status_code != 302:
        raise RuntimeError(f"/login answered {response.status_code}")


def actor_floor(slug: str) -> None:
    """The actor page's bare database work: the actor and the paths it shows."""
    db.session.scalar(
        select(Actor)
        .where(Actor.slug == slug)
        .options(
            selectinload(Actor.contact_points),
            selectinload(Actor.roles).selectinload(Role.contact_points),
            selectinload(Actor.persons).selectinload(Person.contact_points),
        )
    )


# name, label, request for a sample (path, query string), floor for a sample, and
# text the first answer must contain (so a page that answers 200 but finds
# nothing is noticed)
ENDPOINTS = (
    ("search", "GET /search?q=<place> tib", lambda q: ("/search", {"q": q}), search,
     lambda q: q.split()[0]),
    ("search, typo", "GET /search?q=<plaace> tib", lambda q: ("/search", {"q": q}), search,
     None),
    ("search, inside", "GET /search?q=<lace>", lambda q: ("/search", {"q": q}), search, None),
    ("reverse lookup", "GET /search?q=<070-...>", lambda q: ("/search", {"q": q}),
     lookup_number, lambda q: q),
    ("actor page", "GET /actors/<slug>", lambda slug: (f"/actors/{slug}", None), actor_floor,
     None),
)  # fmt: skip


def measure(app, built: dict, args) -> list[dict]:
    """Time every endpoint and its floor; one row per endpoint."""
    client = app.test_client()  # outside any app context: each request gets its own
    try:
        sign_in(client, built["password"])
        signed_in = None
    except Exception as error:  # measure the floors all the same
        signed_in = f"signing in failed ({type(error).__name__}: {error})"
    warm_up(app)  # as gunicorn.conf.py does in each worker before its first request
    rows = []
    for name, label, request, floor, expect in ENDPOINTS:
        items = built["samples"][name]
        statuses: list = []  # status codes, or the error a request raised

        def call(item, request=request, statuses=statuses):
            path, query = request(item)
            try:
                response = client.get(path, query_string=query)
            except Exception as error:  # the app is being built by others; keep measuring
                statuses.append(f"{type(error).__name__}: {error}")
                return None
            statuses.append(response.status_code)
            return response

        def floor_call(item, floor=floor):
            with app.app_context():  # a fresh session, as a request has
                floor(item)

        row = {"name": name, "label": label, "notes": []}
        first = None if signed_in else call(items[0])
        if signed_in:
            row["notes"].append(f"{signed_in}; only the floor is measured")
        elif first is None or first.status_code != 200:
            row["notes"].append(
                f"{request(items[0])[0]} answered {statuses[0]}: the endpoint is not "
                "available; only its floor is measured"
            )
        else:
            if expect and expect(items[0]) not in first.text:
                row["notes"].append(f"the answer to {items[0]!r} lacks {expect(items[0])!r}")
            row["http"] = timed(call, items, args.warmup)
            bad = [s for s in statuses if s != 200]
            if bad:
                row["notes"].append(f"{len(bad)} of {len(statuses)} requests answered {bad[0]}")
        row["ok"] = bool(statuses) and all(s == 200 for s in statuses)
        row["floor"] = timed(floor_call, items, args.warmup)
        rows.append(row)
    return rows


def print_table(rows: list[dict]) -> None:
    header = (
        f"{'endpoint':<28} {'p50':>7} {'p95':>7} {'floor p50':>9} {'floor p95':>9} "
        f"{'p95/floor':>9} {'target':>9} {'result':>6}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        floor50, floor95 = percentile(row["floor"], 50), percentile(row["floor"], 95)
        target = TARGETS[row["name"]]
        if "http" in row:
            p50, p95 = percentile(row["http"], 50), percentile(row["http"], 95)
            passed = p95 < target and row["ok"]
            cells = f"{p50:>7.1f} {p95:>7.1f}"
            ratio = f"{p95 / floor95:>8.1f}x"
            result = "PASS" if passed else "FAIL"
        else:
            cells = f"{'n/a':>7} {'n/a':>7}"
            ratio = f"{'n/a':>9}"
            result = "n/a"
        print(
            f"{row['label']:<28} {cells} {floor50:>9.1f} {floor95:>9.1f} {ratio} "
            f"{'<' + format(target, '.0f') + ' ms':>9} {result:>6}"
        )
    for row in rows:
        for note in row["notes"]:
            print(f"note: {row['name']}: {note}")


def main(argv=None) -> int:
    args = parse_args(argv)
    with fresh_database(args.database_url) as database:
        print(
            f"Database: {database.label}; {args.persons} persons; "
            f"{args.requests} timed requests per endpoint after {args.warmup} warm-up"
        )
        app = make_app(database)
        try:
            built, _generation = build(app, args)
            rows = measure(app, built, args)
        finally:
            dispose(app)
    print()
    print("Latency in ms (through the app with the test client; floor = bare database work)")
    print_table(rows)
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
