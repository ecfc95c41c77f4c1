"""The duty officer's pages: search, reverse lookup, role and actor pages."""

from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest

from directory.core.extensions import db
from directory.core.models import (
    ContactKind,
    Mode,
    ModeState,
    PathMode,
    Rotation,
    RotationKind,
    RotationMember,
    Shift,
    utcnow,
)
from tests.conftest import make_actor, make_contact, make_person, make_role, recorded_statements


@pytest.fixture
def haninge(app):
    actor = make_actor("Haninge kommun", short_name="Haninge")
    tib = make_role(actor)
    make_contact(tib, "+46701740608", label="Dygnet runt", priority=1)
    make_contact(tib, "+46701740666", label="Krisledningsstab", priority=1,
                 mode=PathMode.ACTIVATED)
    make_contact(tib, "+46701740651", kind=ContactKind.SWITCHBOARD, label="Växel", priority=2)
    db.session.commit()
    return actor, tib


def activate(actor=None):
    scope = f"actor:{actor.id}" if actor else "region"
    db.session.add(ModeState(scope=scope, actor_id=actor.id if actor else None,
                             mode=Mode.ACTIVATED, reason="Snöoväder"))
    db.session.commit()


def first_tel(page: str) -> str:
    return page[page.index('href="tel:') + 10:].split('"')[0]


def test_search_shows_the_ordinary_number_first_as_a_tel_link(client, login_as, haninge):
    login_as("viewer")
    page = client.get("/search?q=haninge+tib").get_data(as_text=True)
    assert "TiB – Haninge kommun" in page
    assert first_tel(page) == "+46701740608"
    assert "070-174 06 51" in page  # the alternate, behind the first


def test_in_activated_mode_the_activated_path_comes_first(client, login_as, haninge):
    activate()
    login_as("viewer")
    page = client.get("/search?q=haninge+tib").get_data(as_text=True)
    assert first_tel(page) == "+46701740666"
    assert "ACTIVATED MODE" in page  # the banner


def test_one_actor_can_be_activated_while_the_region_is_ordinary(client, login_as, haninge):
    actor, _ = haninge
    activate(actor)
    login_as("viewer")
    assert first_tel(client.get("/actors/haninge-kommun").get_data(as_text=True)) \
        == "+46701740666"
    assert "ACTIVATED MODE" not in client.get("/").get_data(as_text=True)


def test_search_page_works_without_javascript_and_as_a_fragment(client, login_as, haninge):
    login_as("viewer")
    full = client.get("/search?q=tib").get_data(as_text=True)
    fragment = client.get("/search?q=tib&fragment=1").get_data(as_text=True)
    assert '<form class="search"' in full and "<html" in full
    assert "<html" not in fragment and "TiB – Haninge kommun" in fragment


def test_reverse_lookup_page_names_the_owner(client, login_as, haninge):
    login_as("viewer")
    page = client.get("/search?q=0701740608").get_data(as_text=True)
    assert "Who has 070-174 06 08?" in page
    assert "TiB – Haninge kommun" in page


def test_reverse_lookup_page_says_when_nobody_has_the_number(client, login_as, haninge):
    login_as("viewer")
    page = client.get("/search?q=90000").get_data(as_text=True)
    assert "short number" in page and "Nobody in the directory has this number." in page


STOCKHOLM = ZoneInfo("Europe/Stockholm")  # the app's TIMEZONE


class TableText(HTMLParser):
    """The visible text of each row of a page's schedule table, cell by cell."""

    def __init__(self):
        super().__init__()
        self.rows, self.inside, self.cell = [], False, None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and "schedule" in (dict(attrs).get("class") or "").split():
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag == "td":
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag == "td" and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def short(moment: datetime) -> str:
    """A short date and time in Stockholm, as the schedule shows them (ISO 8601)."""
    return f"{moment.astimezone(STOCKHOLM):%Y-%m-%d %H:%M}"


def schedule_rows(page: str) -> list[list[str]]:
    parser = TableText()
    parser.feed(page)
    return [row for row in parser.rows if row]  # the header row has no <td>


