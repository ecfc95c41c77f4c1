"""Sign-in that cannot be shut down, sessions that can be ended (issue 13).

Throttling runs on the real Redis on 127.0.0.1:6379 where it matters (each
test with its own key prefix), and on an unreachable Redis to show that
sign-in keeps working without it.
"""

import logging
import uuid

import pytest
import redis

from directory.core.extensions import db
from directory.core.models import UserRole
from tests.conftest import (
    PASSWORD,
    Auth,
    FreshContextClient,
    guessed_accounts,
    make_config,
    make_user,
)

REDIS_URL = "redis://127.0.0.1:6379/0"
UNREACHABLE = "redis://127.0.0.1:1/0"


def app_with(_schema, **settings):
    """An app like the `app` fixture's, with some settings changed."""
    from directory import create_app

    base = make_config(_schema)

    class Config(base):
        def __init__(self):
            super().__init__()
            for key, value in settings.items():
                setattr(self, key, value)

    app = create_app(Config)
    app.test_client_class = FreshContextClient
    return app


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own in the real Redis, removed afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:  # fail loudly, never skip
        pytest.fail(f"Redis must answer on 127.0.0.1:6379 for these tests: {error}")
    prefix = f"kvtest-{uuid.uuid4().hex[:12]}"
    yield prefix
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)


def redis_app_with(_schema, prefix):
    """An app behind one proxy whose limiter counts in the real Redis."""
    return app_with(_schema, RATELIMIT_STORAGE_URI=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix,
                    TRUSTED_PROXY_HOPS=1)


@pytest.fixture
def redis_app(app, _schema, redis_prefix):
    return redis_app_with(_schema, redis_prefix)


def login_from(client, email, password=PASSWORD, address="10.0.0.1"):
    """Sign in through the form as a browser at `address` (behind one proxy)."""
    auth = Auth(client)
    token = auth.csrf_token()
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": token},
                       headers={"X-Forwarded-For": address})


# --- 1. Trusted proxy ---------------------------------------------------------


def test_behind_one_proxy_each_client_has_its_own_address(app, _schema):
    make_user("tib@example.org")
    guessed_accounts(f"guess{n}@example.org" for n in range(50))
    proxied = app_with(_schema, TRUSTED_PROXY_HOPS=1)
    # One address guesses until it is throttled ...
    guesser = proxied.test_client()
    for n in range(50):
        login_from(guesser, f"guess{n}@example.org", "wrong", address="203.0.113.9")
    assert login_from(guesser, "x@example.org", "wrong", address="203.0.113.9").status_code == 429
    # ... and someone else behind the same proxy still signs in.
    colleague = proxied.test_client()
    assert login_from(colleague, "tib@example.org", address="198.51.100.7").status_code == 302


def test_without_trusted_proxies_x_forwarded_for_is_ignored(app, _schema):
    guessed_accounts(f"guess{n}@example.org" for n in range(50))
    plain = app_with(_schema)  # TRUSTED_PROXY_HOPS=0, the default
    assert plain.config["TRUSTED_PROXY_HOPS"] == 0
    client = plain.test_client()
    for n in range(50):
        login_from(client, f"guess{n}@example.org", "wrong", address=f"192.0.2.{n}")
    # A forged header does not give the guesser fresh addresses.
    assert login_from(client, "x@example.org", "wrong", address="192.0.2.200").status_code == 429


def test_trusted_proxy_hops_comes_from_the_environment(monkeypatch):
    from config import TestConfig

    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "2")
    assert TestConfig().TRUSTED_PROXY_HOPS == 2
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "many")
    with pytest.raises(RuntimeError, match="TRUSTED_PROXY_HOPS"):
        TestConfig()


# --- 2. Throttling that locks nobody out ---------------------------------------


def test_a_guesser_elsewhere_does_not_lock_the_user_out(redis_app):
    with redis_app.app_context():
        make_user("coordinator@example.org", role=UserRole.ADMIN)
        db.session.commit()
    attacker = redis_app.test_client()
    for _ in range(5):
        assert login_from(attacker, "coordinator@example.org", "guess",
                          address="203.0.113.66").status_code == 401
    assert login_from(attacker, "coordinator@example.org", PASSWORD,
                      address="203.0.113.66").status_code == 429
    # The coordinator, at their own address, is not affected.
    own = redis_app.test_client()
    assert login_from(own, "coordinator@example.org", address="10.1.1.1").status_code == 302


def test_a_known_device_gets_in_while_its_own_address_is_throttled(redis_app):
    with redis_app.app_context():
        make_user("coordinator@example.org", role=UserRole.ADMIN)
        db.session.commit()
    laptop = redis_app.test_client()
    assert login_from(laptop, "coordinator@example.org", address="10.9.9.9").status_code == 302
    laptop.post("/logout", data={"csrf_token": Auth(laptop).csrf_token("/")})
    # Someone at the same address (the office's proxy) guesses the password.
    stranger = redis_app.test_client()
    for _ in range(5):
        login_from(stranger, "coordinator@example.org", "guess", address="10.9.9.9")
    assert login_from(stranger, "coordinator@example.org", PASSWORD,
                      address="10.9.9.9").status_code == 429
    # The laptop that signed in before still gets in with the right password.
    assert login_from(laptop, "coordinator@example.org", address="10.9.9.9").status_code == 302


