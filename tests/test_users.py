"""User accounts: the `flask users` commands and the admin pages."""

from sqlalchemy import select

from directory.accounts.users import find_user
from directory.core.extensions import db
from directory.core.models import User, UserRole
from directory.core.security import verify_password
from tests.conftest import Auth, make_actor, make_user


def test_users_create_with_password_from_stdin(app, runner):
    make_actor("Haninge kommun")
    db.session.commit()
    result = runner.invoke(
        args=["users", "create", "Editor@Example.org", "--role", "editor",
              "--actor", "haninge-kommun", "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    user = find_user("editor@example.org")
    assert user.role == UserRole.EDITOR
    assert [a.slug for a in user.actors] == ["haninge-kommun"]
    assert user.password_hash.startswith("scrypt:32768:8:1$")  # the app's parameters
    assert verify_password(user, "a long enough password")


def test_users_create_refuses_an_unknown_actor(app, runner):
    result = runner.invoke(
        args=["users", "create", "e@example.org", "--role", "editor", "--actor", "nowhere",
              "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code != 0
    assert "No actor with the slug nowhere" in result.output
    assert db.session.scalar(select(User)) is None


def test_users_create_refuses_a_short_password(app, runner):
    result = runner.invoke(
        args=["users", "create", "e@example.org", "--role", "viewer", "--password-stdin"],
        input="short\n",
    )
    assert result.exit_code != 0
    assert "at least 15 characters" in result.output


def test_users_set_password_and_deactivate(app, runner):
    make_user("tib@example.org")
    db.session.commit()
    result = runner.invoke(args=["users", "set-password", "tib@example.org",
                                 "--password-stdin"], input="another long password\n")
    assert result.exit_code == 0
    db.session.expire_all()
    assert verify_password(find_user("tib@example.org"), "another long password")
    assert runner.invoke(args=["users", "deactivate", "tib@example.org"]).exit_code == 0
    db.session.expire_all()
    assert find_user("tib@example.org").active is False


def test_users_list(app, runner):
    make_user("tib@example.org", role=UserRole.ADMIN)
    db.session.commit()
    result = runner.invoke(args=["users", "list"])
    assert "tib@example.org\tadmin\tactive" in result.output


def test_admin_creates_an_editor_for_an_actor(app, client, login_as):
    actor = make_actor("Haninge kommun")
    db.session.commit()
    login_as(UserRole.ADMIN)
    token = Auth(client).csrf_token("/admin/users/new")
    response = client.post("/admin/users/new", data={
        "csrf_token": token, "email": "ny@example.org", "name": "Ny Redaktör",
        "role": "editor", "actors": str(actor.id), "password": "a long enough password",
        "active": "y",
    })
    assert response.status_code == 302
    user = find_user("ny@example.org")
    assert [a.id for a in user.actors] == [actor.id]


def test_admin_deactivates_a_user_who_then_cannot_sign_in(app, client, login_as):
    target = make_user("tib@example.org")
    db.session.commit()
    login_as(UserRole.ADMIN)
    token = Auth(client).csrf_token("/")
    client.post(f"/admin/users/{target.id}/edit", data={
        "csrf_token": token, "email": "tib@example.org", "role": "viewer",
    })
    db.session.expire_all()
    assert find_user("tib@example.org").active is False
    other = app.test_client()
    assert Auth(other).login("tib@example.org").status_code == 401
