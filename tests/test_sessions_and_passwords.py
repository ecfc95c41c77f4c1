"""Sessions that can be ended, no secret in the cookie, NIST passwords,
HSTS, API and feed limits, gunicorn's settings (issue 13)."""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from directory.accounts.credentials import create_api_token
from directory.accounts.users import find_user, password_problem
from directory.core.extensions import db
from directory.core.models import AccessToken, User, UserRole
from tests.conftest import PASSWORD, Auth, make_actor, make_person, make_user
from tests.test_sign_in_hardening import app_with

ROOT = Path(__file__).resolve().parent.parent


def copy_session(source, target):
    """What someone who copied the cookie from a browser would have."""
    target.set_cookie("session", source.get_cookie("session").value)


# --- 6. Sessions that can be ended ---------------------------------------------


def test_logging_out_ends_a_copied_cookie(app, client, auth):
    make_user("tib@example.org")
    db.session.commit()
    assert auth.login("tib@example.org").status_code == 302
    thief = app.test_client()
    copy_session(client, thief)
    assert thief.get("/").status_code == 200
    auth.logout()
    assert thief.get("/").status_code == 302
    assert thief.get("/api/v1/actors").status_code == 401


def test_a_password_reset_ends_every_session_and_api_token(app, client, auth, login_as):
    make_user("tib@example.org")
    db.session.commit()
    user = find_user("tib@example.org")
    _token, secret = create_api_token(user, "sync")
    db.session.commit()
    laptop = app.test_client()
    assert Auth(laptop).login("tib@example.org").status_code == 302
    phone = app.test_client()
    assert Auth(phone).login("tib@example.org").status_code == 302
    login_as(UserRole.ADMIN)  # `client` is now a coordinator
    response = client.post(f"/admin/users/{user.id}/password",
                           data={"password": "a fresh unusual passphrase",
                                 "csrf_token": auth.csrf_token(f"/admin/users/{user.id}/edit")})
    assert response.status_code == 302
    assert laptop.get("/").status_code == 302
    assert phone.get("/").status_code == 302
    bearer = {"Authorization": f"Bearer {secret}"}
    assert app.test_client().get("/api/v1/actors", headers=bearer).status_code == 401
    assert all(t.revoked_at is not None for t in db.session.scalars(select(AccessToken)))
    assert client.get("/").status_code == 200  # the coordinator's own session goes on


def test_changing_ones_own_password_keeps_this_session_and_ends_the_others(app, client, auth,
                                                                           login_as):
    from directory.accounts.users import set_password

    admin = login_as(UserRole.ADMIN)
    other = app.test_client()
    assert Auth(other).login(admin.email).status_code == 302
    with app.test_request_context():
        from flask import session

        session["login_session"] = _session_id(client)
        db.session.expire_all()  # the sign-ins changed the row since
        set_password(db.session.get(User, admin.id), "a fresh unusual passphrase")
        db.session.commit()
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302


def _session_id(client) -> str:
    from directory.core.models import LoginSession

    records = db.session.scalars(select(LoginSession).order_by(LoginSession.created_at)).all()
    return records[0].id


def test_deactivation_ends_every_session(app, client, auth, login_as):
    make_user("tib@example.org")
    db.session.commit()
    user = find_user("tib@example.org")
    browser = app.test_client()
    assert Auth(browser).login("tib@example.org").status_code == 302
    login_as(UserRole.ADMIN)
    response = client.post(f"/admin/users/{user.id}/edit", data={
        "email": "tib@example.org", "name": "", "role": "viewer",
        "csrf_token": auth.csrf_token(f"/admin/users/{user.id}/edit")})  # active unticked
    assert response.status_code == 302
    assert browser.get("/").status_code == 302
    # Made active again, the old cookie still signs nobody in.
    db.session.expire_all()
    db.session.get(User, user.id).active = True
    db.session.commit()
    assert find_user("tib@example.org").active
    assert browser.get("/").status_code == 302


