"""Calendar feeds: secret URLs that calendar apps poll, read back with vobject.

The feed URL works without a session (`phones.calendar_feed` is a public
endpoint); everything else about feeds needs the right to edit the subject.
"""

import hashlib
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import vobject
from sqlalchemy import select

from directory.core.extensions import db
from directory.core.models import (
    AccessToken,
    CollaborationPattern,
    ContactKind,
    ContactPoint,
    Mode,
    Override,
    PathMode,
    Rotation,
    RotationMember,
    Shift,
    TokenKind,
    User,
    UserRole,
    utcnow,
)
from directory.core.modes import switch_mode
from directory.core.patterns import occurrences
from directory.phones.calendars import meetings
from tests.conftest import make_actor, make_person, make_role

TZ = ZoneInfo("Europe/Stockholm")


@pytest.fixture
def region(app):
    haninge = make_actor("Haninge kommun")
    tib = make_role(haninge)
    asa = make_person(haninge, "Åsa Öberg")
    nils = make_person(haninge, "Nils Nilsson")
    today = datetime.now(TZ).date()
    monday = today - timedelta(days=today.weekday() + 7)
    rotation = Rotation(role=tib, name="Vecka", length_days=7, handover_time=time(8, 0),
                        starts_on=monday)
    rotation.members = [RotationMember(person=asa, position=0),
                        RotationMember(person=nils, position=1)]
    db.session.add(rotation)
    override_day = today + timedelta(days=3)
    override = Override(role=tib, person=nils, reason="Byte",
                        starts_at=datetime.combine(override_day, time(12), TZ).astimezone(UTC),
                        ends_at=datetime.combine(override_day, time(18), TZ).astimezone(UTC))
    db.session.add(override)
    db.session.commit()
    return {"haninge": haninge, "tib": tib, "asa": asa, "nils": nils, "override": override,
            "monday": monday}


def create_feed(client, subject: str, name="Min jour", status=201) -> str:
    response = client.post("/calendars/feeds", data={
        "subject": subject, "name": name, "csrf_token": csrf(client)})
    assert response.status_code == status, response.get_data(as_text=True)[:1000]
    if status != 201:
        return ""
    match = re.search(r'value="(http://localhost/calendars/[^"]+\.ics)"',
                      response.get_data(as_text=True))
    assert match, "the new URL is shown"
    return match.group(1).removeprefix("http://localhost")


def csrf(client) -> str:
    page = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def read_feed(app, url):
    """Fetch a feed as a calendar app does: no session at all."""
    anonymous = app.test_client()
    response = anonymous.get(url)
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/calendar"
    return vobject.readOne(response.get_data(as_text=True)), response.get_data(as_text=True)


def events(calendar) -> list:
    return calendar.contents.get("vevent", [])


def start_utc(event) -> datetime:
    return event.dtstart.value.astimezone(UTC)


# --- The feed itself ----------------------------------------------------------------


def test_a_role_feed_is_published_in_stockholm_time(region, app, client, login_as):
    login_as(UserRole.EDITOR, actors=[region["haninge"]])
    url = create_feed(client, f"role-{region['tib'].id}")
    calendar, text = read_feed(app, url)
    assert calendar.method.value == "PUBLISH"
    assert calendar.contents["x-wr-timezone"][0].value == "Europe/Stockholm"
    # UTC moments (no client misreads them), shown in the zone X-WR-TIMEZONE names.
    assert "vtimezone" not in calendar.contents and "TZID=" not in text
    assert re.search(r"^DTSTART:\d{8}T\d{6}Z\r$", text, re.MULTILINE)
    found = events(calendar)
    assert found and all(e.transp.value == "TRANSPARENT" for e in found)
    now = utcnow()
    assert all(e.dtend.value.astimezone(UTC) > now - timedelta(days=30) for e in found)
    assert all(start_utc(e) < now + timedelta(days=367) for e in found)
    assert max(start_utc(e) for e in found) > now + timedelta(days=330)  # a year ahead
    # Weekly handovers at 08:00 local time, in winter and in summer alike.
    handovers = [e for e in found if "(rotation)" in e.description.value
                 and e.dtstart.value.astimezone(TZ).weekday() == 0
                 and start_utc(e) != region["override"].ends_at]
    assert {e.dtstart.value.astimezone(TZ).time() for e in handovers} == {time(8, 0)}
    assert {e.dtstart.value.astimezone(TZ).utcoffset() for e in handovers} == {
        timedelta(hours=1), timedelta(hours=2)}