def test_role_page_shows_who_is_on_call_the_next_handover_and_gaps(client, login_as, haninge):
    actor, tib = haninge
    anna = make_person(actor, "Anna Berg")
    monday = date.today() - timedelta(days=date.today().weekday())
    db.session.add(Rotation(role=tib, kind=RotationKind.WEEKLY, length_days=7,
                            handover_time=time(8, 0), starts_on=monday,
                            ends_on=monday + timedelta(weeks=2),
                            members=[RotationMember(person=anna, position=0)]))
    db.session.commit()
    login_as("viewer")
    at = (monday + timedelta(days=2)).isoformat() + "T12:00"
    page = client.get(f"/roles/{tib.id}?at={at}").get_data(as_text=True)
    assert "Anna Berg" in page
    assert "Next handover" in page
    # The rotation ends within four weeks: the page says so, and shows the gap in the schedule.
    assert "1 gap: nobody is on call for part of this time." in page
    start = datetime.combine(monday + timedelta(days=2), time(12), tzinfo=STOCKHOLM)
    handover = datetime.combine(monday + timedelta(weeks=2), time(8), tzinfo=STOCKHOLM)
    window_end = start.astimezone(UTC) + timedelta(weeks=4)  # four weeks of real time
    assert schedule_rows(page) == [[short(start), short(handover), "Anna Berg"],
                                   [short(handover), short(window_end), "NOBODY"]]


def test_actor_page_marks_an_overdue_review(client, login_as, haninge):
    login_as("viewer")
    assert "Review overdue" in client.get("/actors/haninge-kommun").get_data(as_text=True)
    actor, _ = haninge
    actor.last_reviewed_at = utcnow()
    db.session.commit()
    assert "Review overdue" not in client.get("/actors/haninge-kommun").get_data(as_text=True)


def mode_reads(statements) -> int:
    return sum("FROM mode_state" in statement for statement in statements)


@pytest.mark.parametrize("page", ["actor", "role", "search"])
def test_the_mode_in_force_is_read_once_a_request(client, login_as, haninge, page):
    """The banner, the page and its parts (an escalation, the way in) all ask
    which mode is in force; one request reads it once, so they all agree."""
    actor, tib = haninge
    activate()
    login_as("viewer")
    url = {"actor": f"/actors/{actor.slug}", "role": f"/roles/{tib.id}",
           "search": "/search?q=haninge+tib"}[page]
    with recorded_statements() as statements:
        text = client.get(url).get_data(as_text=True)
    assert first_tel(text) == "+46701740666" and "ACTIVATED MODE" in text
    assert mode_reads(statements) == 1


def test_a_request_reads_the_mode_again_after_a_write_and_each_request_anew(app, haninge):
    from sqlalchemy import update

    from directory.core.modes import mode_for, mode_states, switch_mode
    from tests.conftest import make_user

    actor, _tib = haninge
    coordinator = make_user("samordnare@example.org", "admin")
    db.session.commit()
    with app.test_request_context():
        with recorded_statements() as statements:
            assert mode_states() is mode_states()
        assert mode_reads(statements) == 1
        assert not mode_for(actor).is_activated
        switch_mode(actor, Mode.ACTIVATED, reason="Storm", user=coordinator)
        assert mode_for(actor).is_activated  # the switch's flush: read again
        db.session.commit()
        assert mode_for(actor).is_activated
    # Another app server switches it back (no session of ours sees the write):
    # the next request reads the mode anew.
    with db.engine.begin() as other:
        other.execute(update(ModeState).where(ModeState.scope == f"actor:{actor.id}")
                      .values(mode=Mode.ORDINARY))
    with app.test_request_context():
        assert not mode_for(actor).is_activated


def count_queries(client, url) -> int:
    with recorded_statements() as statements:
        assert client.get(url).status_code == 200
    return len(statements)


