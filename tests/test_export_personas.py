"""Every export and feed, as every kind of reader, over a real HTTP server.

Flask's test client runs a streamed body while the request's context is
still alive, which hid that the whole-directory exports answered 500 to
editors (the stream lazy-loaded `user.actors` after the session was gone).
So these tests start the app on a real threaded WSGI server and read each
body to its end as a browser does, after the request has finished.

The routes are taken from the URL map (the `exports` blueprint, and any
route anywhere that serves a .vcf, .zip, .csv or .ics file), so a new export
is walked without anyone remembering to add it; one whose arguments the test
cannot fill fails until `argument_values` learns them.
"""

import csv
import io
import re
import threading
from datetime import time, timedelta

import pytest
import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from directory.callouts import rules as callouts
from directory.calltrees.rules import add_node
from directory.core.extensions import db
from directory.core.models import (
    Actor,
    CallTree,
    ContactKind,
    ContactPoint,
    Mode,
    Person,
    Role,
    Rotation,
    RotationMember,
    StepOutcome,
    UserRole,
    utcnow,
)
from directory.phones import calendars
from tests.conftest import PASSWORD, make_actor, make_contact, make_person, make_role, make_user

FILE_SUFFIXES = (".vcf", ".zip", ".csv", ".ics")
VARIANTS = ("", "?version=4.0", "?format=excel")
PERSONAS = ("admin", "coordinator", "editor", "other_editor", "viewer")
# Pages of the blueprint that only the actor's editors (and admins) may open.
EDITORS_ONLY = {"phones.import_upload"}


class QuietHandler(WSGIRequestHandler):
    def log(self, *args):
        pass


