"""The one set-up every bench script shares:
a database of its own, filled by `directory.operations.synth`.

- `fresh_database(url)`: a temporary SQLite file (no URL), or a schema of its
  own in the PostgreSQL database at `url`, dropped at the end. It yields a
  `Database` with the URL and engine options the app in this process uses and
  `server_url`, the same database as one URL for a server started apart
  (gunicorn), the schema chosen through `options=-csearch_path=...`.
- `make_config(database)` / `make_app(database)`: the app on that database,
  with a random SECRET_KEY.
- `build_region(app, persons, seed, cards=...)`: migrations to head, the
  synthetic region of `persons` persons (as `flask demo synth` makes it,
  tables analysed after), and if asked the vCard cache rendered as
  `flask cards rebuild` does after a bulk load. `add_synthetic_region()` is the
  middle step alone, for a script that adds the region to a database it has
  already filled (bench/printing.py, on top of the demo region).
- `kept_database(url, data_dir, persons)`: the region kept between runs
  (bench/search.py and bench/oncall.py share it): a SQLite file
  `<data_dir>/search-<persons>.sqlite`, or the schema `kvbench_search_<persons>`
  in the PostgreSQL database at `url`, never dropped; and whether it already
  holds a region.

Run the scripts from the project root (`.venv/bin/python bench/<script>.py`).
"""

import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
from flask import Flask  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from config import Config, database_url  # noqa: E402
from directory import create_app  # noqa: E402
from directory.core.extensions import db  # noqa: E402
from directory.operations.synth import analyze_tables, generate_synthetic  # noqa: E402


@dataclass
class Database:
    url: str
    engine_options: dict
    server_url: str
    label: str
    schema: str | None = None


@dataclass
class Region:
    """What `build_region` made and how long each part took (seconds)."""

    report: object  # directory.operations.synth's report: counts and its own timings
    generate: float  # generation, commit and analyze
    render: float = 0.0  # the vCard cache (0 when not asked for)
    cache_rows: int | None = None
    counts: dict = field(default_factory=dict)

    def made(self) -> str:
        return ", ".join(f"{n} {what}" for what, n in self.counts.items())


@contextmanager
def fresh_database(url: str | None, prefix: str = "kvbench") -> Iterator[Database]:
    """A database of our own: a temporary SQLite file, or a PostgreSQL schema."""
    if not url:
        with tempfile.TemporaryDirectory(prefix=f"{prefix}-") as directory:
            sqlite = f"sqlite:///{directory}/bench.sqlite"
            yield Database(sqlite, {}, sqlite, "SQLite (temporary file)")
        return
    url = database_url(url)
    if not url.startswith("postgresql"):
        raise SystemExit("--database-url must be a PostgreSQL URL (SQLite is the default).")
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    options = f"-csearch_path={schema}"
    separator = "&" if "?" in url else "?"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield Database(
            url=url,
            engine_options={"connect_args": {"options": options}},
            server_url=f"{url}{separator}options={quote(options)}",
            label=f"PostgreSQL (schema {schema}, dropped afterwards)",
            schema=schema,
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text("SET lock_timeout = '60s'"))
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        print(f"Dropped schema {schema}.")


def kept_database(url: str | None, data_dir: str, persons: int) -> tuple[Database, bool]:
    """The kept database for this size; whether it already holds a region."""
    if not url:
        directory = Path(data_dir)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"search-{persons}.sqlite"
        sqlite = f"sqlite:///{path}"
        return Database(sqlite, {}, sqlite, f"SQLite ({path})"), path.exists()
    url = database_url(url)
    schema = f"kvbench_search_{persons}"
    options = f"-csearch_path={schema}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(
            text("SELECT count(*) FROM information_schema.tables "
                 "WHERE table_schema = :s AND table_name = 'actor'"), {"s": schema}
        )
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    admin.dispose()
    separator = "&" if "?" in url else "?"
    return Database(
        url, {"connect_args": {"options": options}},
        f"{url}{separator}options={quote(options)}", f"PostgreSQL (schema {schema}, kept)",
        schema,
    ), bool(exists)


def make_config(database: Database, **settings) -> type[Config]:
    class BenchConfig(Config):
        APP_ENV = "bench"

        def __init__(self):
            super().__init__()
            self.SECRET_KEY = secrets.token_urlsafe(32)
            self.SQLALCHEMY_DATABASE_URI = database.url
            self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, **database.engine_options}
            for name, value in settings.items():
                setattr(self, name, value)

    return BenchConfig


def make_app(database: Database, **settings) -> Flask:
    """The app on this database; `settings` override the configuration
    (`PAGE_CACHE="off"` to time every request built anew)."""
    return create_app(make_config(database, **settings))


def viewer_and_editor(viewer: str, editor: str, password: str, name: str):
    """A viewer and an editor of the region's first municipality, made or given
    this run's password (not committed); returns that municipality."""
    from sqlalchemy import select

    from directory.accounts.users import create_user, find_user
    from directory.core.models import Actor, ActorKind, UserRole
    from directory.core.security import hash_password

    own = db.session.scalar(
        select(Actor).where(Actor.kind == ActorKind.MUNICIPALITY, Actor.deleted_at.is_(None))
        .order_by(Actor.id)
    )
    for email, role, actors in ((viewer, UserRole.VIEWER, []), (editor, UserRole.EDITOR, [own])):
        user = find_user(email)
        if user is None:
            create_user(email, password, role, name=name, actors=actors)
        else:
            user.password_hash = hash_password(password)
            user.active = True
    return own


def add_synthetic_region(persons: int, seed: int) -> Region:
    """The synthetic region, committed and analysed (inside an app context)."""
    started = time.perf_counter()
    report = generate_synthetic(persons, seed=seed)
    db.session.commit()
    analyze_tables()  # as `flask demo synth` does
    return Region(report, time.perf_counter() - started, counts=dict(report.counts))


def fill_kept_region(persons: int, seed: int) -> Region:
    """The synthetic region for a kept database, without the vCard cache
    (neither search nor the on-call board reads it); inside an app context."""
    from directory.phones import card_cache

    rebuild_all = card_cache.rebuild_all
    card_cache.rebuild_all = lambda: 0
    try:
        return add_synthetic_region(persons, seed)
    finally:
        card_cache.rebuild_all = rebuild_all


def build_region(app: Flask, persons: int, seed: int = 1, *, cards: bool = False) -> Region:
    """Migrations to head, the synthetic region, and the vCard cache if asked."""
    from directory.phones import card_cache

    with app.app_context():
        flask_migrate.upgrade()
        region = add_synthetic_region(persons, seed)
        if cards:
            started = time.perf_counter()
            region.cache_rows = card_cache.rebuild_all()
            db.session.commit()
            analyze_tables()
            region.render = time.perf_counter() - started
    return region


def dispose(app: Flask) -> None:
    """Close the app's connections (before a PostgreSQL schema is dropped)."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
