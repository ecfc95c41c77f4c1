"""The page cache (issue 18): rendered once, never behind the data.

For each cached page (an actor, a duty role, a search and its type-ahead, a
call tree): the next request after an edit, a mode switch or a handover shows
it; each kind of reader sees what they may and no more, whoever filled the
cache; each response carries its own session's CSRF token; and as the clock
walks across every moment the data changes at, the cached page is the page
rendered anew. Two app servers share the Redis store and each other's edits.
"""

import re
import socket
import threading
import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
import redis
import time_machine
from sqlalchemy import event as sa_event
from sqlalchemy import select, update

from directory.calltrees.rules import add_node
from directory.core import pagecache
from directory.core.extensions import db
from directory.core.models import (
    CallOutcome,
    CallTree,
    CheckSource,
    CollaborationPattern,
    ContactPoint,
    Mode,
    Override,
    PageVersion,
    PathCheck,
    PatternParticipant,
    Person,
    Rotation,
    RotationMember,
    Shift,
    UserRole,
)
from directory.core.modes import switch_mode
from tests.conftest import (
    Auth,
    FreshContextClient,
    build_app,
    make_actor,
    make_config,
    make_contact,
    make_person,
    make_role,
    make_user,
    recorded_statements,
)

# Monday 7 December 2026, 10:00 in Stockholm (09:00 UTC); the clock stands still.
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
CONFIDENTIAL = "+46701740699"


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def region(app, clock):
    """Haninge with a TiB on a daily rotation, a shift and an override ahead, a
    confidential number, a weekly meeting, a review falling due; Nacka beside it."""
    haninge = make_actor("Haninge kommun", short_name="Haninge",
                         last_reviewed_at=T0 - timedelta(days=364, hours=20),
                         review_interval_days=365)
    tib = make_role(haninge)
    checked = make_contact(tib, "+46701740608", label="Dygnet runt", priority=1)
    # verified 59 min 50 s ago: "1 hour ago" until 1 h 30 min, then "2 hours ago"
    db.session.add(PathCheck(contact_point_id=checked.id, at=T0 - timedelta(minutes=59, seconds=50),
                             outcome=CallOutcome.REACHED, source=CheckSource.EDITOR))
    make_contact(tib, "+46701740666", label="Krisledningsstab", priority=1,
                 mode="activated")
    make_contact(tib, CONFIDENTIAL, label="Privat", priority=2, confidential=True)
    asa, per, eva = (make_person(haninge, name) for name in ("Åsa Öberg", "Per Lind", "Eva Ek"))
    rotation = Rotation(role_id=tib.id, starts_on=date(2026, 11, 30), length_days=1,
                        handover_time=time(8, 0))
    rotation.members = [RotationMember(person=asa, position=0),
                        RotationMember(person=per, position=1)]
    db.session.add(rotation)
    # A second duty role with nobody on call but a shift 31 days and 2 hours
    # ahead: it comes within the pages' "who comes next" as the clock passes T0 + 2 h.
    vb = make_role(haninge, "Vakthavande befäl", "VB")
    make_contact(vb, "+46701740620")
    db.session.add_all([
        Shift(role=tib, person=eva, starts_at=T0 + timedelta(hours=1),
              ends_at=T0 + timedelta(hours=3)),
        Override(role=tib, person=per, starts_at=T0 + timedelta(hours=2, minutes=30),
                 ends_at=T0 + timedelta(hours=2, minutes=45)),
        Shift(role=vb, person=asa, starts_at=T0 + timedelta(days=31, hours=2),
              ends_at=T0 + timedelta(days=31, hours=4)),
    ])
    pattern = CollaborationPattern(name="Samverkanskonferens", convener_actor=haninge,
                                   starts_on=date(2026, 1, 1),
                                   recurrence="FREQ=DAILY;BYHOUR=11;BYMINUTE=30")
    db.session.add(pattern)
    db.session.flush()
    db.session.add(PatternParticipant(pattern_id=pattern.id, actor_id=haninge.id))
    nacka = make_actor("Nacka kommun", short_name="Nacka")
    make_contact(make_role(nacka), "+46701740630")
    tree = CallTree(name="Larmkedja snö", mode=Mode.ORDINARY, valid_from=date(2026, 12, 1))
    db.session.add(tree)
    db.session.flush()
    add_node(tree, tib)
    db.session.commit()
    return {"haninge": haninge, "tib": tib, "vb": vb, "nacka": nacka, "tree": tree}