def test_stretches_resolve_override_over_rotation(region, app, client, login_as):
    login_as(UserRole.ADMIN)
    calendar, _text = read_feed(app, create_feed(client, f"role-{region['tib'].id}"))
    override = region["override"]
    found = [e for e in events(calendar) if start_utc(e) == override.starts_at]
    assert len(found) == 1
    assert found[0].summary.value == "TiB: Nils Nilsson"
    assert found[0].dtend.value.astimezone(UTC) == override.ends_at
    assert "(override)" in found[0].description.value
    assert found[0].url.value == f"http://localhost/roles/{region['tib'].id}"


def test_uids_stay_the_same_from_poll_to_poll(region, app, client, login_as):
    login_as(UserRole.ADMIN)
    url = create_feed(client, f"role-{region['tib'].id}")
    first, _text = read_feed(app, url)
    second, _text = read_feed(app, url)
    uids = [e.uid.value for e in events(first)]
    assert len(set(uids)) == len(uids)
    assert uids == [e.uid.value for e in events(second)]


def test_a_persons_feed_holds_only_their_time(region, app, client, login_as):
    login_as(UserRole.ADMIN)
    calendar, _text = read_feed(app, create_feed(client, f"person-{region['asa'].id}"))
    found = events(calendar)
    assert found and all(e.summary.value == "On call: TiB – Haninge kommun" for e in found)
    assert all("Åsa Öberg is on call" in e.description.value for e in found)
    # Åsa has every other week; Nils's override in her week cuts her turn in two.
    starts = sorted(start_utc(e) for e in found)
    assert all((b - a) >= timedelta(hours=6) for a, b in zip(starts, starts[1:], strict=False))
    assert region["override"].starts_at not in starts


def test_single_shifts_count_too(region, app, client, login_as):
    other = make_role(region["haninge"], "Kommunikatör i beredskap", "KiB")
    start = datetime.combine(datetime.now(TZ).date() + timedelta(days=40), time(7), TZ)
    db.session.add(Shift(role=other, person=region["asa"], starts_at=start.astimezone(UTC),
                         ends_at=(start + timedelta(hours=12)).astimezone(UTC)))
    db.session.commit()
    login_as(UserRole.ADMIN)
    calendar, _text = read_feed(app, create_feed(client, f"person-{region['asa'].id}"))
    kib = [e for e in events(calendar) if "KiB" in e.summary.value]
    assert [start_utc(e) for e in kib] == [start.astimezone(UTC)]
    assert kib[0].dtstart.value.astimezone(TZ).hour == 7


def test_meetings_follow_the_mode_in_force(region, app, client, login_as):
    weekly = CollaborationPattern(
        name="Veckomöte", convener_actor=region["haninge"], starts_on=date(2026, 1, 1),
        recurrence="FREQ=WEEKLY;BYDAY=WE;BYHOUR=10;BYMINUTE=0", duration_minutes=45,
        meeting_place="Stadshuset", purpose="Läget; nästa steg")
    storm = CollaborationPattern(
        name="Stabsmöte", convener_actor=region["haninge"], starts_on=date(2026, 1, 1),
        mode=PathMode.ACTIVATED, recurrence="FREQ=DAILY;BYHOUR=9,15;BYMINUTE=0")
    db.session.add_all([weekly, storm])
    db.session.flush()
    db.session.add_all([
        ContactPoint(pattern_id=weekly.id, kind=ContactKind.BRIDGE, value="+46701740650",
                     pin="4321", label="Brygga"),
        ContactPoint(pattern_id=weekly.id, kind=ContactKind.MOBILE, value="+46701740651",
                     confidential=True, priority=2, label="Hemlig"),
    ])
    db.session.commit()
    admin = login_as(UserRole.ADMIN)
    url = create_feed(client, "patterns")
    calendar, _text = read_feed(app, url)
    found = events(calendar)
    assert {e.summary.value for e in found} == {"Veckomöte"}
    first = found[0]
    assert first.dtstart.value.astimezone(TZ).time() == time(10, 0)
    assert first.dtstart.value.astimezone(TZ).weekday() == 2
    assert first.dtend.value - first.dtstart.value == timedelta(minutes=45)
    assert first.location.value == "Stadshuset"
    assert "Läget; nästa steg" in first.description.value
    assert "Brygga: 070-174 06 50 (PIN 4321)" in first.description.value
    assert "070-174 06 51" not in first.description.value  # confidential
    assert len(found) >= 52

    switch_mode(None, Mode.ACTIVATED, reason="Storm", user=db.session.merge(admin))
    db.session.commit()
    calendar, _text = read_feed(app, url)
    staff = [e for e in events(calendar) if e.summary.value == "Stabsmöte"]
    assert {e.dtstart.value.astimezone(TZ).time() for e in staff} == {time(9), time(15)}


