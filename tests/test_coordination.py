"""Collaboration patterns and scenarios, as coordinators write them down."""

import re
from datetime import time

import pytest
from sqlalchemy import select

from directory.core.extensions import db
from directory.core.models import CollaborationPattern, Phase, Scenario, UserRole
from directory.core.patterns import CadenceError, build_rrule, describe_rrule, parse_times
from tests.conftest import Auth, make_actor


def test_simple_choices_become_an_rrule_and_back():
    rule = build_rrule("weekly", ["WE"], [time(10, 0)])
    assert rule == "FREQ=WEEKLY;BYDAY=WE;BYHOUR=10;BYMINUTE=0"
    assert describe_rrule(rule) == ("weekly", ["WE"], "10:00")
    daily = build_rrule("daily", [], parse_times("15:00, 9.00"))
    assert daily == "FREQ=DAILY;BYHOUR=9,15;BYMINUTE=0"


@pytest.mark.parametrize("text", ["25:00", "nio", ""])
def test_unreadable_times_say_why(app, text):
    with pytest.raises(CadenceError):
        parse_times(text)


def test_times_that_would_multiply_are_refused(app):
    with pytest.raises(CadenceError, match="two patterns"):
        build_rrule("daily", [], [time(9, 30), time(15, 0)])


def test_coordinator_creates_a_pattern_shown_on_participants_pages(client, login_as):
    lan = make_actor("Länsstyrelsen Stockholm")
    haninge = make_actor("Haninge kommun")
    db.session.commit()
    login_as(UserRole.ADMIN)
    token = Auth(client).csrf_token("/")
    response = client.post("/patterns/new", data={
        "csrf_token": token, "name": "Regional samverkanskonferens", "convener": str(lan.id),
        "convener_role_id": "0", "mode": "both", "scenario_id": "0", "frequency": "daily",
        "times": "09:00, 15:00", "starts_on": "2026-11-01", "duration_minutes": "30",
        "participants": [str(lan.id), str(haninge.id)], "purpose": "Gemensam lägesbild"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    pattern = db.session.scalar(select(CollaborationPattern))
    assert pattern.recurrence == "FREQ=DAILY;BYHOUR=9,15;BYMINUTE=0"
    page = client.get("/actors/haninge-kommun").get_data(as_text=True)
    assert "Regional samverkanskonferens" in page and "Next:" in page


def test_a_bad_cadence_is_a_field_error(client, login_as):
    lan = make_actor("Länsstyrelsen Stockholm")
    db.session.commit()
    login_as(UserRole.ADMIN)
    token = Auth(client).csrf_token("/")
    response = client.post("/patterns/new", data={
        "csrf_token": token, "name": "Möte", "convener": str(lan.id), "convener_role_id": "0",
        "mode": "both", "scenario_id": "0", "frequency": "weekly", "times": "10:00",
        "starts_on": "2026-11-01", "duration_minutes": "30"})
    assert response.status_code == 422
    assert "Choose at least one weekday." in response.get_data(as_text=True)
    assert db.session.scalar(select(CollaborationPattern)) is None


def test_coordinator_writes_a_scenario_with_prioritised_measures(client, login_as):
    login_as(UserRole.ADMIN)
    token = Auth(client).csrf_token("/")
    response = client.post("/scenarios/new", data={
        "csrf_token": token, "name": "Trafikstörningar p.g.a. snö/halka",
        "goal": "Framkomlighet för blåljus", "preparatory": "Ploga prioriterade vägar\nVarna",
        "handling": "Samverkanskonferens två gånger om dagen"})
    assert response.status_code == 302
    scenario = db.session.scalar(select(Scenario))
    assert scenario.slug == "trafikstorningar-p-g-a-sno-halka"
    prep = [m.text for m in scenario.measures if m.phase == Phase.PREPARATORY]
    assert prep == ["Ploga prioriterade vägar", "Varna"]
    response = client.post(f"/scenarios/{scenario.slug}/edit", data={
        "csrf_token": token, "name": scenario.name, "preparatory": "Varna\nPloga",
        "handling": ""})
    assert response.status_code == 302
    db.session.expire_all()
    scenario = db.session.scalar(select(Scenario))
    assert [m.text for m in scenario.measures] == ["Varna", "Ploga"]
    page = client.get(f"/scenarios/{scenario.slug}").get_data(as_text=True)
    assert page.index("Varna") < page.index("Ploga")


# --- Switching the mode is a moment, not a form ---------------------------------------


@pytest.fixture
def three_actors(app):
    from datetime import date

    from directory.core.models import CallTree, Mode

    haninge = make_actor("Haninge kommun")
    make_actor("FRG Haninge", parent=haninge)
    make_actor("Länsstyrelsen Stockholm")
    db.session.add_all([
        CallTree(name="Larmkedja snö – ordinarie", mode=Mode.ORDINARY,
                 valid_from=date(2026, 12, 1)),
        CallTree(name="Larmkedja snö – aktiverat", mode=Mode.ACTIVATED,
                 valid_from=date(2026, 12, 1)),
    ])
    db.session.commit()
    return haninge


def switch(client, **fields):
    token = Auth(client).csrf_token("/mode")
    return client.post("/mode", data={"csrf_token": token, "scope": "0", "mode": "activated",
                                      "scenario": "0", "reason": "Snöoväder", **fields})


def test_switching_the_whole_region_first_says_what_follows(client, login_as, three_actors):
    from directory.core.models import CallTree, ModeChange

    login_as(UserRole.ADMIN)
    page = switch(client)
    text = " ".join(page.get_data(as_text=True).split())
    assert page.status_code == 200
    assert db.session.scalar(select(ModeChange)) is None  # nothing switched yet
    assert "Switch the whole region to activated mode?" in text
    assert "3 actors will be in activated mode." in text
    tree = db.session.scalar(select(CallTree).where(CallTree.name == "Larmkedja snö – aktiverat"))
    assert f'The regional call tree that now applies: <a href="/calltrees/{tree.id}">' in text
    assert "Larmkedja snö – ordinarie" not in text
    assert "Print the binder for this mode?" in text
    assert 'name="confirmed" type="hidden" value="1"' in text
    confirmed = switch(client, confirmed="1", then_print="y")
    assert confirmed.status_code == 302 and confirmed.headers["Location"] == "/binder"
    assert db.session.scalar(select(ModeChange)).reason == "Snöoväder"


def test_the_confirmation_names_actors_keeping_a_mode_of_their_own(client, login_as,
                                                                    three_actors):
    from directory.core.models import Mode
    from directory.core.modes import switch_mode

    admin = login_as(UserRole.ADMIN)
    switch_mode(three_actors, Mode.ACTIVATED, reason="Lokal händelse", user=admin)
    db.session.commit()
    text = " ".join(switch(client).get_data(as_text=True).split())
    assert "1 actor will be in activated mode." in text  # Länsstyrelsen; FRG follows Haninge
    assert "2 keep the mode they have (their own or their parent's): FRG Haninge, " \
           "Haninge kommun." in text


def test_an_actor_switches_without_a_confirmation(client, login_as, three_actors):
    from directory.core.models import ModeChange

    login_as(UserRole.ADMIN)
    assert switch(client, scope=str(three_actors.id)).status_code == 302
    assert db.session.scalar(select(ModeChange)).actor_id == three_actors.id


def test_the_banner_says_when_an_actor_is_activated_on_an_ordinary_day(client, login_as,
                                                                       three_actors):
    from directory.core.models import Mode
    from directory.core.modes import switch_mode

    admin = login_as(UserRole.ADMIN)
    switch_mode(three_actors, Mode.ACTIVATED, reason="Lokal händelse", user=admin)
    db.session.commit()
    client.post("/language", data={"locale": "sv", "csrf_token": Auth(client).csrf_token("/")})
    page = client.get("/").get_data(as_text=True)
    banner = page.split('class="mode-banner', 1)[1].split("</div>", 1)[0]
    text = " ".join(re.sub(r"<[^>]+>", " ", banner.split(">", 1)[1]).split())
    assert text.startswith("Ordinarie läge")
    assert text.endswith("· 1 aktör i aktiverat läge: Haninge kommun")