def urls(region) -> dict[str, str]:
    return {
        "start": "/",
        "actor": "/actors/haninge-kommun",
        "role": f"/roles/{region['tib'].id}",
        "search": "/search?q=haninge+tib",
        "type-ahead": "/search?q=haninge&fragment=1",
        "call tree": f"/calltrees/{region['tree'].id}",
        "board": "/oncall",
        "board rows": "/oncall/rows",
    }


PAGES = ["actor", "role", "search", "type-ahead", "call tree", "board", "board rows"]


def signed_in(app, role=UserRole.VIEWER, actors=(), *, on=None):
    """A new browser of a new user, signed in through the form (`on` another
    app server of the same database)."""
    user = make_user(email=f"{role.value}-{uuid.uuid4().hex[:6]}@example.org", role=role,
                     actors=list(actors))
    db.session.commit()
    server = on or app
    server.test_client_class = FreshContextClient
    client = server.test_client()
    assert Auth(client).login(user.email).status_code == 302
    return client


def text(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def main(page: str) -> str:
    """What the cache keeps of a page: its content, without this session's token."""
    if "<main" in page:
        page = page[page.index("<main"):page.index("</main>")]
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]+', r"\1…", page)


# --- Served from the cache -----------------------------------------------------------


@pytest.fixture
def unwatched(app):
    """Without the suite's watch (which renders every kept page anew to compare):
    for the tests that count what a kept page costs."""
    app.config["PAGE_CACHE_CHECK"] = False
    return app


@pytest.mark.parametrize("page", PAGES)
def test_a_page_asked_again_is_not_built_again(unwatched, region, page):
    app = unwatched
    reader = signed_in(app)
    url = urls(region)[page]
    with recorded_statements() as first:
        first_page = text(reader, url)
    with recorded_statements() as second:
        second_page = text(reader, url)
    assert main(second_page) == main(first_page)
    built = [s for s in first if "contact_point" in s]
    assert built, "the first request reads the entries"
    assert not [s for s in second if "contact_point" in s or "search_term" in s]
    assert len(second) < len(first)


def test_a_second_reader_with_the_same_rights_is_served_what_the_first_filled(unwatched, region):
    app = unwatched
    first, second = signed_in(app), signed_in(app)
    url = urls(region)["actor"]
    text(first, url)
    with recorded_statements() as statements:
        page = text(second, url)
    assert "070-174 06 08" in page
    assert not [s for s in statements if "contact_point" in s]


# --- Never behind the data -------------------------------------------------------------


def test_the_start_page_shows_a_new_actor_and_an_editors_review_falling_due(app, region, clock):
    editor = signed_in(app, UserRole.EDITOR, [region["haninge"]])
    assert "Tyresö kommun" not in text(editor, "/")
    make_actor("Tyresö kommun")
    db.session.commit()
    assert "Tyresö kommun" in text(editor, "/")
    due = region["haninge"].last_reviewed_at + timedelta(days=365)
    clock.move_to(due - timedelta(seconds=1))
    assert "Review overdue" not in text(editor, "/")
    clock.move_to(due)
    assert "Review overdue" in text(editor, "/")


