"""Shared fixtures: an app on a real database, clients, and small factories.

The suite runs on SQLite (a temporary file) and, when TEST_DATABASE_URL is
set, on that database instead; on PostgreSQL each run creates its own schema
and drops it at the end. The schema is built once per run; after each test
every table is emptied, so each test starts from nothing.
"""

import os
import secrets
import tempfile
import uuid
from contextlib import contextmanager
from datetime import date

import pytest
from flask.testing import FlaskClient
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, event, text
from werkzeug.routing import Rule
from werkzeug.security import generate_password_hash

from config import TestConfig, database_url
from directory import KontaktvagarApp, create_app
from directory.core.extensions import db
from directory.core.models import (
    Actor,
    ActorKind,
    ActorLevel,
    ContactKind,
    ContactPoint,
    PageVersion,
    Person,
    Role,
    User,
    UserRole,
)

PASSWORD = "correct horse battery"
def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: drives Debian's Chromium over real HTTP (given to every test "
        "that uses the `browser` fixture; CI runs these on PostgreSQL only, see Makefile)")
    config.addinivalue_line(
        "markers", "one_database: a long walk whose rules are the app's own code, not SQL "
        "(every route as a persona, the clock across every change); when the suite runs "
        "on two databases, it runs on SQLite only (see Makefile)")


def pytest_collection_modifyitems(config, items):
    """Every test that opens Chromium is marked `browser`, so none can be left out
    of the run that takes them (by fixture, not by file)."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


_PASSWORD_HASH = None


def password_hash() -> str:
    """The fixtures' users share one scrypt hash of the test password, at a work
    factor 32 times below the app's (n=1024): a sign-in checks the password
    against it as against any stored hash (the parameters travel in the hash),
    without a tenth of a second of deliberate work in each of the suite's
    thousands of sign-ins. Users made through the app's own pages and commands
    get `hash_password`'s parameters (tests/test_users.py checks them)."""
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")
    return _PASSWORD_HASH


