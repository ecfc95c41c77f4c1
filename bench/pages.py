"""Every page at national scale: which ones grow with the region.

Signs in as a coordinator (who may open every page) and as an editor of one
municipality, and opens every GET page of the app once each on the kept
region (`bench/search.py`'s: `<data-dir>/search-<persons>.sqlite`, or the
schema `kvbench_search_<persons>` in the PostgreSQL database given), with
the page cache off: what a page costs after a change. Path arguments are
filled from the editor's municipality (its slug, a role, a person, a path,
a call tree...). Prints the slowest and the largest pages, with their size
and status: a page of the whole region's entries shows here as seconds or
megabytes (a role's escalation page was 7.7 s and 17 MB at 50 000 persons,
/review 8.6 s and 12.6 MB).

The API, CardDAV and static files are left out (bench/throughput.py,
bench/carddav.py). The binder's preview (`/binder.pdf`) lays out the whole
region in the request: about 30 s at 50 000 persons (bench/printing.py).

    .venv/bin/python bench/pages.py --persons 50000
    .venv/bin/python bench/pages.py --persons 50000 --database-url postgresql://postgres@127.0.0.1:5432/test

Exit status 1 when a page answered 500.
"""

import argparse
import re
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.oncall import EDITOR, sign_in  # noqa: E402
from bench.setup import (  # noqa: E402
    fill_kept_region,
    kept_database,
    make_app,
    viewer_and_editor,
)
from directory import warm_up  # noqa: E402
from directory.core.extensions import db  # noqa: E402
from directory.core.models import (  # noqa: E402
    CallTree,
    CollaborationPattern,
    ContactPoint,
    Person,
    Role,
    Rotation,
    Scenario,
    Shift,
    UserRole,
)

COORDINATOR = "bench-pages-admin@example.org"
LEFT_OUT = ("/static", "/api", "/carddav", "/.well-known", "/logout")
ARGUMENT = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--data-dir", default="/work/bench-data", help="where SQLite files stay")
    parser.add_argument("--top", type=int, default=25, help="pages shown, slowest first")
    parser.add_argument("--seed", type=int, default=20261127)
    return parser.parse_args(argv)


def users(password: str):
    """The bench editor (of the first municipality) and a coordinator, with this
    run's password; the editor's municipality."""
    from directory.accounts.users import create_user, find_user
    from directory.core.security import hash_password

    own = viewer_and_editor("bench-pages-viewer@example.org", EDITOR, password, "Bench pages")
    admin = find_user(COORDINATOR)
    if admin is None:
        create_user(COORDINATOR, password, UserRole.ADMIN, name="Bench pages")
    else:
        admin.password_hash = hash_password(password)
        admin.active = True
    db.session.commit()
    return own


def arguments(actor) -> dict:
    """A value for each path argument: entries of the editor's municipality."""
    def first(model, *where):
        return db.session.scalar(select(model.id).where(*where).order_by(model.id).limit(1))

    return {
        "slug": actor.slug, "actor_id": actor.id,
        "role_id": first(Role, Role.actor_id == actor.id),
        "person_id": first(Person, Person.actor_id == actor.id),
        "point_id": first(ContactPoint, ContactPoint.actor_id == actor.id),
        "tree_id": first(CallTree), "rotation_id": first(Rotation), "shift_id": first(Shift),
        "pattern_id": first(CollaborationPattern), "scenario_id": first(Scenario),
        "user_id": 1,
    }


def pages(app, values: dict) -> list[str]:
    """Every GET page whose path arguments have a value."""
    found = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(LEFT_OUT):
            continue
        if any(values.get(name) is None for name in rule.arguments):
            continue
        found.append(ARGUMENT.sub(lambda m: str(values[m.group(1)]), rule.rule))
    return sorted(set(found))


def main(argv=None) -> int:
    args = parse_args(argv)
    database, exists = kept_database(args.database_url, args.data_dir, args.persons)
    app = make_app(database, PAGE_CACHE="off")
    password = secrets.token_urlsafe(16)
    print(f"Database: {database.label}; {args.persons} persons; page cache off")
    with app.app_context():
        flask_migrate.upgrade()
        if not exists:
            fill_kept_region(args.persons, args.seed)
        own = users(password)
        paths = pages(app, arguments(own))
    warm_up(app)
    results = []
    for who, email in (("coordinator", COORDINATOR), ("editor", EDITOR)):
        client = app.test_client()
        sign_in(client, email, password)
        for path in paths:
            started = time.perf_counter()
            response = client.get(path)
            took = (time.perf_counter() - started) * 1000
            results.append((took, len(response.data), response.status_code, who, path))
    print(f"\n{len(paths)} pages, each once as each reader; the {args.top} slowest:")
    print(f"{'ms':>9} {'KiB':>9} status reader       page")
    for took, size, status, who, path in sorted(results, reverse=True)[:args.top]:
        print(f"{took:9.0f} {size / 1024:9.0f} {status:>6} {who:12} {path}")
    failed = [r for r in results if r[2] >= 500]
    for _took, _size, status, who, path in failed:
        print(f"FAIL: {path} answered {status} to the {who}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
