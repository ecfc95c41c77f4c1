"""Confidential numbers: shown only to those allowed to see them."""

import pytest

from directory.core.extensions import db
from directory.core.models import UserRole
from directory.core.settings import VIEWERS_SEE_CONFIDENTIAL, set_setting
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
    # DESIGN: a lookup names the caller's actor (and role); the person only
    # when the setting allows, which it does not by default.
    assert "Åsa Öberg" not in lookup_page and "Haninge kommun" in lookup_page
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

    from directory.core.models import ContactPoint

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


# --- One gate: no template can print a hidden number, whatever it does --------


GATE_TEMPLATE = (
    "{{ p.value }}|{{ p['value'] }}|{{ p|attr('value') }}|{{ [p]|map(attribute='value')|join }}"
    "|{{ p.pin }}|{{ p }}|{{ p.value|phone }}|{{ p.value|tel }}"
)


@pytest.mark.parametrize("who, shown", [("viewer", False), ("editor_of_other", False),
                                        ("admin", True), ("editor", True)])
def test_a_template_gets_a_path_only_through_the_gate(app, secret, who, shown):
    from flask import render_template_string
    from flask_login import login_user
    from sqlalchemy import select

    from directory.core.models import ContactPoint
    from tests.conftest import make_user

    point = db.session.scalar(select(ContactPoint).where(ContactPoint.confidential))
    point.pin = "8642#"
    other = make_actor("Nynäshamns kommun")
    role = UserRole.EDITOR if who.startswith("editor") else UserRole(who)
    user = make_user(f"{who}@example.org", role=role,
                     actors={"editor": [secret], "editor_of_other": [other]}.get(who, []))
    db.session.commit()
    with app.test_request_context():
        login_user(user)
        page = render_template_string(GATE_TEMPLATE, p=point)
    for form in ("+46701740675", "070-174 06 75", "8642"):
        assert (form in page) is shown, (form, page)


def test_a_path_placed_in_a_call_tree_is_disclosed_for_that_request_only(app, secret):
    from flask import render_template_string
    from flask_login import login_user
    from sqlalchemy import select

    from directory.core.models import ContactPoint
    from directory.core.visibility import disclose
    from tests.conftest import make_user

    point = db.session.scalar(select(ContactPoint).where(ContactPoint.confidential))
    viewer = make_user("tib@example.org")
    db.session.commit()
    # Each request has its own application context, as real requests do.
    with app.app_context(), app.test_request_context():
        login_user(viewer)
        disclose([point])
        assert "070-174 06 75" in render_template_string("{{ p.value|phone }}", p=point)
    with app.app_context(), app.test_request_context():
        login_user(viewer)
        assert "070-174 06 75" not in render_template_string("{{ p.value|phone }}", p=point)


def test_a_hidden_path_says_so_instead_of_vanishing_from_a_pattern(client, login_as, secret):
    """A confidential bridge is shown as hidden, with its label, on every page it is on."""
    from datetime import date

    from directory.core.models import CollaborationPattern, ContactKind, ContactPoint, PathMode
    from directory.core.models import PatternParticipant as Participant

    pattern = CollaborationPattern(name="Samverkanskonferens", convener_actor=secret,
                                   mode=PathMode.BOTH, starts_on=date(2026, 12, 1),
                                   recurrence="FREQ=DAILY;BYHOUR=9;BYMINUTE=0")
    other = make_actor("Nynäshamns kommun")
    pattern.participants.append(Participant(actor=other))
    db.session.add(pattern)
    db.session.add(ContactPoint(pattern=pattern, kind=ContactKind.BRIDGE, value="+46701740674",
                                pin="246810#", label="Telefonbrygga", confidential=True))
    db.session.commit()
    login_as(UserRole.VIEWER)
    for url in ("/patterns", "/actors/nynashamns-kommun", "/actors/haninge-kommun"):
        page = client.get(url).get_data(as_text=True)
        assert "070-174 06 74" not in page and "246810" not in page, url
        assert "Telefonbrygga" in page and "Hidden number" in page, url


# --- Recorded values stay hidden as they were recorded ------------------------


def _replace_and_unmark(point_value="+46701740675"):
    from sqlalchemy import select

    from directory.core.models import ContactPoint

    point = db.session.scalar(select(ContactPoint).where(ContactPoint.value == point_value))
    point.value = "+46701740677"
    point.confidential = False
    db.session.commit()
    return point


def test_history_keeps_a_number_hidden_that_was_confidential_when_recorded(
        client, login_as, secret):
    point = _replace_and_unmark()
    login_as(UserRole.VIEWER)
    page = client.get(f"/history/contact_point/{point.id}").get_data(as_text=True)
    assert "+46701740675" not in page and "070-174 06 75" not in page
    assert "+46701740677" in page  # the new, ordinary number is no secret
    assert "Numbers that were confidential when they were recorded are hidden" in page


def test_history_shows_admins_every_recorded_number(client, login_as, secret):
    point = _replace_and_unmark()
    login_as(UserRole.ADMIN)
    page = client.get(f"/history/contact_point/{point.id}").get_data(as_text=True)
    assert "+46701740675" in page and "+46701740677" in page


def test_history_hides_an_open_number_once_the_path_is_marked_confidential(
        client, login_as, secret):
    from sqlalchemy import select

    from directory.core.models import ContactPoint

    point = db.session.scalar(select(ContactPoint).where(ContactPoint.value == "+46701740676"))
    point.confidential = True  # recorded open at creation, private from now on
    db.session.commit()
    login_as(UserRole.VIEWER)
    page = client.get(f"/history/contact_point/{point.id}").get_data(as_text=True)
    assert "+46701740676" not in page and "070-174 06 76" not in page
    assert "Numbers that were confidential when they were recorded are hidden" in page