def test_a_known_device_cookie_ends_with_the_password(redis_app):
    from directory.accounts.users import find_user, set_password

    with redis_app.app_context():
        make_user("coordinator@example.org", role=UserRole.ADMIN)
        db.session.commit()
    laptop = redis_app.test_client()
    assert login_from(laptop, "coordinator@example.org", address="10.9.9.9").status_code == 302
    with redis_app.app_context():
        set_password(find_user("coordinator@example.org"), "a brand new long passphrase")
        db.session.commit()
    stranger = redis_app.test_client()
    for _ in range(5):
        login_from(stranger, "coordinator@example.org", "guess", address="10.9.9.9")
    response = login_from(laptop, "coordinator@example.org", "a brand new long passphrase",
                          address="10.9.9.9")
    assert response.status_code == 429


def test_a_known_device_has_its_own_limit_on_wrong_passwords(redis_app):
    with redis_app.app_context():
        make_user("coordinator@example.org", role=UserRole.ADMIN)
        db.session.commit()
    laptop = redis_app.test_client()
    assert login_from(laptop, "coordinator@example.org").status_code == 302
    laptop.post("/logout", data={"csrf_token": Auth(laptop).csrf_token("/")})
    for _ in range(10):
        assert login_from(laptop, "coordinator@example.org", "guess").status_code == 401
    assert login_from(laptop, "coordinator@example.org").status_code == 429


def test_the_per_address_limit_is_loose_but_there(redis_app):
    with redis_app.app_context():
        guessed_accounts([*(f"typo{n}@example.org" for n in range(49)), "last@example.org"])
    office = redis_app.test_client()
    for n in range(49):
        assert login_from(office, f"typo{n}@example.org", "wrong").status_code == 401
    assert login_from(office, "last@example.org", "wrong").status_code == 401
    assert login_from(office, "more@example.org", "wrong").status_code == 429


# --- 3. The limiter's store is down ----------------------------------------------


def test_sign_in_works_and_healthz_says_degraded_when_redis_is_down(app, _schema, caplog):
    make_user("tib@example.org")
    db.session.commit()
    down = app_with(_schema, RATELIMIT_STORAGE_URI=UNREACHABLE)
    client = down.test_client()
    with caplog.at_level(logging.WARNING):
        assert login_from(client, "tib@example.org", "wrong").status_code == 401
        assert login_from(client, "tib@example.org").status_code == 302
    assert any("Rate limit storage" in r.getMessage() or "rate limit" in r.getMessage().lower()
               for r in caplog.records)
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json == {"status": "degraded", "database": "ok",
                           "rate_limit_store": "unavailable"}


def test_without_redis_failed_attempts_are_still_counted_in_memory(app, _schema):
    down = app_with(_schema, RATELIMIT_STORAGE_URI=UNREACHABLE)
    client = down.test_client()
    for _ in range(5):
        assert login_from(client, "tib@example.org", "wrong").status_code == 401
    assert login_from(client, "tib@example.org", "wrong").status_code == 429


def test_healthz_reports_a_live_store(redis_app):
    response = redis_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "rate_limit_store": "ok"}


# --- 4. The Redis-backed limiter itself -------------------------------------------


def test_failed_attempts_are_counted_in_redis(redis_app, _schema, redis_prefix):
    prefix = redis_prefix
    client = redis_app.test_client()
    for _ in range(3):
        login_from(client, "tib@example.org", "wrong", address="10.4.4.4")
    store = redis.Redis.from_url(REDIS_URL)
    keys = [k.decode() for k in store.scan_iter(f"*{prefix}*")]
    pair = [k for k in keys if "tib@example.org" in k]
    assert pair, keys
    assert int(store.get(pair[0])) == 3
    # A second app on the same Redis (another worker) sees the same count.
    other = redis_app_with(_schema, prefix)
    second = other.test_client()
    login_from(second, "tib@example.org", "wrong", address="10.4.4.4")
    login_from(second, "tib@example.org", "wrong", address="10.4.4.4")
    assert login_from(client, "tib@example.org", "wrong",
                      address="10.4.4.4").status_code == 429



def test_a_redis_store_gets_short_timeouts(monkeypatch):
    """A Redis that does not answer costs a request a second, not a hang."""
    from config import TestConfig

    monkeypatch.setenv("RATELIMIT_STORAGE_URI", REDIS_URL)
    options = TestConfig().RATELIMIT_STORAGE_OPTIONS
    assert options == {"socket_connect_timeout": 1, "socket_timeout": 1}