class SharedTemplateCache(BytecodeCache):
    """Compiled templates kept in memory for every app this process builds.

    Each test builds its own app, and with it a Jinja environment that would
    otherwise lex, parse and compile every template it renders again (a third
    of the suite's time). Jinja's own bytecode-cache hook keys each entry by
    template name and a checksum of its source, so an edited template is
    compiled afresh.
    """

    def __init__(self):
        self._store: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self._store:
            bucket.bytecode_from_string(self._store[bucket.key])

    def dump_bytecode(self, bucket):
        self._store[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CACHE = SharedTemplateCache()


class SharedBuilderRule(Rule):
    """A URL rule whose URL builders are compiled once for every app of the process.

    Werkzeug compiles two builder functions per rule (Python source to AST to
    code) whenever a rule joins a URL map: some 1 800 rules per app, most of the
    cost of building one, and each test builds its own. A builder is a pure
    function of the rule's parsed parts and defaults (it reaches the rule's
    converters through the rule it is bound to), so one compiled for the same
    rule in another app is the same function.
    """

    _builders: dict = {}

    def _compile_builder(self, append_unknown: bool = True):
        key = (self.rule, tuple(self._trace), append_unknown, self.map.host_matching,
               self.subdomain, self.host, self.merge_slashes,
               tuple(sorted((name, repr(value)) for name, value in (self.defaults or {}).items())))
        builder = self._builders.get(key)
        if builder is None:
            builder = self._builders[key] = super()._compile_builder(append_unknown)
        return builder


KontaktvagarApp.url_rule_class = SharedBuilderRule


def build_app(config_class):
    app = create_app(config_class)
    app.jinja_env.bytecode_cache = TEMPLATE_CACHE
    return app


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    """The URL and engine options of this run's database (schema made empty).

    Nothing here must survive a crash, so commits need not reach the disk:
    SQLite's file lives in memory-backed /dev/shm where there is one, and
    PostgreSQL sessions commit without waiting for the WAL flush.
    """
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        shm = "/dev/shm"  # noqa: S108 (mkdtemp below makes a private folder)
        if os.path.isdir(shm) and os.access(shm, os.W_OK):
            folder = tempfile.mkdtemp(prefix="kvtest-", dir=shm)
        else:
            folder = str(tmp_path_factory.mktemp("db"))
        path = os.path.join(folder, "test.sqlite")
        try:
            yield {"url": f"sqlite:///{path}", "engine_options": {}}
        finally:
            for name in os.listdir(folder):
                os.remove(os.path.join(folder, name))
            os.rmdir(folder)
        return
    url = database_url(url)
    schema = f"kvtest_{uuid.uuid4().hex[:10]}"
    admin_engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    options = {"connect_args": {
        "options": f"-csearch_path={schema} -csynchronous_commit=off",
    }}
    try:
        yield {"url": url, "engine_options": options, "schema": schema}
    finally:
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin_engine.dispose()


def make_config(database):
    class Config(TestConfig):
        def __init__(self):
            super().__init__()
            self.SQLALCHEMY_DATABASE_URI = database["url"]
            self.SQLALCHEMY_ENGINE_OPTIONS = {
                "pool_pre_ping": True,
                **database["engine_options"],
            }

    return Config


@pytest.fixture(scope="session")
def _schema(database):
    app = build_app(make_config(database))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return database


@pytest.fixture
def app(_schema):
    """An app with an application context and an empty database."""
    app = build_app(make_config(_schema))
    with app.app_context():
        yield app
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
            # The next test's database is made anew, like one from `flask db upgrade`.
            conn.execute(PageVersion.__table__.insert().values(
                id=1, epoch=secrets.token_hex(16), n=0))
        db.engine.dispose()


@contextmanager
def recorded_statements():
    """The SQL statements sent inside the block, as a list (for query-count tests)."""
    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


class FreshContextClient(FlaskClient):
    """A test client whose every request gets its own application context.

    The tests hold an app context open for their factories; without this,
    requests would share its `g` and database session, which real requests
    never do.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = FreshContextClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --- Factories: each test reads as a story ----------------------------------


def make_actor(name="Haninge kommun", slug=None, **fields) -> Actor:
    from directory.core.text import slugify

    actor = Actor(
        name=name,
        slug=slug or slugify(name),
        kind=fields.pop("kind", ActorKind.MUNICIPALITY),
        level=fields.pop("level", ActorLevel.REGIONAL),
        **fields,
    )
    db.session.add(actor)
    db.session.flush()
    return actor


def make_person(actor, name="Åsa Öberg", **fields) -> Person:
    person = Person(actor=actor, name=name, **fields)
    db.session.add(person)
    db.session.flush()
    return person


def make_role(actor, name="Tjänsteman i beredskap", short_name="TiB", **fields) -> Role:
    role = Role(actor=actor, name=name, short_name=short_name, **fields)
    db.session.add(role)
    db.session.flush()
    return role


def make_contact(owner, value="+46701740610", kind=ContactKind.MOBILE, **fields):
    owner_field = {Actor: "actor", Role: "role", Person: "person"}[type(owner)]
    point = ContactPoint(kind=kind, value=value, **{owner_field: owner}, **fields)
    db.session.add(point)
    db.session.flush()
    return point


def make_user(email="viewer@example.org", role=UserRole.VIEWER, actors=(), **fields):
    user = User(
        email=email,
        password_hash=password_hash(),
        role=role,
        actors=list(actors),
        **fields,
    )
    db.session.add(user)
    db.session.flush()
    return user


def guessed_accounts(emails) -> None:
    """Accounts for a guesser to try, so that each wrong password is checked
    against the suite's cheap hash: an unknown account is checked against the
    app's full-cost stand-in (a fifth of a second), and the limits, not the
    hashing, are what the throttling tests are about."""
    for email in emails:
        make_user(email)
    db.session.commit()


class Auth:
    """Sign a test client in and out as a person would, through the form."""

    def __init__(self, client):
        self.client = client

    def csrf_token(self, path="/login") -> str:
        """Read the CSRF token from a page, as a browser would submit it."""
        import re

        page = self.client.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, email, password=PASSWORD, next=None):
        data = {"email": email, "password": password, "csrf_token": self.csrf_token()}
        url = "/login" + (f"?next={next}" if next else "")
        return self.client.post(url, data=data)

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": self.csrf_token("/")})


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def login_as(app, client, auth):
    """Create a user of the given role and sign the client in as them."""

    def _login_as(role=UserRole.VIEWER, actors=(), email=None):
        role = UserRole(role)
        user = make_user(email=email or f"{role.value}-{uuid.uuid4().hex[:6]}@example.org",
                         role=role, actors=actors)
        db.session.commit()
        response = auth.login(user.email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return _login_as


TODAY = date(2026, 11, 27)
