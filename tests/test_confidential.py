"""Confidential numbers: shown only to those allowed to see them."""

import pytest

from directory.extensions import db
from directory.models import UserRole
from directory.settings import VIEWERS_SEE_CONFIDENTIAL, set_setting
from tests.conftest import Auth, make_actor, make_contact, make_person


@pytest.fixture
def secret(app):
    actor = make_actor("Haninge kommun")
    person = make_person(actor, "Åsa Öberg")
    make_contact(person, "+46701740675", confidential=True, label="Privat mobil")
    make_contact(person, "+46701740676", label="Tjänstemobil")
    db.session.commit()
    return actor


def pages(client):
    return [client.get(url).get_data(as_text=True) for url in
            ("/actors/haninge-kommun", "/search?q=asa+oberg", "/search?q=070-174+06+75",
             "/search?q=privat")]


@pytest.mark.parametrize("who", ["viewer", "editor_of_other"])
def test_hidden_from_viewers_and_other_editors_by_default(client, login_as, secret, who):
    other = make_actor("Nynäshamns kommun")
    db.session.commit()
    if who == "viewer":
        login_as(UserRole.VIEWER)
    else:
        login_as(UserRole.EDITOR, actors=[other])
    actor_page, search_page, lookup_page, label_page = pages(client)
    for page in (actor_page, search_page, label_page):
        assert "070-174 06 75" not in page and "+46701740675" not in page
    assert "Åsa Öberg" not in lookup_page  # the owner is not revealed by a lookup
    assert "070-174 06 76" in actor_page  # the ordinary number still shows


@pytest.mark.parametrize("role", ["admin", "editor"])
def test_shown_to_admins_and_editors_of_the_actor(client, login_as, secret, role):
    login_as(UserRole(role), actors=[secret] if role == "editor" else [])
    assert "070-174 06 75" in pages(client)[0]


def test_shown_to_viewers_when_the_setting_allows(client, login_as, secret):
    set_setting(VIEWERS_SEE_CONFIDENTIAL, True)
    db.session.commit()
    login_as(UserRole.VIEWER)
    assert "070-174 06 75" in pages(client)[0]


def test_history_hides_a_confidential_number_from_viewers(client, login_as, secret):
    from sqlalchemy import select

    from directory.models import ContactPoint

    point = db.session.scalar(select(ContactPoint).where(ContactPoint.confidential))
    login_as(UserRole.VIEWER)
    page = client.get(f"/history/contact_point/{point.id}").get_data(as_text=True)
    assert "+46701740675" not in page and "confidential" in page


def test_admin_turns_the_setting_on(client, login_as, secret):
    login_as(UserRole.ADMIN)
    token = Auth(client).csrf_token("/admin/settings")
    client.post("/admin/settings", data={"csrf_token": token, "viewers_see_confidential": "y"})
    viewer = app_client = client.application.test_client()
    from tests.conftest import make_user

    make_user("tib@example.org")
    db.session.commit()
    Auth(app_client).login("tib@example.org")
    assert "070-174 06 75" in viewer.get("/actors/haninge-kommun").get_data(as_text=True)