@pytest.mark.parametrize("page", PAGES)
def test_an_edit_shows_on_the_next_request(app, region, page):
    reader = signed_in(app)
    url = urls(region)[page]
    assert "070-174 06 08" in text(reader, url)
    point = db.session.scalar(select(ContactPoint).where(ContactPoint.value == "+46701740608"))
    point.value = "+46701740609"
    db.session.commit()
    shown = text(reader, url)
    assert "070-174 06 09" in shown and "070-174 06 08" not in shown


@pytest.mark.parametrize("page", PAGES)
def test_a_bulk_update_shows_on_the_next_request(app, region, page):
    """Statements that bypass the session's flush (restore, bulk loads) count too."""
    reader = signed_in(app)
    url = urls(region)[page]
    assert "070-174 06 08" in text(reader, url)
    db.session.execute(update(ContactPoint).where(ContactPoint.value == "+46701740608")
                       .values(value="+46701740607"))
    db.session.commit()
    assert "070-174 06 07" in text(reader, url)


@pytest.mark.parametrize("page", ["actor", "role", "search", "type-ahead", "board", "board rows"])
def test_a_mode_switch_shows_on_the_next_request(app, region, page):
    reader = signed_in(app)
    url = urls(region)[page]
    assert first_number(text(reader, url)) == "+46701740608"
    admin = make_user(email="samordnare@example.org", role=UserRole.ADMIN)
    switch_mode(None, Mode.ACTIVATED, reason="Snöoväder", user=admin)
    db.session.commit()
    assert first_number(text(reader, url)) == "+46701740666"


def first_number(page: str) -> str:
    """The first number to dial on a page: the one for the mode in force."""
    return re.search(r'href="tel:([^"]+)"', main(page)).group(1)


def test_a_mode_switch_shows_on_the_call_tree(app, region):
    reader = signed_in(app)
    url = urls(region)["call tree"]
    assert "is in force now" not in text(reader, url)
    admin = make_user(email="samordnare@example.org", role=UserRole.ADMIN)
    switch_mode(None, Mode.ACTIVATED, reason="Snöoväder", user=admin)
    db.session.commit()
    assert "is in force now" in text(reader, url)


@pytest.mark.parametrize("page", ["actor", "role", "search", "call tree", "board", "board rows"])
def test_a_handover_shows_on_the_next_request(app, region, clock, page):
    """At 10:00 Per is on call (the rotation's turn); Eva's shift starts at 11:00."""
    reader = signed_in(app)
    url = urls(region)[page]
    clock.move_to(T0 + timedelta(minutes=59, seconds=59))
    before = on_call_now(text(reader, url), page)
    assert "Per Lind" in before and "Eva Ek" not in before
    clock.move_to(T0 + timedelta(hours=1))
    after = on_call_now(text(reader, url), page)
    assert "Eva Ek" in after and "Per Lind" not in after


def on_call_now(page: str, kind: str) -> str:
    """Who a page says is on call now."""
    if kind == "call tree":
        return re.search(r'class="on-call[^"]*">.*?</', page, re.S).group(0)
    if kind.startswith("board"):  # the first row: Haninge's TiB
        return re.search(r'data-label="On call now">(.*?)</td>', page).group(1)
    start = page.index("On call now")
    return page[start:page.index("</strong>", start)]


@pytest.mark.parametrize("page", ["board", "board rows"])
def test_the_board_shows_a_stretch_as_it_comes_within_its_two_weeks(app, region, clock, page):
    """The board says "more than two weeks" until the end of a stretch comes
    within its window (15 days): then the moment it ends, and who comes next."""
    nacka_tib = region["nacka"].roles[0]
    db.session.add(Shift(role=nacka_tib, person=make_person(region["nacka"], "Ola Berg"),
                         starts_at=T0 + timedelta(days=15, hours=1),
                         ends_at=T0 + timedelta(days=15, hours=5)))
    db.session.commit()
    reader = signed_in(app)
    url = urls(region)[page]

    def nacka_row() -> str:
        shown = text(reader, url)
        return shown[shown.index('href="/actors/nacka-kommun"'):]

    clock.move_to(T0 + timedelta(minutes=30))
    assert "more than two weeks" in nacka_row() and "Ola Berg" not in nacka_row()
    clock.move_to(T0 + timedelta(hours=1))  # the gap ends exactly 15 days on: still open
    assert "more than two weeks" in nacka_row()
    clock.move_to(T0 + timedelta(hours=1, seconds=1))
    row = nacka_row()
    assert "Tue 22 Dec 11:00" in row and "Ola Berg" in row and "more than two weeks" not in row