def test_hostile_names_stay_inside_their_values(region, app, client, login_as):
    role = region["tib"]
    role.short_name = "TiB\r\nEND:VEVENT\r\nBEGIN:VEVENT;x:y,z"
    db.session.commit()
    login_as(UserRole.ADMIN)
    calendar, text = read_feed(app, create_feed(client, f"role-{role.id}"))
    lines = text.split("\r\n")
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT") == len(events(calendar))
    assert events(calendar)[0].summary.value.startswith(
        "TiB END:VEVENT BEGIN:VEVENT;x:y,z: ")


# --- Secret URLs ---------------------------------------------------------------------


def test_only_a_hash_of_the_secret_is_stored(region, app, client, login_as):
    login_as(UserRole.ADMIN)
    url = create_feed(client, f"role-{region['tib'].id}")
    secret = url.removeprefix("/calendars/").removesuffix(".ics")
    assert len(secret) >= 40
    token = db.session.scalar(select(AccessToken))
    assert token.kind == TokenKind.CALENDAR and token.role_id == region["tib"].id
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str([getattr(token, c.key) for c in AccessToken.__table__.columns])
    assert secret not in client.get("/calendars").get_data(as_text=True)  # shown once


def test_a_feed_remembers_when_it_was_read(region, app, client, login_as):
    login_as(UserRole.ADMIN)
    read_feed(app, create_feed(client, f"role-{region['tib'].id}"))
    db.session.expire_all()
    assert db.session.scalar(select(AccessToken)).last_used_at is not None


def test_a_revoked_url_is_gone_and_a_renewed_one_works(region, app, client, login_as):
    login_as(UserRole.EDITOR, actors=[region["haninge"]])
    old_url = create_feed(client, f"role-{region['tib'].id}")
    token = db.session.scalar(select(AccessToken))
    response = client.post(f"/calendars/feeds/{token.id}/renew", data={"csrf_token": csrf(client)})
    assert response.status_code == 201
    new_url = re.search(r'value="http://localhost(/calendars/[^"]+\.ics)"',
                        response.get_data(as_text=True)).group(1)
    assert new_url != old_url
    anonymous = app.test_client()
    assert anonymous.get(old_url).status_code == 410
    assert anonymous.get(new_url).status_code == 200
    new = db.session.scalar(select(AccessToken).where(AccessToken.revoked_at.is_(None)))
    assert new.name == "Min jour" and new.role_id == region["tib"].id
    response = client.post(f"/calendars/feeds/{new.id}/revoke", data={"csrf_token": csrf(client)})
    assert response.status_code == 302
    assert anonymous.get(new_url).status_code == 410


def test_unknown_urls_and_deleted_subjects_are_not_found(region, app, client, login_as):
    login_as(UserRole.ADMIN)
    url = create_feed(client, f"person-{region['nils'].id}")
    anonymous = app.test_client()
    assert anonymous.get("/calendars/not-a-real-secret-at-all.ics").status_code == 404
    region["nils"].deleted_at = utcnow()
    db.session.commit()
    assert anonymous.get(url).status_code == 404


def test_viewers_and_other_editors_cannot_make_or_manage_feeds(region, app, client, login_as):
    other = make_actor("Nynäshamns kommun")
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[other])
    create_feed(client, f"role-{region['tib'].id}", status=403)
    own = make_role(other, "Vakthavande", "VB")
    db.session.commit()
    create_feed(client, f"role-{own.id}")
    page = client.get(f"/calendars?subject=role-{region['tib'].id}").get_data(as_text=True)
    assert "TiB – Haninge kommun" not in page  # not offered
    assert "VB – Nynäshamns kommun" in page


def test_a_viewer_sees_who_makes_feeds(region, client, login_as):
    login_as(UserRole.VIEWER)
    page = client.get("/calendars").get_data(as_text=True)
    assert "ask them for one" in page
    create_feed(client, "patterns", status=403)


def test_editors_list_the_feeds_of_their_own_actors(region, client, login_as):
    other = make_actor("Nynäshamns kommun")
    vb = make_role(other, "Vakthavande", "VB")
    db.session.add(AccessToken(user_id=login_as(UserRole.ADMIN).id, kind=TokenKind.CALENDAR,
                               token_hash="x" * 64, role_id=vb.id, name="Deras"))
    db.session.commit()
    client.post("/logout", data={"csrf_token": csrf(client)})
    login_as(UserRole.EDITOR, actors=[region["haninge"]])
    create_feed(client, f"role-{region['tib'].id}", name="Vår")
    page = client.get("/calendars").get_data(as_text=True)
    assert "Vår" in page and "Deras" not in page


