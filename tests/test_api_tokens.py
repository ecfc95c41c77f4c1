"""Personal API tokens: made on a page or the command line, shown once, stored hashed."""

import hashlib
import re

import pytest
from sqlalchemy import select

from directory.accounts import credentials
from directory.core.extensions import db
from directory.core.models import AccessToken, TokenKind, UserRole
from tests.conftest import Auth, make_user

API_PROBE = "/api/v1/actors"


def create_on_page(client, name="Växelns system"):
    token = Auth(client).csrf_token("/account/tokens")
    return client.post("/account/tokens", data={"name": name, "csrf_token": token})


def secret_in(page: str) -> str:
    match = re.search(r"kv_[A-Za-z0-9_-]{43}", page)
    assert match, "no token on the page"
    return match.group(0)


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_anyone_signed_in_makes_a_token_and_sees_it_once(client, login_as, role):
    user = login_as(UserRole(role))
    response = create_on_page(client)
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    secret = secret_in(page)
    assert "not shown again" in page
    assert client.get(API_PROBE, headers=bearer(secret)).status_code == 200
    assert secret not in client.get("/account/tokens").get_data(as_text=True)
    stored = db.session.scalar(select(AccessToken).where(AccessToken.user_id == user.id))
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert stored.kind == TokenKind.API and stored.name == "Växelns system"


def test_the_secret_is_never_stored_or_put_in_the_session(client, login_as):
    login_as(UserRole.EDITOR)
    response = create_on_page(client)
    secret = secret_in(response.get_data(as_text=True))
    assert "Set-Cookie" not in response.headers or secret not in response.headers["Set-Cookie"]
    for row in db.session.execute(select(AccessToken.__table__)).all():
        assert secret not in " ".join(str(value) for value in row)


def test_a_token_needs_a_name(client, login_as):
    login_as(UserRole.VIEWER)
    response = create_on_page(client, name="  ")
    assert response.status_code == 422
    assert db.session.scalar(select(AccessToken)) is None


def test_the_page_lists_only_ones_own_tokens(client, login_as):
    someone = make_user("someone@example.org")
    credentials.create_api_token(someone, "Someone's script")
    db.session.commit()
    login_as(UserRole.VIEWER)
    create_on_page(client, "My script")
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "My script" in page and "Someone&#39;s script" not in page
    assert "Someone's script" not in page


def test_a_revoked_token_stops_working(client, login_as):
    user = login_as(UserRole.EDITOR)
    secret = secret_in(create_on_page(client).get_data(as_text=True))
    token = db.session.scalar(select(AccessToken).where(AccessToken.user_id == user.id))
    csrf = Auth(client).csrf_token("/account/tokens")
    response = client.post(f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf})
    assert response.status_code == 302
    # The session would still sign the client in: try the token alone.
    client.post("/logout", data={"csrf_token": Auth(client).csrf_token("/")})
    answer = client.get(API_PROBE, headers=bearer(secret))
    assert answer.status_code == 401
    assert answer.mimetype == "application/problem+json"
    db.session.expire_all()
    assert db.session.get(AccessToken, token.id).revoked_at is not None


def test_a_user_cannot_revoke_another_users_token(client, login_as):
    victim = make_user("victim@example.org", role=UserRole.EDITOR)
    token, secret = credentials.create_api_token(victim, "Victim's sync")
    db.session.commit()
    login_as(UserRole.ADMIN)  # not even a coordinator, through this page
    csrf = Auth(client).csrf_token("/account/tokens")
    response = client.post(f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf})
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(AccessToken, token.id).revoked_at is None
    client.post("/logout", data={"csrf_token": Auth(client).csrf_token("/")})
    assert client.get(API_PROBE, headers=bearer(secret)).status_code == 200


def test_revoking_needs_the_csrf_token(client, login_as):
    user = login_as(UserRole.VIEWER)
    token, _secret = credentials.create_api_token(user, "x")
    db.session.commit()
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 400
    db.session.expire_all()
    assert db.session.get(AccessToken, token.id).revoked_at is None


def test_the_token_page_needs_sign_in(client):
    response = client.get("/account/tokens")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_last_use_is_recorded(client, app):
    user = make_user("sync@example.org", role=UserRole.EDITOR)
    token, secret = credentials.create_api_token(user, "sync")
    db.session.commit()
    assert token.last_used_at is None
    client.get(API_PROBE, headers=bearer(secret))
    db.session.expire_all()
    assert db.session.get(AccessToken, token.id).last_used_at is not None


def test_calendar_tokens_do_not_open_the_api(client, app):
    user = make_user("cal@example.org")
    secret = credentials.PREFIX + "calendar-secret-calendar-secret-calendar-sec"
    db.session.add(AccessToken(user=user, kind=TokenKind.CALENDAR, all_patterns=True,
                               token_hash=credentials.hash_token(secret)))
    db.session.commit()
    assert client.get(API_PROBE, headers=bearer(secret)).status_code == 401


# --- flask tokens ---------------------------------------------------------------


def test_cli_creates_a_token_that_works(runner, client):
    make_user("ops@example.org", role=UserRole.ADMIN)
    db.session.commit()
    result = runner.invoke(args=["tokens", "create", "OPS@example.org", "--name", "Växeln"])
    assert result.exit_code == 0, result.output
    secret = secret_in(result.stdout)
    assert client.get(API_PROBE, headers=bearer(secret)).status_code == 200
    listed = runner.invoke(args=["tokens", "list", "ops@example.org"])
    assert "Växeln" in listed.output and secret not in listed.output


def test_cli_refuses_an_unknown_or_deactivated_user(runner):
    assert runner.invoke(args=["tokens", "create", "nobody@example.org"]).exit_code != 0
    make_user("gone@example.org", active=False)
    db.session.commit()
    result = runner.invoke(args=["tokens", "create", "gone@example.org"])
    assert result.exit_code != 0 and "deactivated" in result.output


def test_cli_revokes_a_token(runner, client):
    user = make_user("ops@example.org")
    token, secret = credentials.create_api_token(user, "old")
    db.session.commit()
    result = runner.invoke(args=["tokens", "revoke", str(token.id)])
    assert result.exit_code == 0, result.output
    assert client.get(API_PROBE, headers=bearer(secret)).status_code == 401


def test_a_user_keeps_a_bounded_number_of_live_tokens(app):
    user = make_user("many@example.org")
    for n in range(credentials.MAX_TOKENS_PER_USER):
        credentials.create_api_token(user, f"t{n}")
    with pytest.raises(credentials.TokenError):
        credentials.create_api_token(user, "one too many")
    credentials.revoke(credentials.active_api_tokens(user)[0])
    credentials.create_api_token(user, "room again")