def test_a_kept_board_says_when_it_was_served_not_when_it_was_made(unwatched, region, clock):
    """"Updated" on the board (and the refresh's time stamp) is each answer's own moment."""
    reader = signed_in(unwatched)
    for url in ("/oncall", "/oncall/rows"):
        assert "Updated 10:00:00" in text(reader, url)
    clock.move_to(T0 + timedelta(minutes=3, seconds=7))
    with recorded_statements() as statements:
        rows = text(reader, "/oncall/rows")
        page = text(reader, "/oncall")
    assert not [s for s in statements if "contact_point" in s], "served from the cache"
    for shown in (rows, page):
        assert "Updated 10:03:07" in shown
        assert 'data-updated="2026-12-07T09:03:07+00:00"' in shown


def test_a_kept_page_keeps_what_its_template_adds_to_the_head(unwatched, region):
    """The board brings its own stylesheet and the script that refreshes its
    rows: built, and served from the cache."""
    reader = signed_in(unwatched)
    for served in ("built", "kept"):
        page = text(reader, "/oncall")
        head = page[:page.index("</head>")]
        assert "oncall.css" in head and "oncall.js" in head, served


def test_a_review_falling_due_shows_on_the_next_request(app, region, clock):
    reader = signed_in(app)
    due = region["haninge"].last_reviewed_at + timedelta(days=365)
    clock.move_to(due - timedelta(seconds=1))
    assert "Review overdue" not in text(reader, urls(region)["actor"])
    clock.move_to(due)
    assert "Review overdue" in text(reader, urls(region)["actor"])


# --- Each reader sees their own --------------------------------------------------------


@pytest.mark.parametrize("page", ["actor", "role", "search", "type-ahead", "call tree", "board",
                                  "board rows"])
def test_each_reader_sees_what_they_may_whoever_filled_the_cache(app, region, page):
    """Viewer, editor of another actor, editor of this actor, coordinator, and
    the viewer again: a confidential number and the edit links for those who
    may only, in every order. (A call tree shows its steps' every number to
    whoever may read it, DESIGN's need-to-know list; its edit links not.)"""
    if page == "call tree":
        tree = region["tree"]
        tree.actor_id = region["haninge"].id  # Haninge's own tree: its editors edit it
        db.session.commit()
    url = urls(region)[page]
    readers = [
        ("viewer", signed_in(app), False),
        ("editor of Nacka", signed_in(app, UserRole.EDITOR, [region["nacka"]]), False),
        ("editor of Haninge", signed_in(app, UserRole.EDITOR, [region["haninge"]]), True),
        ("coordinator", signed_in(app, UserRole.ADMIN), True),
    ]
    edit_link = {"actor": "Add contact path", "call tree": "Edit tree"}.get(page)
    for name, client, may in readers + readers[::-1]:
        shown = text(client, url)
        if page != "call tree":
            assert ("070-174 06 99" in shown) == may, name
        if edit_link:
            assert (edit_link in shown) == may, name