def test_the_cli_deactivation_ends_sessions(app, client, runner):
    make_user("tib@example.org")
    db.session.commit()
    browser = app.test_client()
    assert Auth(browser).login("tib@example.org").status_code == 302
    assert runner.invoke(args=["users", "deactivate", "tib@example.org"]).exit_code == 0
    db.session.expire_all()
    find_user("tib@example.org").active = True
    db.session.commit()
    assert browser.get("/").status_code == 302


# --- 7. No secret in the session cookie ------------------------------------------


def test_a_generated_password_is_shown_once_and_never_put_in_the_session(app, client, auth,
                                                                         login_as):
    login_as(UserRole.ADMIN)
    response = client.post("/admin/users/new", data={
        "email": "new@example.org", "name": "Ny", "role": "viewer", "active": "y",
        "csrf_token": auth.csrf_token("/admin/users/new")})
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    password = re.search(r'<code class="secret">([^<]+)</code>', page).group(1)
    from directory.core.security import verify_password

    assert verify_password(find_user("new@example.org"), password)
    serializer = app.session_interface.get_signing_serializer(app)
    session = serializer.loads(client.get_cookie("session").value)
    assert password not in repr(session)
    assert password not in client.get("/admin/users").get_data(as_text=True)


# --- 8. Passwords per NIST SP 800-63B ----------------------------------------------


@pytest.mark.parametrize("password", [
    "aaaaaaaaaaaaaaaa", "password12345678", "qwertyuiopasdfgh", "1234567890123456",
    "aaaaaaaaaa", "correcthorse",
])
def test_common_short_or_repeated_passwords_are_refused(password):
    assert password_problem(password) is not None


def test_a_long_passphrase_without_digits_or_capitals_is_accepted():
    assert password_problem("tulips under the old bridge") is None


def test_the_own_e_mail_is_not_a_password():
    assert password_problem("anna.lindqvist@example.org",
                            ["anna.lindqvist@example.org"]) is not None


def test_the_users_cli_refuses_a_common_password(app, runner):
    result = runner.invoke(
        args=["users", "create", "e@example.org", "--role", "viewer", "--password-stdin"],
        input="aaaaaaaaaaaaaaaaaaaa\n")
    assert result.exit_code != 0
    assert "easy to guess" in result.output
    assert find_user("e@example.org") is None


def test_the_admin_form_gives_a_field_message_for_a_weak_password(app, client, auth, login_as):
    login_as(UserRole.ADMIN)
    response = client.post("/admin/users/new", data={
        "email": "new@example.org", "role": "viewer", "password": "aaaaaaaaaa",
        "csrf_token": auth.csrf_token("/admin/users/new")})
    assert response.status_code == 422
    assert "at least 15 characters" in response.get_data(as_text=True)
    assert find_user("new@example.org") is None
    user = make_user("tib@example.org")
    db.session.commit()
    response = client.post(f"/admin/users/{user.id}/password", data={
        "password": "password12345678",
        "csrf_token": auth.csrf_token(f"/admin/users/{user.id}/edit")})
    assert response.status_code == 422
    assert "easy to guess" in response.get_data(as_text=True)


# --- 9. HSTS in production only ---------------------------------------------------


def test_production_sends_hsts_and_tests_do_not(app, client, _schema, monkeypatch):
    from config import ProductionConfig
    from directory import create_app
    from tests.conftest import make_config

    assert "Strict-Transport-Security" not in client.get("/login").headers
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    test_config = make_config(_schema)

    class Production(ProductionConfig):
        def __init__(self):
            super().__init__()
            self.SQLALCHEMY_DATABASE_URI = test_config().SQLALCHEMY_DATABASE_URI
            self.SQLALCHEMY_ENGINE_OPTIONS = test_config().SQLALCHEMY_ENGINE_OPTIONS

    production = create_app(Production)
    response = production.test_client().get("/login", base_url="https://example.org")
    assert response.headers["Strict-Transport-Security"] == (
        "max-age=63072000; includeSubDomains")


# --- 5. memory:// with several workers ----------------------------------------------