@pytest.fixture
def served(app):
    """The app on 127.0.0.1 and a free port, one thread per request."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def world(app):
    """Two actors with roles, persons, paths, a rota, a call tree and feeds."""
    haninge = make_actor("Haninge kommun")
    police = make_actor("Polismyndigheten", kind="police")
    tib = make_role(haninge)
    asa = make_person(haninge, "Åsa Öberg")
    nils = make_person(haninge, "Nils Nilsson")
    make_contact(tib, "+46701740608", label="Jourtelefon")
    make_contact(tib, "+46701740612", confidential=True, label="Privat")
    make_contact(asa, "+46701740620", confidential=True)
    make_contact(asa, "=HYPERLINK(\"http://evil\")", kind=ContactKind.OTHER, priority=2)
    make_contact(haninge, "+46701740605", kind=ContactKind.SWITCHBOARD)
    make_contact(police, "11414", kind=ContactKind.SWITCHBOARD)
    police_role = make_role(police, "Polisens vakthavande befäl", short_name="VB")
    rotation = Rotation(role=tib, name="Vecka", length_days=7, handover_time=time(8, 0),
                        starts_on=utcnow().date() - timedelta(days=10))
    rotation.members = [RotationMember(person=asa, position=0),
                        RotationMember(person=nils, position=1)]
    db.session.add(rotation)
    tree = CallTree(name="Snö", actor=haninge, mode=Mode.ACTIVATED,
                    valid_from=utcnow().date())
    db.session.add(tree)
    db.session.flush()
    add_node(tree, tib)
    add_node(tree, asa)
    users = {
        "admin": make_user("admin@example.org", role=UserRole.ADMIN),
        "coordinator": make_user("coordinator@example.org", role=UserRole.ADMIN),
        "editor": make_user("editor@example.org", role=UserRole.EDITOR, actors=[haninge]),
        "other_editor": make_user("other@example.org", role=UserRole.EDITOR, actors=[police]),
        "viewer": make_user("viewer@example.org", role=UserRole.VIEWER),
    }
    feeds = [calendars.create_feed(users["editor"], subject)[1]
             for subject in (tib, asa, calendars.PATTERNS)]
    callout = callouts.start_callout(tree, users["editor"], title="=Larm: snö/halka",
                                     at=utcnow() - timedelta(minutes=5))
    first = tree.nodes[0]
    callouts.record_step_outcome(callout, first, StepOutcome.REACHED,
                                 callouts.step_paths(first)[0][1], None, users["editor"])
    db.session.commit()
    return {"haninge": haninge, "police": police, "tib": tib, "asa": asa, "tree": tree,
            "police_role": police_role, "users": users, "feeds": feeds, "callout": callout}


def argument_values(world) -> dict[str, list]:
    """Real values for every URL argument of the walked routes."""
    return {
        "slug": [world["haninge"].slug, world["police"].slug],
        "person_id": [world["asa"].id],
        "role_id": [world["tib"].id, world["police_role"].id],
        "tree_id": [world["tree"].id],
        "callout_id": [world["callout"].id],
        "token": world["feeds"],
    }


UNKNOWN = {"slug": "nobody", "person_id": 999999, "role_id": 999999, "tree_id": 999999,
           "callout_id": 999999, "token": "not-a-feed-secret-at-all"}


def walked_rules(app) -> list:
    rules = [r for r in app.url_map.iter_rules()
             if "GET" in r.methods and (r.endpoint.startswith("exports.")
                                        or r.rule.endswith(FILE_SUFFIXES))]  # fmt: skip
    assert {"phones.directory_vcard", "phones.actor_csv", "phones.calendar_feed"} <= {
        r.endpoint for r in rules}
    return sorted(rules, key=lambda r: r.rule)


def urls_of(rule, values: dict) -> list[tuple[str, dict]]:
    """(url, arguments) for each real value of each argument of a rule."""
    missing = set(rule.arguments) - set(values)
    assert not missing, f"{rule.rule}: teach argument_values about {missing}"
    if not rule.arguments:
        return [(rule.rule, {})]
    found = []
    for name in rule.arguments:
        for value in values[name]:
            arguments = {n: values[n][0] for n in rule.arguments} | {name: value}
            url = rule.rule
            for key, given in arguments.items():
                url = re.sub(rf"<(?:\w+:)?{key}>", str(given), url)
            found.append((url, arguments))
    return found


def signed_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    answer = session.post(f"{base}/login", data={"email": email, "password": PASSWORD,
                                                  "csrf_token": token},
                          allow_redirects=False, timeout=30)  # fmt: skip
    assert answer.status_code == 302, answer.text[:500]
    return session


def expected(endpoint: str, persona: str, arguments: dict, world) -> int:
    if endpoint in EDITORS_ONLY:
        if persona in ("admin", "coordinator"):
            return 200
        own = persona == "editor" and arguments.get("slug") == world["haninge"].slug
        own = own or (persona == "other_editor" and arguments.get("slug") == world["police"].slug)
        return 200 if own else 403
    return 200


def read_all(session: requests.Session, url: str) -> tuple[int, bytes]:
    """The status and the whole body, read in pieces as a download is."""
    with session.get(url, stream=True, allow_redirects=False, timeout=60) as response:
        body = b"".join(response.iter_content(64 * 1024))
        return response.status_code, body


def test_every_export_and_feed_answers_every_persona(app, served, world):
    values = argument_values(world)
    rules = walked_rules(app)
    failures = []
    for persona in PERSONAS:
        session = signed_in(served, world["users"][persona].email)
        for rule in rules:
            for url, arguments in urls_of(rule, values):
                want = expected(rule.endpoint, persona, arguments, world)
                for variant in VARIANTS:
                    try:
                        status, body = read_all(session, served + url + variant)
                    except requests.RequestException as error:  # a stream that broke off
                        failures.append((persona, url + variant, repr(error)[:200]))
                        continue
                    if status != want or (status == 200 and not body):
                        failures.append((persona, url + variant, status, body[:200]))
            if rule.arguments:
                url = rule.rule
                for key in rule.arguments:
                    url = re.sub(rf"<(?:\w+:)?{key}>", str(UNKNOWN[key]), url)
                status, _body = read_all(session, served + url)
                if status != 404:
                    failures.append((persona, url, status, "unknown entry"))
    assert not failures, failures


def test_exports_need_sign_in_but_feeds_do_not(app, served, world):
    anonymous = requests.Session()
    values = argument_values(world)
    for rule in walked_rules(app):
        for url, _arguments in urls_of(rule, values):
            status, _body = read_all(anonymous, served + url)
            want = 200 if rule.endpoint == "phones.calendar_feed" else 302
            assert status == want, url


def test_an_editor_gets_the_whole_directory_with_their_own_confidential_numbers(
    app, served, world
):
    session = signed_in(served, world["users"]["editor"].email)
    status, body = read_all(session, f"{served}/export/directory.vcf")
    assert status == 200
    assert b"+46701740612" in body and b"+46701740620" in body
    status, body = read_all(session, f"{served}/export/actors/{world['haninge'].slug}.csv")
    assert status == 200 and b"+46701740620" in body
    other = signed_in(served, world["users"]["other_editor"].email)
    status, body = read_all(other, f"{served}/export/directory.csv")
    assert status == 200 and b"+46701740605" in body and b"+46701740620" not in body


# A line feed first: some spreadsheets skip it and read what follows as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def test_no_csv_export_hands_a_spreadsheet_a_formula(app, served, world):
    """Every CSV route of the URL map, in both formats: no cell may start a formula."""
    hostile = {"asa": "=cmd|' /C calc'!A0", "tib": "+TiB", "haninge": "-Haninge"}
    tib = db.session.get(Role, world["tib"].id)
    db.session.add_all([
        ContactPoint(role_id=tib.id, kind=ContactKind.OTHER, value="@SUM(A1:A9)",
                     label="\tflik", priority=7),
        ContactPoint(role_id=tib.id, kind=ContactKind.LANDLINE, value="+4420794601234",
                     label="\rLondon", priority=8),
        ContactPoint(role_id=tib.id, kind=ContactKind.OTHER, value="Rakel 1234",
                     label="\n=1+1", priority=9),
    ])
    db.session.commit()
    db.session.get(Person, world["asa"].id).name = hostile["asa"]
    db.session.get(Role, world["tib"].id).short_name = hostile["tib"]
    db.session.get(Actor, world["haninge"].id).name = hostile["haninge"]
    db.session.commit()
    session = signed_in(served, world["users"]["admin"].email)
    values = argument_values(world)
    checked = 0
    for rule in walked_rules(app):
        for url, _arguments in urls_of(rule, values):
            for variant, delimiter in (("", ","), ("?format=excel", ";")):
                query = variant + ("&" if variant else "?") + f"actor={world['haninge'].slug}" \
                    if rule.endpoint == "phones.shifts_csv" else variant
                with session.get(served + url + query, timeout=60) as response:
                    if response.headers.get("Content-Type", "").split(";")[0] != "text/csv":
                        continue
                    assert response.status_code == 200, url
                    text = response.content.decode("utf-8-sig")
                rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
                cells = [cell for row in rows for cell in row]
                bad = [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
                assert not bad, (url + query, bad)
                joined = "\n".join(cells)
                checked += 1
                if world["police"].slug in url:
                    continue
                if rule.endpoint == "callouts.log_csv":  # names as they were when marked
                    assert "'+TiB – -Haninge" in joined, url
                elif rule.endpoint != "phones.shifts_csv":
                    assert "'-Haninge" in joined and "'@SUM(A1:A9)" in joined, url
                    assert "'+TiB" in joined
                else:
                    assert "'=cmd|' /C calc'!A0" in joined or "'+TiB" in joined, url
    assert checked >= 8  # directory, two actors and shifts, in both formats
