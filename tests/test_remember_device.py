"""'Remember this device' at sign-in (issue 16 item 14): a duty officer's phone
stays signed in for REMEMBER_DEVICE_DAYS instead of SESSION_IDLE_MINUTES idle,
and logout, a new password and deactivation still end it at once."""

import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

from directory.accounts.users import find_user, set_password
from directory.core.extensions import db
from tests.conftest import PASSWORD, Auth, make_user
from tests.test_sign_in_hardening import app_with


@contextmanager
def app_of(_schema, **settings):
    """An app with these settings, its tables emptied afterwards."""
    app = app_with(_schema, **settings)
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            with db.engine.begin() as conn:
                for table in reversed(db.metadata.sorted_tables):
                    conn.execute(table.delete())
            db.engine.dispose()


def sign_in(client, remember: bool):
    auth = Auth(client)
    data = {"email": "tib@example.org", "password": PASSWORD, "csrf_token": auth.csrf_token()}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return response


def session_expiry(response) -> datetime:
    for header in response.headers.getlist("Set-Cookie"):
        cookie = SimpleCookie(header)
        if "session" in cookie:
            return datetime.strptime(cookie["session"]["expires"],
                                     "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
    raise AssertionError("no session cookie set")


def test_a_remembered_sign_in_outlives_the_idle_limit_and_an_ordinary_one_does_not(_schema):
    with app_of(_schema, PERMANENT_SESSION_LIFETIME=timedelta(seconds=1),
                REMEMBER_DEVICE_DAYS=30) as app:
        make_user("tib@example.org")
        db.session.commit()
        ordinary, phone = app.test_client(), app.test_client()
        soon = session_expiry(sign_in(ordinary, remember=False))
        later = session_expiry(sign_in(phone, remember=True))
        now = datetime.now(UTC)
        assert soon - now < timedelta(minutes=1)
        assert timedelta(days=29, hours=23) < later - now <= timedelta(days=30, seconds=5)
        time.sleep(2.2)  # past the idle limit of one second
        assert ordinary.get("/").status_code == 302  # back to sign-in
        answer = phone.get("/")
        assert answer.status_code == 200
        # The period is fixed from sign-in: using the phone does not stretch it.
        assert session_expiry(answer) == later


def test_the_login_page_offers_it_only_when_configured(_schema):
    for days, offered in ((30, True), (0, False)):
        with app_of(_schema, REMEMBER_DEVICE_DAYS=days) as app:
            page = app.test_client().get("/login").get_data(as_text=True)
            assert ('name="remember"' in page) is offered
            if offered:
                assert "30 days" in page


def test_logout_a_new_password_and_deactivation_end_a_remembered_device(_schema):
    with app_of(_schema, REMEMBER_DEVICE_DAYS=30) as app:
        make_user("tib@example.org")
        db.session.commit()

        phone = app.test_client()
        sign_in(phone, remember=True)
        copy = app.test_client()
        copy.set_cookie("session", phone.get_cookie("session").value)
        assert copy.get("/").status_code == 200
        Auth(phone).logout()
        assert copy.get("/").status_code == 302  # a copy of the cookie is worth nothing

        sign_in(phone, remember=True)
        assert phone.get("/").status_code == 200
        set_password(find_user("tib@example.org"), "a fresh unusual passphrase")
        db.session.commit()
        assert phone.get("/").status_code == 302

        set_password(find_user("tib@example.org"), PASSWORD)
        db.session.commit()
        sign_in(phone, remember=True)
        assert phone.get("/").status_code == 200
        assert app.test_cli_runner().invoke(
            args=["users", "deactivate", "tib@example.org"]).exit_code == 0
        assert phone.get("/").status_code == 302