def test_meetings_are_the_occurrences_the_patterns_page_shows(region, app):
    pattern = CollaborationPattern(
        name="Samverkan", convener_actor=region["haninge"], starts_on=date(2026, 3, 1),
        recurrence="FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9,15;BYMINUTE=0")
    start = datetime(2026, 3, 20, tzinfo=UTC)
    found = meetings(pattern, start, start + timedelta(days=60), TZ)
    assert found == occurrences(pattern, start, TZ, len(found))
    assert {m.astimezone(TZ).time() for m in found} == {time(9), time(15)}  # across DST
    pattern.recurrence = "FREQ=NONSENSE"
    assert meetings(pattern, start, start + timedelta(days=60), TZ) == []


# --- A feed answers with its owner's rights as they are now ----------------------------


def fresh_user(user) -> User:
    db.session.expire_all()  # signing in changed the row
    return db.session.get(User, user.id)


def feed_status(app, url) -> tuple[int, str]:
    response = app.test_client().get(url)
    return response.status_code, response.get_data(as_text=True)


def test_a_deactivated_owners_feeds_stop_serving(region, app, client, login_as):
    editor = login_as(UserRole.EDITOR, actors=[region["haninge"]])
    role_url = create_feed(client, f"role-{region['tib'].id}")
    person_url = create_feed(client, f"person-{region['asa'].id}")
    patterns_url = create_feed(client, "patterns")
    for url in (role_url, person_url, patterns_url):
        assert feed_status(app, url)[0] == 200
    fresh_user(editor).active = False
    db.session.commit()
    for url in (role_url, person_url, patterns_url):
        status, body = feed_status(app, url)
        assert status == 404, url
        assert "Åsa" not in body and "Nils" not in body
    fresh_user(editor).active = True  # back at work: the URLs work again
    db.session.commit()
    assert feed_status(app, role_url)[0] == 200


def test_an_editor_who_loses_an_actor_loses_its_feeds(region, app, client, login_as):
    other = make_actor("Nynäshamns kommun")
    db.session.commit()
    editor = login_as(UserRole.EDITOR, actors=[region["haninge"]])
    role_url = create_feed(client, f"role-{region['tib'].id}")
    person_url = create_feed(client, f"person-{region['nils'].id}")
    patterns_url = create_feed(client, "patterns")
    user = fresh_user(editor)
    user.actors = [db.session.get(type(other), other.id)]
    db.session.commit()
    for url in (role_url, person_url):
        status, body = feed_status(app, url)
        assert status == 404, url
        assert "Nils" not in body
    assert feed_status(app, patterns_url)[0] == 200  # still an editor: may hold meetings feeds


def test_an_owner_made_viewer_serves_no_feed(region, app, client, login_as):
    pattern = CollaborationPattern(
        name="Regional samverkanskonferens", convener_actor_id=region["haninge"].id,
        recurrence="FREQ=DAILY", starts_on=date.today(), duration_minutes=30,
        mode=PathMode.BOTH)
    db.session.add(pattern)
    db.session.flush()
    db.session.add(ContactPoint(pattern_id=pattern.id, kind=ContactKind.BRIDGE,
                                value="+46701740640", pin="918273"))
    db.session.commit()
    admin = login_as(UserRole.ADMIN)
    patterns_url = create_feed(client, "patterns")
    role_url = create_feed(client, f"role-{region['tib'].id}")
    assert "918273" in feed_status(app, patterns_url)[1]
    fresh_user(admin).role = UserRole.VIEWER
    db.session.commit()
    for url in (patterns_url, role_url):
        status, body = feed_status(app, url)
        assert status == 404, url
        assert "918273" not in body and "Åsa" not in body


def test_the_feed_list_says_a_feed_is_paused_while_its_maker_may_not_see_it(
        region, app, client, login_as):
    editor = login_as(UserRole.EDITOR, actors=[region["haninge"]])
    create_feed(client, f"role-{region['tib'].id}")
    other = make_actor("Nynäshamns kommun")
    user = fresh_user(editor)
    user.actors = [other]
    db.session.commit()
    from tests.conftest import Auth, make_user

    admin = make_user(email="admin-feeds@example.org", role=UserRole.ADMIN)
    db.session.commit()
    admin_client = app.test_client()
    Auth(admin_client).login(admin.email)
    page = admin_client.get("/calendars").get_data(as_text=True)
    assert "paused: its maker may no longer see this" in page
    user = fresh_user(editor)
    user.actors = [db.session.get(type(other), region["haninge"].id)]
    db.session.commit()
    assert "paused: its maker" not in admin_client.get("/calendars").get_data(as_text=True)