def test_production_refuses_memory_storage_with_several_workers(monkeypatch):
    from config import ProductionConfig

    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    with pytest.raises(RuntimeError, match="4 workers"):
        ProductionConfig()
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    ProductionConfig()


def _gunicorn(tmp_path, *args, env=None):
    environment = {**os.environ, "APP_ENV": "development",
                   "DATABASE_URL": f"sqlite:///{tmp_path / 'g.sqlite'}", **(env or {})}
    environment.pop("WEB_CONCURRENCY", None)
    return subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *args, "wsgi:app"],
        cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_gunicorn_refuses_memory_storage_with_several_workers(tmp_path):
    process = _gunicorn(tmp_path, "--workers", "2", "--bind", "127.0.0.1:0",
                        env={"RATELIMIT_STORAGE_URI": "memory://"})
    _out, err = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "Refusing to start" in err and "RATELIMIT_STORAGE_URI" in err


# --- 11. Feed secrets stay out of gunicorn's access log -------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_healthz(port: int, tries: int = 150) -> None:
    """Until the gunicorn just started answers (or the tries run out)."""
    for _ in range(tries):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return
        except OSError:
            time.sleep(0.2)


def test_gunicorns_access_log_redacts_feed_secrets(tmp_path):
    port = _free_port()
    process = _gunicorn(tmp_path, "--workers", "1", "--bind", f"127.0.0.1:{port}")
    secret = "Zq9sEcReT0fTheFeedXyz123456789012345678901"
    try:
        _wait_for_healthz(port)
        for path in (f"/calendars/{secret}.ics", f"/calendars/x.ics?token={secret}"):
            # An unknown feed is a 404; the log line is what matters.
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert "/calendars/[redacted].ics" in out
    assert "token=[redacted]" in out
    assert secret not in out + err


def test_redact_leaves_other_paths_alone():
    from directory.operations.access_log import redact

    assert redact("GET /actors/haninge?q=tib HTTP/1.1") == "GET /actors/haninge?q=tib HTTP/1.1"
    assert redact("GET /calendars/abc.ics HTTP/1.1") == "GET /calendars/[redacted].ics HTTP/1.1"


# --- 10. API and feed rate limits -----------------------------------------------------


def test_the_api_limit_is_per_user_and_answers_problem_json(app, _schema):
    assert app.config["API_RATE_LIMIT"] == "600 per minute"
    limited = app_with(_schema, API_RATE_LIMIT="3 per minute")
    with limited.app_context():
        one = make_user("one@example.org")
        two = make_user("two@example.org")
        _t, secret_one = create_api_token(one, "a")
        _t, secret_two = create_api_token(two, "b")
        db.session.commit()
    client = limited.test_client()
    first = {"Authorization": f"Bearer {secret_one}"}
    for _ in range(3):
        assert client.get("/api/v1/actors", headers=first).status_code == 200
    response = client.get("/api/v1/actors", headers=first)
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 429
    second = {"Authorization": f"Bearer {secret_two}"}
    assert client.get("/api/v1/actors", headers=second).status_code == 200


def test_a_feed_url_is_rate_limited_per_feed(app, _schema):
    from directory.phones import calendars

    assert app.config["FEED_RATE_LIMIT"] == "30 per minute"
    limited = app_with(_schema, FEED_RATE_LIMIT="2 per minute")
    with limited.app_context():
        admin = make_user("admin@example.org", role=UserRole.ADMIN)
        person = make_person(make_actor())
        _feed, secret = calendars.create_feed(admin, person)
        _feed2, secret2 = calendars.create_feed(admin, person, "another")
        db.session.commit()
    client = limited.test_client()
    for _ in range(2):
        assert client.get(f"/calendars/{secret}.ics").status_code == 200
    assert client.get(f"/calendars/{secret}.ics").status_code == 429
    assert client.get(f"/calendars/{secret2}.ics").status_code == 200


def test_the_password_fixture_is_still_a_good_password():
    assert password_problem(PASSWORD) is None
