"""Signing in and out, throttling, CSRF and the security headers."""

import time as clock
from datetime import UTC, datetime, timedelta

import pytest

from config import DevelopmentConfig
from directory import create_app
from directory.core.extensions import db
from directory.core.models import UserRole
from directory.core.pages import is_safe_next
from tests.conftest import PASSWORD, guessed_accounts, make_user


def test_sign_in_and_out(app, client, auth):
    make_user("tib@example.org")
    db.session.commit()
    response = auth.login("tib@example.org")
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    auth.logout()
    assert client.get("/").status_code == 302


def test_wrong_password_and_unknown_account_get_the_same_answer(app, client, auth):
    make_user("tib@example.org")
    db.session.commit()
    wrong = auth.login("tib@example.org", "not the password")
    unknown = auth.login("nobody@example.org", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong e-mail or password." in wrong.get_data(as_text=True)
    assert "Wrong e-mail or password." in unknown.get_data(as_text=True)


def test_deactivated_user_cannot_sign_in(app, client, auth):
    make_user("gone@example.org", active=False)
    db.session.commit()
    assert auth.login("gone@example.org").status_code == 401


def test_next_is_followed_when_local(app, client, auth):
    make_user("tib@example.org")
    db.session.commit()
    response = auth.login("tib@example.org", next="/actors/haninge-kommun")
    assert response.headers["Location"] == "/actors/haninge-kommun"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"]
)
def test_next_is_ignored_when_not_a_local_path(app, client, auth, target):
    make_user("tib@example.org")
    db.session.commit()
    response = auth.login("tib@example.org", next=target)
    assert response.headers["Location"] == "/"
    assert not is_safe_next(target)


def test_sixth_failed_attempt_for_one_account_gets_429(app, client, auth):
    make_user("tib@example.org")
    db.session.commit()
    for _ in range(5):
        assert auth.login("tib@example.org", "wrong").status_code == 401
    response = auth.login("tib@example.org", PASSWORD)
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.get_data(as_text=True)


def test_failed_attempts_from_one_address_are_throttled_across_accounts(app, client, auth):
    guessed_accounts(f"guess{n}@example.org" for n in range(50))
    for n in range(50):
        assert auth.login(f"guess{n}@example.org", "wrong").status_code == 401
    assert auth.login("another@example.org", "wrong").status_code == 429


def test_successful_sign_ins_do_not_count_against_the_limit(app, client, auth):
    make_user("tib@example.org")
    db.session.commit()
    for _ in range(7):
        assert auth.login("tib@example.org").status_code == 302
        auth.logout()


def test_post_without_csrf_token_is_refused(app, client, auth):
    make_user("tib@example.org")
    db.session.commit()
    response = client.post("/login", data={"email": "tib@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_security_headers(app, client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_http_only_and_same_site_lax(app, client, auth):
    make_user("tib@example.org")
    db.session.commit()
    response = auth.login("tib@example.org")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def session_cookie(client, app):
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None, "no session cookie"
    return cookie


def sign_session(app, data: dict, minutes_ago: int) -> str:
    """A session cookie the app itself would have issued `minutes_ago` minutes ago."""
    serializer = app.session_interface.get_signing_serializer(app)
    issued = int(clock.time()) - minutes_ago * 60

    class IssuedThen(serializer.signer):
        def get_timestamp(self):
            return issued

    serializer.signer = IssuedThen
    return serializer.dumps(data)


def test_session_expires_after_the_idle_time(app, client, login_as):
    login_as(UserRole.VIEWER)
    first = session_cookie(client, app)
    assert first.expires is not None, "a session cookie that ends only when the browser closes"
    # The browser keeps it for 8 hours, and each request pushes that on (idle, not absolute).
    assert abs((first.expires - datetime.now(UTC)) - timedelta(minutes=480)) < timedelta(minutes=1)
    assert client.get("/").status_code == 200
    assert "Set-Cookie" in client.get("/").headers  # refreshed on every request
    # The server refuses a session last refreshed more than 8 hours ago, even if sent.
    serializer = app.session_interface.get_signing_serializer(app)
    data = serializer.loads(first.value)
    name = app.config["SESSION_COOKIE_NAME"]
    client.set_cookie(name, sign_session(app, data, minutes_ago=479))
    assert client.get("/").status_code == 200
    client.set_cookie(name, sign_session(app, data, minutes_ago=481))
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.location


def test_api_answers_401_as_json(app, client):
    response = client.get("/api/v1/actors")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 401


def test_only_admins_reach_user_admin(app, client, login_as):
    login_as(UserRole.EDITOR)
    assert client.get("/admin/users").status_code == 403


def test_language_choice_is_remembered_on_the_user(app, client, login_as):
    user = login_as(UserRole.VIEWER)
    from tests.conftest import Auth

    token = Auth(client).csrf_token("/")
    response = client.post("/language", data={"csrf_token": token, "locale": "en",
                                              "next": "/"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(type(user), user.id).locale == "en"
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


def test_the_default_language_is_swedish(_schema, monkeypatch):
    """A server set up without DEFAULT_LOCALE speaks Swedish (the tests' app speaks English)."""
    monkeypatch.delenv("DEFAULT_LOCALE", raising=False)

    class Deployed(DevelopmentConfig):
        def __init__(self):
            super().__init__()
            self.SQLALCHEMY_DATABASE_URI = _schema["url"]
            self.SQLALCHEMY_ENGINE_OPTIONS = _schema["engine_options"]

    deployed = create_app(Deployed)
    page = deployed.test_client().get("/login").get_data(as_text=True)
    assert '<html lang="sv">' in page
    assert "Logga in" in page and "Sign in" not in page
