"""The on-call board and the communications list, read as a duty officer reads them."""

import re
from datetime import timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from directory.core.extensions import db
from directory.core.models import (
    ActorKind,
    Mode,
    Override,
    RoleEscalationStep,
    Rotation,
    RotationMember,
    Shift,
    UserRole,
    utcnow,
)
from directory.core.modes import switch_mode
from tests.conftest import (
    Auth,
    make_actor,
    make_contact,
    make_person,
    make_role,
    recorded_statements,
)

SECRET = "+46701740699"


def rows_of(html: str) -> list[str]:
    """The board's rows, in order, as their text without tags."""
    rows = re.findall(r'<tr class="board-row[^"]*"[^>]*>(.*?)</tr>', html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


@pytest.fixture
def region(app):
    """Haninge with a TiB on shift now and someone next; Polisen with nobody on call."""
    now = utcnow()
    haninge = make_actor("Haninge kommun")
    tib = make_role(haninge, "Tjänsteman i beredskap", "TiB")
    make_contact(tib, "+46701740605", label="TiB 24/7")
    make_contact(tib, "+46701740606", kind="switchboard", priority=2)
    make_contact(tib, SECRET, priority=3, confidential=True)
    make_contact(tib, "RSTH HAN-1", kind="rakel_group", priority=4)
    asa, per = make_person(haninge, "Åsa Öberg"), make_person(haninge, "Per Åkesson")
    db.session.add_all([
        Shift(role=tib, person=asa, starts_at=now - timedelta(hours=1),
              ends_at=now + timedelta(hours=5)),
        Shift(role=tib, person=per, starts_at=now + timedelta(hours=5),
              ends_at=now + timedelta(hours=29)),
    ])
    police = make_actor("Polismyndigheten", kind=ActorKind.POLICE)
    vb = make_role(police, "Vakthavande befäl", "VB")
    make_contact(vb, "+46701740620")
    make_contact(police, "+46701740621", kind="switchboard", label="Växel")
    frg = make_actor("FRG Haninge", kind=ActorKind.VOLUNTEER)
    make_role(frg, "Kontaktperson", "")
    db.session.commit()
    return {"haninge": haninge, "police": police, "tib": tib, "frg": frg}


def test_board_shows_who_is_on_call_now_the_number_until_when_and_who_next(
        region, client, login_as):
    login_as(UserRole.VIEWER)
    html = client.get("/oncall").get_data(as_text=True)
    (row,) = [r for r in rows_of(html) if r.startswith("Haninge kommun")]
    assert "Åsa Öberg" in row and "Per Åkesson" in row
    assert 'href="tel:+46701740605"' in html
    assert "070-174 06 05" in row
    assert row.index("Åsa Öberg") < row.index("Per Åkesson")  # now, then next


def test_a_gap_is_marked_in_words_and_as_a_gap_row(region, client, login_as):
    login_as(UserRole.VIEWER)
    html = client.get("/oncall").get_data(as_text=True)
    (police,) = re.findall(r'<tr class="([^"]*)"[^>]*>\s*<td[^>]*><a[^>]*>Polismyndigheten', html)
    assert "gap-row" in police
    (row,) = [r for r in rows_of(html) if r.startswith("Polismyndigheten")]
    assert "Nobody on call" in row
    haninge = re.search(r'<tr class="([^"]*)"[^>]*>\s*<td[^>]*><a[^>]*>Haninge kommun', html)
    assert "gap-row" not in haninge.group(1)
    assert "2 without anyone on call" in html


def test_actors_in_activated_mode_come_first_and_are_marked(region, client, login_as):
    user = login_as(UserRole.ADMIN)
    switch_mode(region["police"], Mode.ACTIVATED, reason="Snöstorm", user=user)
    db.session.commit()
    rows = rows_of(client.get("/oncall").get_data(as_text=True))
    assert rows[0].startswith("Polismyndigheten Activated mode")
    assert [r.split()[0] for r in rows[1:]] == ["FRG", "Haninge"]
    assert all("Activated mode" not in r for r in rows[1:])


def test_filters_by_kind_of_actor_and_by_place(region, client, login_as):
    login_as(UserRole.VIEWER)
    police = rows_of(client.get("/oncall?kind=police").get_data(as_text=True))
    assert [r.split()[0] for r in police] == ["Polismyndigheten"]
    haninge = rows_of(client.get("/oncall?place=haninge").get_data(as_text=True))
    assert [r.split()[0] for r in haninge] == ["FRG", "Haninge"]
    both = rows_of(client.get("/oncall?place=Haninge&kind=volunteer").get_data(as_text=True))
    assert [r.split()[0] for r in both] == ["FRG"]


def test_an_unknown_kind_is_refused_with_a_reason(region, client, login_as):
    login_as(UserRole.VIEWER)
    response = client.get("/oncall?kind=pirates")
    assert response.status_code == 400
    assert "is not a kind of actor" in response.get_data(as_text=True)


def test_a_viewer_never_sees_a_confidential_number_its_editor_does(region, client, login_as,
                                                                    auth):
    tib = region["tib"]
    tib.contact_points[0].deleted_at = utcnow()  # the open numbers gone: the secret is first
    tib.contact_points[1].deleted_at = utcnow()
    db.session.commit()
    login_as(UserRole.VIEWER)
    for path in ("/oncall", "/oncall/rows", "/oncall/print"):
        html = client.get(path).get_data(as_text=True)
        assert SECRET not in html and "740699" not in html and "740 699" not in html, path
        assert "06 99" not in html, path
    assert "Hidden number" in client.get("/oncall").get_data(as_text=True)
    text = pdf_text(client.get("/oncall.pdf").data)
    assert "06 99" not in text and "hidden number" in text
    auth.logout()
    login_as(UserRole.EDITOR, actors=[region["haninge"]])
    assert 'href="tel:+46701740699"' in client.get("/oncall").get_data(as_text=True)


def test_the_refresh_endpoint_answers_the_rows_alone_with_the_filters(region, client, login_as):
    login_as(UserRole.VIEWER)
    page = client.get("/oncall?kind=police").get_data(as_text=True)
    assert 'data-refresh="/oncall/rows?kind=police"' in page
    response = client.get("/oncall/rows?kind=police")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert [r.split()[0] for r in rows_of(html)] == ["Polismyndigheten"]
    assert "Updated" in html


def board_statements(client, path="/oncall") -> int:
    """How many SQL statements one request of the board sends."""
    db.session.expire_all()
    with recorded_statements() as statements:
        assert client.get(path).status_code == 200
    return len(statements)


def add_busy_actors(parent, start: int, n: int, user) -> None:
    """Actors with all a board row reads: a parent, a switchboard, a role with
    open and confidential paths, a rotation, a shift, an override, an escalation
    step, and a mode of its own."""
    now = utcnow()
    for i in range(start, start + n):
        actor = make_actor(f"Aktör {i}", kind=ActorKind.COMPANY, parent=parent)
        make_contact(actor, f"+467017406{10 + i % 30}", kind="switchboard")
        role = make_role(actor, f"Beredskap {i}", "TiB")
        make_contact(role, f"+467017406{40 + i % 30}")
        make_contact(role, f"+467017406{70 + i % 29}", priority=2, confidential=True)
        make_contact(role, f"RAKEL {i}", kind="rakel_group", priority=3)
        first, second = make_person(actor, f"Första {i}"), make_person(actor, f"Andra {i}")
        rotation = Rotation(role=role, starts_on=(now - timedelta(days=30)).date(),
                            length_days=7)
        rotation.members = [RotationMember(person=first, position=0),
                            RotationMember(person=second, position=1)]
        db.session.add_all([
            rotation,
            Shift(role=role, person=second, starts_at=now + timedelta(days=2),
                  ends_at=now + timedelta(days=3)),
            Override(role=role, person=first, starts_at=now + timedelta(days=4),
                     ends_at=now + timedelta(days=5)),
            RoleEscalationStep(role=role, position=0, after_minutes=10, target_actor=parent),
        ])
        db.session.flush()
        if i % 2:
            switch_mode(actor, Mode.ACTIVATED, reason="Snöstorm", user=user)
    db.session.commit()


BOARD_PATHS = ["/oncall", "/oncall/rows", "/oncall?place=aktör"]


def test_the_board_sends_as_many_statements_for_forty_actors_as_for_two(
        region, client, login_as):
    user = login_as(UserRole.EDITOR, actors=[region["haninge"]])
    add_busy_actors(region["haninge"], 0, 2, user)
    few = {path: board_statements(client, path) for path in BOARD_PATHS}
    # A place costs one statement (the names it is sought in), read once for
    # the listing, not again for the page's roles. (The persons on shift are
    # read only where the rotations did not load them already: here, with
    # every shown shift's person in a rotation, that statement is saved.)
    assert few["/oncall?place=aktör"] <= few["/oncall"] + 1
    add_busy_actors(region["haninge"], 2, 38, user)  # one region for every path: a few s each
    for path in BOARD_PATHS:
        assert len(rows_of(client.get(path).get_data(as_text=True))) >= 40, path
        assert board_statements(client, path) <= few[path], path


def test_the_board_is_in_the_main_menu(region, client, login_as):
    login_as(UserRole.VIEWER)
    assert 'href="/oncall"' in client.get("/").get_data(as_text=True)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(content)).pages)