@pytest.mark.parametrize("page", PAGES + ["start"])
def test_someone_not_signed_in_is_sent_to_sign_in_even_for_a_kept_page(app, region, page):
    url = urls(region)[page]
    text(signed_in(app), url)  # kept now
    app.test_client_class = FreshContextClient
    response = app.test_client().get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_the_cached_page_carries_each_sessions_own_csrf_token(app, region):
    """Two editors of Haninge share the cached page; each review form posts with
    the token of its own session."""
    first = signed_in(app, UserRole.EDITOR, [region["haninge"]])
    second = signed_in(app, UserRole.EDITOR, [region["haninge"]])
    url = urls(region)["actor"]
    tokens = []
    for client in (first, second):
        page = text(client, url)
        found = set(re.findall(r'name="csrf_token"[^>]*value="([^"]+)"', page))
        assert len(found) == 1  # the layout's forms and the page's own: one token
        tokens.append(found.pop())
    assert tokens[0] != tokens[1]
    response = second.post("/actors/haninge-kommun/review", data={"csrf_token": tokens[1]})
    assert response.status_code == 302
    refused = second.post("/actors/haninge-kommun/review", data={"csrf_token": tokens[0]})
    assert refused.status_code == 400


def test_a_message_waiting_to_be_shown_is_shown_on_a_kept_page(app, region):
    """The review's "Marked as reviewed." is on the actor page the editor is sent
    back to, kept or not, once; a second editor, who filled the page, sees none."""
    first = signed_in(app, UserRole.EDITOR, [region["haninge"]])
    second = signed_in(app, UserRole.EDITOR, [region["haninge"]])
    url = urls(region)["actor"]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text(first, url)).group(1)
    text(second, url)  # the page is kept
    response = first.post("/actors/haninge-kommun/review", data={"csrf_token": token},
                          follow_redirects=True)
    assert "Marked as reviewed." in response.get_data(as_text=True)
    assert "Marked as reviewed." not in text(first, url)  # shown once
    assert "Marked as reviewed." not in text(second, url)
    # and with a message waiting while the page is kept
    text(second, url)
    with first.session_transaction() as flashing:
        flashing["_flashes"] = [("success", "Sparat.")]
    assert "Sparat." in text(first, url)
    assert "Sparat." not in text(first, url)


def test_the_language_switch_returns_to_this_requests_own_address(app, region):
    reader = signed_in(app)
    text(reader, "/search?q=haninge+tib")
    again = text(reader, "/search?q=haninge+tib&from=menu")  # the same kept page
    assert 'name="next" value="/search?q=haninge+tib&amp;from=menu"' in again


def test_nothing_of_the_reader_but_their_rights_reaches_a_cached_page(app, region):
    """`current_user` in a cached render is the reader's rights: no name, no e-mail."""
    from directory.core.pagecache import Rights

    rights = Rights(UserRole.EDITOR, frozenset({1}))
    assert not hasattr(rights, "email") and not hasattr(rights, "id")


# --- The clock walks across every change -----------------------------------------------


def moments_of_change(region) -> list[datetime]:
    """Every moment something on the pages changes at, and a second either side."""
    local = datetime(2026, 12, 8, 8, 0).astimezone(UTC)  # the rotation's next handover
    due = region["haninge"].last_reviewed_at + timedelta(days=365)
    meeting = datetime(2026, 12, 7, 11, 30).astimezone(UTC)
    changes = [
        T0 + timedelta(minutes=30, seconds=10),  # "verified 1 hour ago" becomes "2 hours"
        T0 + timedelta(hours=1),  # Eva's shift starts
        T0 + timedelta(hours=2),  # VB's shift comes within the 31 days of "next"
        T0 + timedelta(hours=2, minutes=30),  # Per's override starts
        T0 + timedelta(hours=2, minutes=45),  # and ends
        T0 + timedelta(hours=3),  # Eva's shift ends
        due, meeting, local,
    ]
    around = {c + timedelta(seconds=d) for c in changes for d in (-1, 0, 1)}
    # and every three hours between, as the readers keep reading (their
    # sessions end after eight idle hours)
    around |= {T0 + timedelta(hours=h) for h in range(0, 25, 3)}
    return sorted(m for m in around if m >= T0)


