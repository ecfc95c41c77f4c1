"""Device passwords: made on a page or the command line, shown once, stored hashed,
named, revocable, with last use shown, throttled like sign-in, ended by deactivation."""

import base64
import re

import pytest
from sqlalchemy import select

from directory.accounts.devices import (
    create_device_password,
    new_device_secret,
)
from directory.accounts.users import deactivate
from directory.core.extensions import db
from directory.core.models import DevicePassword, UserRole
from tests.conftest import PASSWORD, Auth, make_user

SECRET = re.compile(r"\b(?:[a-z2-9]{4}-){4}[a-z2-9]{4}\b")
PROBE = "/dav/"
PROPFIND = ('<?xml version="1.0"?><d:propfind xmlns:d="DAV:">'
            "<d:prop><d:resourcetype/></d:prop></d:propfind>")


def basic(email: str, secret: str) -> dict:
    raw = base64.b64encode(f"{email}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}", "Depth": "0"}


def probe(client, email, secret):
    return client.open(PROBE, method="PROPFIND", headers=basic(email, secret), data=PROPFIND)


def create_on_page(client, name="iPhone jobb"):
    token = Auth(client).csrf_token("/account/devices")
    return client.post("/account/devices", data={"name": name, "csrf_token": token})


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_anyone_makes_a_device_password_on_the_page_and_sees_it_once(client, login_as, role):
    user = login_as(UserRole(role))
    response = create_on_page(client)
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    secret = SECRET.search(page)[0]
    assert user.email in page and "/dav/" in page  # what to type into the phone
    assert secret not in client.get("/account/devices").get_data(as_text=True)
    stored = db.session.scalar(select(DevicePassword).where(DevicePassword.user_id == user.id))
    assert stored.name == "iPhone jobb"
    assert stored.password_hash.startswith("scrypt:") and secret not in stored.password_hash
    client.post("/logout", data={"csrf_token": Auth(client).csrf_token("/")})
    assert probe(client, user.email, secret).status_code == 207


def test_a_device_password_needs_a_name(client, login_as):
    login_as(UserRole.VIEWER)
    response = create_on_page(client, name="   ")
    assert response.status_code == 422
    assert db.session.scalar(select(DevicePassword)) is None


def test_the_page_lists_ones_own_devices_with_last_use(client, login_as):
    someone = make_user("someone@example.org")
    create_device_password(someone, "Someone's Android")
    user = login_as(UserRole.VIEWER)
    _device, secret = create_device_password(user, "iPad hemma")
    db.session.commit()
    page = client.get("/account/devices").get_data(as_text=True)
    assert "iPad hemma" in page and "Someone" not in page
    assert "<td>never</td>" in page
    assert probe(client, user.email, secret).status_code == 207
    page = client.get("/account/devices").get_data(as_text=True)
    assert "<td>never</td>" not in page
    db.session.expire_all()
    assert db.session.scalar(select(DevicePassword).where(
        DevicePassword.user_id == user.id)).last_used_at is not None


def test_a_revoked_device_gets_401_at_once(client, login_as):
    user = login_as(UserRole.EDITOR)
    secret = SECRET.search(create_on_page(client).get_data(as_text=True))[0]
    assert probe(client, user.email, secret).status_code == 207
    device = db.session.scalar(select(DevicePassword))
    csrf = Auth(client).csrf_token("/account/devices")
    response = client.post(f"/account/devices/{device.id}/revoke", data={"csrf_token": csrf})
    assert response.status_code == 302
    assert probe(client, user.email, secret).status_code == 401
    assert "revoked" in client.get("/account/devices").get_data(as_text=True)


def test_a_user_cannot_revoke_another_users_device(client, login_as):
    victim = make_user("victim@example.org")
    device, secret = create_device_password(victim, "Victim's phone")
    db.session.commit()
    login_as(UserRole.ADMIN)
    csrf = Auth(client).csrf_token("/account/devices")
    response = client.post(f"/account/devices/{device.id}/revoke", data={"csrf_token": csrf})
    assert response.status_code == 404
    assert probe(client, victim.email, secret).status_code == 207


def test_revoking_needs_the_csrf_token(client, login_as):
    user = login_as(UserRole.VIEWER)
    device, _secret = create_device_password(user, "x")
    db.session.commit()
    assert client.post(f"/account/devices/{device.id}/revoke").status_code == 400
    db.session.expire_all()
    assert db.session.get(DevicePassword, device.id).revoked_at is None


def test_deactivation_ends_every_device_password(client, app):
    user = make_user("leaver@example.org")
    _device, secret = create_device_password(user, "iPhone")
    db.session.commit()
    assert probe(client, user.email, secret).status_code == 207
    deactivate(user)
    db.session.commit()
    assert probe(client, user.email, secret).status_code == 401
    assert db.session.scalar(select(DevicePassword)).revoked_at is not None


def test_a_device_password_of_one_user_does_not_open_another_account(client):
    one = make_user("one@example.org")
    make_user("two@example.org")
    _device, secret = create_device_password(one, "iPhone")
    db.session.commit()
    assert probe(client, "two@example.org", secret).status_code == 401


def test_failed_device_sign_ins_are_throttled_like_the_sign_in_form(client, app):
    user = make_user("target@example.org")
    _device, secret = create_device_password(user, "iPhone")
    db.session.commit()
    limit = int(app.config["LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS"].split()[0])
    for _ in range(limit):
        assert probe(client, user.email, new_device_secret()).status_code == 401
    response = probe(client, user.email, secret)  # even the right one waits now
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    # Another account from the same address is not locked out by this one.
    other = make_user("other@example.org")
    _device, other_secret = create_device_password(other, "iPhone")
    db.session.commit()
    assert probe(client, other.email, other_secret).status_code == 207


def test_cli_creates_a_device_password_printed_alone_on_the_last_line(runner, client):
    user = make_user("cli@example.org")
    db.session.commit()
    result = runner.invoke(args=["devices", "create", user.email, "--name", "iPhone jobb"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert SECRET.fullmatch(secret)
    assert probe(client, user.email, secret).status_code == 207
    listed = runner.invoke(args=["devices", "list", user.email])
    assert "iPhone jobb" in listed.output and secret not in listed.output
    device = db.session.scalar(select(DevicePassword))
    revoked = runner.invoke(args=["devices", "revoke", str(device.id)])
    assert revoked.exit_code == 0
    assert probe(client, user.email, secret).status_code == 401


def test_cli_refuses_an_unknown_user(runner):
    result = runner.invoke(args=["devices", "create", "nobody@example.org", "--name", "x"])
    assert result.exit_code != 0
    assert "No user" in result.output


def test_the_users_own_password_is_not_a_device_password(client):
    user = make_user("own@example.org")
    db.session.commit()
    assert probe(client, user.email, PASSWORD).status_code == 401


def test_the_help_page_fills_in_the_server_and_user_name(client, login_as):
    user = login_as(UserRole.VIEWER)
    page = client.get("/account/address-book").get_data(as_text=True)
    assert "http://localhost/dav/" in page
    assert user.email in page
    for client_name in ("iPhone", "DAVx⁵", "macOS", "Thunderbird"):
        assert client_name in page