def grow(actor, role, start, n, tree=None):
    """More of everything an actor page, a role page, a search, a call tree and the
    API's lists show."""
    from directory.calltrees.rules import add_node
    from directory.core.escalations import set_steps

    for i in range(start, start + n):
        person = make_person(actor, f"Person {i}")
        make_contact(person, f"+467017406{20 + i:02d}")
        make_contact(person, f"+467017408{20 + i:02d}", label="Privat", confidential=True)
        make_contact(role, f"+467017407{20 + i:02d}", label=f"Extra {i}", priority=3 + i)
        db.session.add(Shift(role=role, person=person, starts_at=utcnow() + timedelta(days=i + 1),
                             ends_at=utcnow() + timedelta(days=i + 1, hours=8)))
        other = make_actor(f"Annan aktör {i}")
        other_role = make_role(other)
        make_contact(other_role, f"+467017409{20 + i:02d}")
        # Someone of another actor whose only number is hidden from most
        # readers: a search finds them, and shows the way in to their actor.
        namesake = make_person(other, f"Lisa Namnesson {i}")
        make_contact(namesake, f"+467017410{20 + i:02d}", label="Privat", confidential=True)
        # Someone with no number at all: a dead end where a tree calls them, which
        # /review names with their actor (reviewed, with no roles: /review reads
        # it for nothing else).
        quiet = make_actor(f"Tredje aktör {i}", last_reviewed_at=utcnow())
        unreachable = make_person(quiet, f"Utan nummer {i}")
        set_steps(other_role, [(role, 5), (person, 10)])
        if tree is not None:
            node = add_node(tree, other_role, escalate_after_minutes=5,
                            alternates=[(person, 5), (unreachable, 10)])
            add_node(tree, person, parent=node)
            add_node(tree, unreachable, parent=node)
    db.session.commit()


PAGES = {
    "actor": lambda actor, role, tree: f"/actors/{actor.slug}",
    "role": lambda actor, role, tree: f"/roles/{role.id}",
    "search by name": lambda actor, role, tree: "/search?q=haninge",
    "search by number": lambda actor, role, tree: "/search?q=0701740608",
    "search across actors": lambda actor, role, tree: "/search?q=namnesson",
    "call tree": lambda actor, role, tree: f"/calltrees/{tree.id}",
    "review": lambda actor, role, tree: "/review",
    # the API's reads, a page of each list
    "API search": lambda actor, role, tree: "/api/v1/search?q=namnesson",
    "API roles": lambda actor, role, tree: "/api/v1/roles",
    "API persons": lambda actor, role, tree: "/api/v1/persons",
    "API contact points": lambda actor, role, tree: "/api/v1/contact-points",
    "API on call": lambda actor, role, tree: "/api/v1/on-call",
    "API shifts": lambda actor, role, tree: "/api/v1/shifts",
    "API call tree": lambda actor, role, tree: f"/api/v1/call-trees/{tree.id}",
}


@pytest.mark.parametrize("reader", ["viewer", "editor", "admin"])
def test_queries_per_page_do_not_grow_with_the_data(client, login_as, haninge, reader):
    """The statements a page or an API read sends are fixed: no query per actor,
    person, path, shift, escalation step or tree node (issue 18), for every kind
    of reader. Every page is counted before and after the region grows once
    (growing it takes seconds on PostgreSQL); the assertion names each page
    whose count changed."""
    from directory.calltrees.rules import add_node
    from directory.core.models import CallTree, Mode

    actor, tib = haninge
    tree = CallTree(name="Larmkedja", mode=Mode.ORDINARY, valid_from=date(2026, 12, 1))
    db.session.add(tree)
    db.session.flush()
    add_node(tree, tib)
    login_as(reader, actors=[actor] if reader == "editor" else ())
    grow(actor, tib, 0, 2, tree)
    urls = {page: address(actor, tib, tree) for page, address in PAGES.items()}
    small = {page: count_queries(client, url) for page, url in urls.items()}
    grow(actor, tib, 2, 20, tree)
    assert {page: count_queries(client, url) for page, url in urls.items()} == small