@pytest.mark.one_database
def test_across_every_change_the_cached_page_is_the_page_rendered_anew(
        app, region, clock, database):
    """Side by side, one app with the cache and one without (the same database):
    at every moment of change and a second either side, each page reads the same."""

    class Uncached(make_config(database)):
        def __init__(self):
            super().__init__()
            self.PAGE_CACHE = "off"

    plain = build_app(Uncached)
    try:
        cached_reader = signed_in(app, UserRole.EDITOR, [region["haninge"]])
        plain_reader = signed_in(app, UserRole.EDITOR, [region["haninge"]], on=plain)
        for moment in moments_of_change(region):
            clock.move_to(moment)
            for page, url in urls(region).items():
                fresh = main(text(plain_reader, url))
                assert main(text(cached_reader, url)) == fresh, (page, moment)
    finally:
        with plain.app_context():
            db.engine.dispose()


# --- The data version -------------------------------------------------------------------


def test_the_suites_watch_catches_a_write_that_does_not_age_the_pages(app, region):
    """A write on a bare connection, outside every session, raises no version:
    the watch (on in every test) refuses the kept page it would leave behind."""
    reader = signed_in(app)
    url = urls(region)["actor"]
    text(reader, url)
    with db.engine.begin() as connection:
        connection.execute(update(ContactPoint).where(ContactPoint.value == "+46701740608")
                           .values(value="+46701740605"))
    with pytest.raises(pagecache.StalePage, match="differs from the page rendered anew"):
        reader.get(url)


def current_version() -> int:
    return db.session.scalar(select(PageVersion.n))


def test_a_sign_in_and_reading_pages_do_not_age_them(app, region):
    """A sign-in writes the user's last sign-in, a session and the audit trail:
    none of it is on a page, so hundreds signing in keep the pages kept."""
    user = make_user(email="ny@example.org")
    db.session.commit()
    created = current_version()
    app.test_client_class = FreshContextClient
    browser = app.test_client()
    assert Auth(browser).login(user.email).status_code == 302  # last_login_at, a session
    text(browser, "/actors/haninge-kommun")
    assert current_version() == created