def test_communications_list_is_landscape_a4_with_page_numbers_marking_and_numbers(
        region, app, client, login_as):
    login_as(UserRole.VIEWER)
    response = client.get("/oncall.pdf")
    assert response.mimetype == "application/pdf"
    reader = PdfReader(BytesIO(response.data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (842, 595)  # A4 landscape
    text = pdf_text(response.data)
    assert "Page 1 of 1" in text
    assert app.config["SENSITIVITY_MARKING"] in text
    assert "Communications list" in text and "Revision" in text and "Ordinary mode" in text
    assert "070-174 06 05" in text and "070-174 06 06" in text  # primary and alternate
    assert "RSTH HAN-1" in text and "NOBODY ON CALL" in text
    # No second number of its own: the alternate is the actor's switchboard.
    assert re.search(r"070-174 06 20\s+070-174 06 21", text), text


def test_print_view_lists_the_same_numbers(region, client, login_as):
    login_as(UserRole.VIEWER)
    html = client.get("/oncall/print").get_data(as_text=True)
    assert "070-174 06 05" in html and "070-174 06 06" in html and "RSTH HAN-1" in html
    assert "Skyddas" in html


def test_the_demo_communications_list_is_one_or_two_pages(app, client, login_as):
    from directory.operations.demo import load_demo
    from tests.conftest import TODAY

    load_demo(TODAY)
    db.session.commit()
    login_as(UserRole.VIEWER)
    reader = PdfReader(BytesIO(client.get("/oncall.pdf").data))
    assert 1 <= len(reader.pages) <= 2
    text = pdf_text(client.get("/oncall.pdf").data)
    assert f"Page 1 of {len(reader.pages)}" in text
    assert "Regional samverkanskonferens" in text or "Veckovis avstämning" in text


def test_board_and_list_speak_swedish(region, client, login_as, auth):
    login_as(UserRole.VIEWER)
    client.post("/language", data={"locale": "sv", "csrf_token": auth.csrf_token("/")})
    html = client.get("/oncall").get_data(as_text=True)
    assert "Beredskapstavla" in html and "Ingen i beredskap" in html
    text = pdf_text(client.get("/oncall.pdf").data)
    assert "Sambandslista" in text and "INGEN I BEREDSKAP" in text


def add_conference(convener, name, mode, bridge, pin, talk_group=None, confidential=False):
    from datetime import date

    from directory.core.models import CollaborationPattern, ContactKind, ContactPoint

    pattern = CollaborationPattern(name=name, convener_actor=convener, mode=mode,
                                   starts_on=date(2026, 11, 1))
    db.session.add(pattern)
    db.session.flush()
    db.session.add(ContactPoint(pattern=pattern, kind=ContactKind.BRIDGE, value=bridge,
                                pin=pin, confidential=confidential))
    if talk_group:
        db.session.add(ContactPoint(pattern=pattern, kind=ContactKind.RAKEL_GROUP,
                                    value=talk_group, priority=2))
    db.session.flush()
    return pattern


def test_the_list_carries_the_conferences_of_the_mode_in_force(region, client, login_as):
    from directory.core.models import PathMode

    user = login_as(UserRole.ADMIN)
    add_conference(region["haninge"], "Regional samverkanskonferens", PathMode.ACTIVATED,
                   "+46701740674", "246810#", "RSTH SAMV-1")
    add_conference(region["haninge"], "Veckovis avstämning", PathMode.ORDINARY,
                   "+46701740675", "135790#")
    db.session.commit()
    ordinary = pdf_text(client.get("/oncall.pdf").data)
    assert "Veckovis avstämning" in ordinary and "135790#" in ordinary
    assert "Regional samverkanskonferens" not in ordinary
    switch_mode(None, Mode.ACTIVATED, reason="Snöoväder", user=user)
    db.session.commit()
    activated = pdf_text(client.get("/oncall.pdf").data)
    assert "Activated mode" in activated and "ACTIVATED" in activated
    assert "Regional samverkanskonferens" in activated and "Veckovis" not in activated
    assert "070-174 06 74" in activated and "246810#" in activated
    assert "RSTH SAMV-1" in activated


def test_a_confidential_bridge_and_its_pin_stay_off_a_viewers_list(region, client, login_as):
    from directory.core.models import PathMode

    add_conference(region["police"], "Polisens brygga", PathMode.BOTH, "+46701740677",
                   "999111#", confidential=True)
    db.session.commit()
    login_as(UserRole.VIEWER)
    for text in (pdf_text(client.get("/oncall.pdf").data),
                 client.get("/oncall/print").get_data(as_text=True)):
        assert "Polisens brygga" in text
        assert "999111#" not in text and "06 77" not in text
        assert "hidden number" in text


def test_a_large_board_comes_in_pages_in_the_boards_order(region, client, login_as, app):
    """At national scale the board has thousands of duty roles: it comes a page at
    a time, activated actors first across all pages, the filters kept."""
    app.config["ONCALL_PAGE_SIZE"] = 2
    user = login_as(UserRole.ADMIN)
    switch_mode(region["police"], Mode.ACTIVATED, reason="Snöstorm", user=user)
    db.session.commit()

    first = client.get("/oncall").get_data(as_text=True)
    assert [r.split()[0] for r in rows_of(first)] == ["Polismyndigheten", "FRG"]
    assert "3 duty roles · showing 1–2" in first and "Page 1 of 2" in first
    assert 'rel="next" href="/oncall?page=2"' in first and 'rel="prev"' not in first
    assert 'data-refresh="/oncall/rows"' in first

    second = client.get("/oncall?page=2").get_data(as_text=True)
    assert [r.split()[0] for r in rows_of(second)] == ["Haninge"]
    assert "showing 3–3" in second and 'rel="prev" href="/oncall?page=1"' in second
    assert 'data-refresh="/oncall/rows?page=2"' in second
    assert [r.split()[0] for r in rows_of(
        client.get("/oncall/rows?page=2").get_data(as_text=True))] == ["Haninge"]

    past_the_end = client.get("/oncall?page=99").get_data(as_text=True)
    assert [r.split()[0] for r in rows_of(past_the_end)] == ["Haninge"]
    not_a_number = client.get("/oncall?page=x").get_data(as_text=True)
    assert [r.split()[0] for r in rows_of(not_a_number)] == ["Polismyndigheten", "FRG"]

    haninge = client.get("/oncall?place=haninge").get_data(as_text=True)
    assert [r.split()[0] for r in rows_of(haninge)] == ["FRG", "Haninge"]
    assert "Page 1 of" not in haninge  # one page: no page links


def test_a_cards_long_label_breaks_where_the_word_may_break(region, client, login_as):
    """At 360 px each row is a card whose labels sit in a narrow column: Swedish
    "Beredskapsroll" broke mid-word there. Long labels carry soft hyphens at their
    hyphenation points (read whole by screen readers and find-in-page)."""
    login_as(UserRole.VIEWER)
    client.post("/language", data={"locale": "sv", "csrf_token": Auth(client).csrf_token("/")})
    html = client.get("/oncall").get_data(as_text=True)
    assert 'data-label="Bered\u00adskaps\u00adroll"' in html
    assert 'data-label="Aktör"' in html  # a short word stays as it is


def test_the_boards_order_reads_each_actors_mode_as_mode_for_does(region, login_as):
    """The order of thousands of roles is worked out from ids, not from loaded
    actors: an actor's own mode, else its parent's, else the region's."""
    from directory.core.modes import mode_for, mode_states
    from directory.oncall.board import _activated

    user = login_as(UserRole.ADMIN)
    part = make_actor("Haninge räddningstjänst", parent=region["haninge"])
    under_police = make_actor("Lokalpolisområde Haninge", parent=region["police"])
    db.session.commit()
    actors = [region["haninge"], region["police"], region["frg"], part, under_police]

    def agree():
        states = mode_states()
        activated = _activated(states)
        found = {a.name: activated(a.id, a.parent_id) for a in actors}
        assert found == {a.name: mode_for(a, states).is_activated for a in actors}
        return found

    assert not any(agree().values())
    switch_mode(region["haninge"], Mode.ACTIVATED, reason="Snöstorm", user=user)
    db.session.commit()
    assert agree() == {"Haninge kommun": True, "Polismyndigheten": False, "FRG Haninge": False,
                       "Haninge räddningstjänst": True, "Lokalpolisområde Haninge": False}
    switch_mode(None, Mode.ACTIVATED, reason="Snöoväder", user=user)
    db.session.commit()
    assert all(agree().values())


def test_the_pages_joined_are_the_whole_boards_order(region, login_as):
    """Each page picks its roles out of the region's without sorting all of
    them: page after page, they are the whole board in its order (activated
    actors first, then Swedish alphabetical order, Å Ä Ö after Z), each once."""
    from directory.oncall.board import Filters, board_page, board_rows

    user = login_as(UserRole.ADMIN)
    for name in ("Örebro kommun", "Åre kommun", "Älvsbyn kommun", "Zinkgruvan AB",
                 "Arboga kommun", "Ekerö kommun"):
        actor = make_actor(name)
        for role in ("TiB", "Räddningschef", "Ärendemottagning"):
            make_role(actor, role, "")
    switch_mode(region["police"], Mode.ACTIVATED, reason="Snöstorm", user=user)
    db.session.commit()

    tz, at = ZoneInfo("Europe/Stockholm"), utcnow()
    whole = [(r.actor.name, r.role.name) for r in board_rows(Filters(), at, tz)]
    assert whole[0][0] == "Polismyndigheten"
    names = [actor for actor, _role in whole[1:]]
    assert names.index("Zinkgruvan AB") < names.index("Åre kommun") \
        < names.index("Älvsbyn kommun") < names.index("Örebro kommun")
    for size in (1, 4, 7, len(whole)):
        joined, number = [], 1
        while True:
            page = board_page(Filters(), at, tz, number, size)
            joined += [(r.actor.name, r.role.name) for r in page.rows]
            assert page.first == (number - 1) * size + 1 and page.total == len(whole)
            if number == page.pages:
                break
            number += 1
        assert joined == whole, size


def test_a_hidden_address_is_not_called_a_hidden_number(region, client, login_as):
    """"Hidden number" tells a duty officer there is a number to ask for. A
    confidential e-mail address is not one: the board, the print view and the
    communications list say there is no number, or nothing more."""
    frg_role = region["frg"].roles[0]
    make_contact(frg_role, "larm@frg.example", kind="email", confidential=True)
    make_contact(region["police"].roles[0], "vb@polisen.example", kind="email",
                 confidential=True)
    db.session.commit()
    login_as(UserRole.VIEWER)
    board = {row.split()[0]: row for row in rows_of(client.get("/oncall").get_data(as_text=True))}
    assert "No number for the mode in force" in board["FRG"], board["FRG"]
    assert "hidden" not in board["FRG"].lower()
    assert "also a hidden number" not in board["Polismyndigheten"]
    assert "hidden number" not in client.get("/oncall/print").get_data(as_text=True).lower()
    assert "hidden number" not in pdf_text(client.get("/oncall.pdf").data)


def test_a_hidden_talk_group_is_not_called_a_hidden_bridge(region, client, login_as):
    """Conferences whose talk group is confidential: the viewer's list says the
    talk group is hidden, and never that a bridge's number is, whether the
    conference has an open bridge or none at all."""
    from datetime import date

    from directory.core.models import CollaborationPattern, ContactKind, ContactPoint, PathMode

    with_bridge = add_conference(region["police"], "Polisens brygga", PathMode.BOTH,
                                 "+46701740677", "999111#")
    without = CollaborationPattern(name="Räddningens talgrupp", convener_actor=region["frg"],
                                   mode=PathMode.BOTH, starts_on=date(2026, 11, 1))
    db.session.add(without)
    for pattern in (with_bridge, without):
        db.session.add(ContactPoint(pattern=pattern, kind=ContactKind.RAKEL_GROUP,
                                    value="RSTH POL-SECRET", priority=2, confidential=True))
    db.session.commit()
    login_as(UserRole.VIEWER)
    for text in (pdf_text(client.get("/oncall.pdf").data),
                 client.get("/oncall/print").get_data(as_text=True)):
        assert "Polisens brygga" in text and "06 77" in text and "999111#" in text
        assert "Räddningens talgrupp" in text
        assert "POL-SECRET" not in text
        assert "hidden number" not in text
        assert text.count("hidden") == 2