def test_a_change_made_in_sql_is_shown_after_flask_pages_refresh(app, region, runner):
    with db.engine.begin() as connection:  # outside the app, as psql would
        connection.execute(update(ContactPoint).where(ContactPoint.value == "+46701740608")
                           .values(value="+46701740605"))
    before = current_version()
    result = runner.invoke(args=["pages-refresh"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert current_version() == before + 1


def test_every_write_of_data_ages_the_pages(app, region):
    before = current_version()
    person = db.session.get(Person, region["haninge"].persons[0].id)
    person.title = "Beredskapssamordnare"
    db.session.commit()
    assert current_version() == before + 1


# --- Two app servers, one Redis -------------------------------------------------------


def test_two_app_servers_share_the_redis_store_and_each_others_edits(app, region, database):
    """Each server keeps its pages in the Redis every machine of this project
    runs; an edit through one is on the next page the other serves."""
    store = redis.Redis.from_url("redis://127.0.0.1:6379/15")
    assert store.ping()  # fails loudly where Redis is missing
    prefix = f"kv-test-{uuid.uuid4().hex[:8]}"
    shared_key = uuid.uuid4().hex * 2

    class OnRedis(make_config(database)):
        def __init__(self):
            super().__init__()
            self.SECRET_KEY = shared_key  # one deployment: its servers share the key
            self.PAGE_CACHE = "redis://127.0.0.1:6379/15"
            self.PAGE_CACHE_PREFIX = prefix
            self.PAGE_CACHE_CHECK = False  # counted: served from Redis, not rendered

    servers = [build_app(OnRedis), build_app(OnRedis)]
    try:
        readers = [signed_in(app, on=server) for server in servers]
        url = urls(region)["actor"]
        assert "070-174 06 08" in text(readers[0], url)
        assert store.keys(f"{prefix}:page:*"), "the first server kept the page in Redis"
        statements = []
        with servers[1].app_context():
            listen = sa_event.listen
            listen(db.engine, "before_cursor_execute",
                   lambda _c, _k, statement, *_a: statements.append(statement))
        assert "070-174 06 08" in text(readers[1], url)
        assert statements and not [s for s in statements if "contact_point" in s], (
            "served from what the first server kept")
        # an edit (here through the test's own session) is on the other server's next page
        point = db.session.scalar(select(ContactPoint).where(ContactPoint.value == "+46701740608"))
        point.value = "+46701740609"
        db.session.commit()
        assert "070-174 06 09" in text(readers[1], url)
    finally:
        for key in store.scan_iter(f"{prefix}:*"):
            store.delete(key)
        for server in servers:
            with server.app_context():
                db.engine.dispose()


def test_a_redis_that_does_not_answer_costs_speed_not_the_page(app, region, database):
    class Gone(make_config(database)):
        def __init__(self):
            super().__init__()
            self.PAGE_CACHE = "redis://127.0.0.1:1/0"  # nothing listens there

    server = build_app(Gone)
    try:
        reader = signed_in(app, on=server)
        assert "070-174 06 08" in text(reader, urls(region)["actor"])
        assert "070-174 06 08" in text(reader, urls(region)["actor"])
    finally:
        with server.app_context():
            db.engine.dispose()


def test_a_redis_that_hangs_is_left_alone_after_its_first_silence(app, region, database):
    """A Redis that takes connections and never answers costs one short wait,
    then the pages are rendered anew without asking it for a while."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted = []

    def hold():
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=hold, daemon=True).start()

    class Hanging(make_config(database)):
        def __init__(self):
            super().__init__()
            self.PAGE_CACHE = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"

    server = build_app(Hanging)
    try:
        reader = signed_in(app, on=server)
        for _ in range(3):
            assert "070-174 06 08" in text(reader, urls(region)["actor"])
        assert len(accepted) == 1  # asked once; then left alone
    finally:
        listener.close()
        for connection in accepted:
            connection.close()
        with server.app_context():
            db.engine.dispose()


def test_a_write_rolled_back_does_not_age_the_pages(app, region):
    before = current_version()
    point = db.session.scalar(select(ContactPoint).where(ContactPoint.value == "+46701740608"))
    point.value = "+46701740609"
    db.session.flush()
    db.session.rollback()
    assert current_version() == before


def test_every_table_named_as_bookkeeping_exists():
    """A misspelt name would age every page at every such write (or worse, the
    other way round, if a list of what ages them were kept instead)."""
    assert not pagecache.BOOKKEEPING - set(db.metadata.tables)


def test_earliest_ignores_nothing_to_come_and_caps_the_age():
    now = T0
    assert pagecache.earliest(now) == now + pagecache.MAX_AGE
    assert pagecache.earliest(now, None, [None]) == now + pagecache.MAX_AGE
    assert pagecache.earliest(now, now + timedelta(minutes=1), now + timedelta(hours=1)) == (
        now + timedelta(minutes=1))
    assert pagecache.earliest(now, now) == now  # changes at once: not kept
    assert pagecache.ahead(now, now - timedelta(days=1)) is None


def test_a_page_that_fills_a_block_the_cache_drops_is_refused(app):
    """The board's script was lost once from the kept page (it fills `head`,
    which the cache did not keep then). A template filling any block of the
    layout that the cache does not put back fails loudly instead."""
    from directory.core.models import UserRole
    from directory.core.pagecache import KEPT_BLOCKS, Page, Rights, _rendered

    with app.test_request_context("/"):
        page = Page("printing/tree.html", {}, T0)  # fills `screen_links` of its own layout
        with pytest.raises(RuntimeError, match="screen_links"):
            _rendered(page, Rights(UserRole.VIEWER, frozenset()))
    assert {"title", "head", "content"} == KEPT_BLOCKS
