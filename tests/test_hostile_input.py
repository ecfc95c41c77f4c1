"""What a crawl with hostile input found, by class: never a 500, nothing written.

A read-only audit sent every route odd ids, query arguments, form fields,
files and CardDAV requests as each kind of user. What answered 500 falls in a
few classes, each mended in one place and tested here through every door
it was found at:

- numbers typed in forms, files and addresses read with `isdigit` and `int`
  ("²" is a digit to one and not the other; "١٢" is 12 to both; 20 digits
  overflow PostgreSQL's integer): now `core.limits.number_from_text` and
  `id_from_text`, and `<int:>` in a route takes 0-9 only, written one way;
- a redirect target with a line break (a header cannot hold one, and the
  redirect failed after the request's change was committed);
- query arguments named as `url_for`'s own keywords (`endpoint`, `_method`)
  carried into a link;
- CardDAV requests Radicale fails on (a broken Basic header, XML it cannot
  walk).
"""

import base64
import io
import re

import pytest
from sqlalchemy import func, select

from directory.accounts.devices import create_device_password
from directory.core.extensions import db
from directory.core.models import (
    AuditEvent,
    CallTree,
    ContactPoint,
    Person,
    UserRole,
)
from tests.conftest import PASSWORD, Auth, make_actor, make_contact, make_person, make_role

ODD_NUMBERS = ["²", "١٢", "12345678901234567890", "9999999999", "-1", "1.5", " "]


@pytest.fixture
def region(app):
    haninge = make_actor("Haninge kommun")
    tib = make_role(haninge)
    point = make_contact(tib, "+46701740608")
    make_contact(tib, "+46701740609")
    person = make_person(haninge, "Åsa Öberg")
    db.session.commit()
    return {"haninge": haninge, "tib": tib, "point": point, "person": person}


def token(client, path="/") -> str:
    return Auth(client).csrf_token(path)


def changes() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(AuditEvent.id)))


# --- Numbers typed in forms, files and addresses ---------------------------------


@pytest.mark.parametrize("odd", ODD_NUMBERS)
def test_a_calendar_subject_with_an_odd_id_is_refused_not_a_500(region, client, login_as,
                                                                odd):
    login_as(UserRole.EDITOR, actors=[region["haninge"]])
    for kind in ("person", "role"):
        page = client.get("/calendars", query_string={"subject": f"{kind}-{odd}"})
        assert page.status_code in (200, 400, 404)
        before = changes()
        answer = client.post("/calendars/feeds", data={
            "csrf_token": token(client, "/calendars"), "subject": f"{kind}-{odd}"})
        assert answer.status_code < 500
        assert changes() == before


@pytest.mark.parametrize("odd", ["²", "١٢", "12345678901234567890", "abc"])
def test_a_version_that_cannot_be_read_is_a_conflict_never_a_save_over(region, client,
                                                                       login_as, odd):
    """The hidden version says which version the person saw. One that cannot be
    read is refused as a conflict: neither a 500 nor a save without the check."""
    login_as(UserRole.EDITOR, actors=[region["haninge"]])
    person = region["person"]
    answer = client.post(f"/persons/{person.id}/edit", data={
        "csrf_token": token(client, f"/persons/{person.id}/edit"), "version": odd,
        "name": "Åsa Öberg-Lind", "title": "", "notes": ""})
    assert answer.status_code == 409
    db.session.expire_all()
    assert db.session.get(Person, person.id).name == "Åsa Öberg"


@pytest.mark.parametrize("odd", ODD_NUMBERS)
def test_an_odd_owner_or_convener_is_refused_not_a_500(region, client, login_as, odd):
    login_as(UserRole.EDITOR, actors=[region["haninge"]])
    trees = db.session.scalar(select(func.count(CallTree.id)))
    answer = client.post("/calltrees/new", data={
        "csrf_token": token(client, "/calltrees/new"), "owner": odd, "name": "Snö",
        "mode": "activated"})
    assert answer.status_code == 403
    answer = client.post("/patterns/new", data={
        "csrf_token": token(client, "/patterns/new"), "convener": odd, "name": "Samverkan"})
    assert answer.status_code == 403
    assert db.session.scalar(select(func.count(CallTree.id))) == trees


@pytest.mark.parametrize("spelling", ["00{id}", "0{id}", "%D9%A1", "%C2%B2"])
def test_an_id_in_an_address_is_written_one_way(region, client, login_as, spelling):
    """`/roles/0012` or `/roles/١٢` would be role 12 under another address, and a
    page kept in the cache shows the address it was built at: a 404."""
    login_as(UserRole.VIEWER)
    role_id = region["tib"].id
    assert client.get(f"/roles/{role_id}").status_code == 200
    assert client.get(f"/roles/{spelling.format(id=role_id)}").status_code == 404


APP_CSV_HEAD = ("actor,actor_slug,owner_type,owner,title,kind,value,tel,label,pin,mode,pace,"
                "confidential,in_force\n")


@pytest.mark.parametrize("pace", ["²", "0", "12345678901234567890", "10000"])
def test_an_import_with_an_odd_pace_order_says_so_and_writes_nothing(region, client,
                                                                    login_as, pace):
    login_as(UserRole.EDITOR, actors=[region["haninge"]])
    data = (APP_CSV_HEAD + "Haninge kommun,haninge-kommun,person,Test Person,,mobile,"
            f"+46701740650,,,,both,{pace},no,yes\n").encode()
    persons = db.session.scalar(select(func.count(Person.id)))
    answer = client.post("/actors/haninge-kommun/import", data={
        "file": (io.BytesIO(data), "kontakter.csv"), "csrf_token": token(client)},
        content_type="multipart/form-data")
    assert answer.status_code < 500
    answer = client.post("/actors/haninge-kommun/import/commit",
                         data={"csrf_token": token(client)})
    assert answer.status_code < 500
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Person.id))) == persons
    assert not db.session.scalar(
        select(func.count(ContactPoint.id)).where(ContactPoint.value == "+46701740650"))


def test_an_import_with_a_good_pace_order_keeps_it(region, client, login_as):
    """The same row with an order the app writes is imported with that order."""
    login_as(UserRole.EDITOR, actors=[region["haninge"]])
    data = (APP_CSV_HEAD + "Haninge kommun,haninge-kommun,person,Test Person,,mobile,"
            "+46701740650,,,,both,3,no,yes\n").encode()
    client.post("/actors/haninge-kommun/import", data={
        "file": (io.BytesIO(data), "kontakter.csv"), "csrf_token": token(client)},
        content_type="multipart/form-data")
    client.post("/actors/haninge-kommun/import/commit", data={"csrf_token": token(client)})
    db.session.expire_all()
    point = db.session.scalar(select(ContactPoint).where(ContactPoint.value == "+46701740650"))
    assert point is not None and point.priority >= 1


# --- Redirect targets --------------------------------------------------------------


BROKEN_TARGETS = ["/x\ny", "/x\r\nSet-Cookie: a=b", "/x\ty", "/x\x7fy", "/x\x85y"]


@pytest.mark.parametrize("target", BROKEN_TARGETS)
def test_a_redirect_target_with_a_control_character_goes_home(region, client, login_as,
                                                              target):
    """Before, the change was committed and then the redirect failed (a 500)."""
    # not signed in: the language
    answer = client.post("/language", data={"csrf_token": token(client, "/login"),
                                            "locale": "sv", "next": target})
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    # signing in with it: signed in, sent home
    user = login_as(UserRole.ADMIN)
    client.post("/logout", data={"csrf_token": token(client)})
    answer = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                         "csrf_token": token(client, "/login"), "next": target})
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    # moving a path, with the page to go back to
    point = region["point"]
    answer = client.post(f"/contacts/{point.id}/move", data={
        "csrf_token": token(client), "direction": "down", "version": point.version,
        "back": target})
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/actors/haninge-kommun"


# --- Query arguments named as url_for's own keywords -------------------------------


@pytest.mark.parametrize("argument", ["endpoint", "_method", "_external", "_anchor", "_scheme"])
def test_query_arguments_named_as_url_fors_keywords_break_no_link(region, client, login_as,
                                                                  argument):
    login_as(UserRole.VIEWER)
    listed = client.get(f"/api/v1/actors?per_page=1&{argument}=POST")
    assert listed.status_code == 200
    for rel in ("first", "last"):
        assert f'rel="{rel}"' in listed.headers["Link"]
    assert argument not in listed.headers["Link"]
    page = client.get(f"/oncall/print?kind=municipality&{argument}=POST")
    assert page.status_code == 200
    link = re.search(r'href="(/oncall\.pdf[^"]*)"', page.get_data(as_text=True)).group(1)
    assert "kind=municipality" in link and argument not in link


# --- CardDAV requests Radicale cannot read -------------------------------------------


@pytest.fixture
def device(region, app):
    from tests.conftest import make_user

    user = make_user("viewer@example.org")
    _device, secret = create_device_password(user, "iPhone jobb")
    db.session.commit()
    return {"Authorization": "Basic " + base64.b64encode(
        f"{user.email}:{secret}".encode()).decode()}


@pytest.mark.parametrize("header", ["Basic", "Basic !!!", "Basic " + base64.b64encode(
    b"nocolon").decode(), "Basic " + base64.b64encode(b"\xff\xfe:x").decode(), "Basic åäö"])
def test_a_broken_basic_header_is_asked_to_sign_in_again(client, region, header):
    answer = client.open("/dav/", method="PROPFIND", headers={"Authorization": header,
                                                              "Depth": "0"})
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Basic")


def test_a_name_sent_in_iso_8859_1_signs_in_as_radicale_reads_it(client, region):
    """Some Android HTTP clients encode Basic credentials in ISO-8859-1: "jörgen"
    is then not UTF-8, and Radicale falls back to reading it as ISO-8859-1."""
    from tests.conftest import make_user

    user = make_user("jörgen@example.org")
    _device, secret = create_device_password(user, "Android")
    db.session.commit()
    raw = f"{user.email}:{secret}".encode("iso-8859-1")
    answer = client.open("/dav/", method="PROPFIND", data=PROPFIND_OK, headers={
        "Authorization": "Basic " + base64.b64encode(raw).decode(), "Depth": "0",
        "Content-Type": "application/xml; charset=utf-8"})
    assert answer.status_code == 207


def test_a_body_in_iso_8859_1_without_a_declaration_is_left_to_radicale(client, device):
    """Expat reads undeclared bytes as UTF-8; Radicale falls back to ISO-8859-1
    and answers such a body: it is not refused here."""
    body = ('<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/>'
            '<d:displayname/></d:prop><!-- Jörgen --></d:propfind>').encode("iso-8859-1")
    answer = client.open("/dav/viewer@example.org/directory/", method="PROPFIND", data=body,
                         headers={**device, "Depth": "0", "Content-Type": "application/xml"})
    assert answer.status_code == 207


def test_a_body_from_someone_not_signed_in_is_not_read_before_the_401(client, region):
    """Radicale refuses a request without a valid device password before it reads
    the body; the check of the XML comes after that, not before."""
    for headers in ({}, {"Authorization": "Basic " + base64.b64encode(
            b"viewer@example.org:wrong").decode()}):
        answer = client.open("/dav/viewer@example.org/directory/", method="REPORT",
                             data="<not xml", headers={**headers, "Depth": "1"})
        assert answer.status_code == 401


PROPFIND_OK = ('<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/>'
               '</d:prop></d:propfind>')


@pytest.mark.parametrize("method, body", [
    ("PROPFIND", '<d:propfind xmlns:d="DAV:"/>'),
    ("PROPFIND", "<a/>"),
    ("PROPFIND", '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "x">]>'
                 '<d:propfind xmlns:d="DAV:"><d:prop>&e;</d:prop></d:propfind>'),
    ("PROPFIND", "<a>" * 3000 + "</a>" * 3000),
    ("PROPFIND", "<not xml"),
    ("REPORT", '<card:addressbook-multiget xmlns:d="DAV:" '
               'xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop><d:getetag/></d:prop>'
               "<d:href></d:href></card:addressbook-multiget>"),
])
def test_xml_radicale_cannot_walk_is_a_400(client, device, method, body):
    answer = client.open("/dav/viewer@example.org/directory/", method=method,
                         headers={**device, "Depth": "1",
                                  "Content-Type": "application/xml; charset=utf-8"},
                         data=body)
    assert answer.status_code == 400
    # and the same book still answers a request it can read
    good = client.open("/dav/viewer@example.org/directory/", method="PROPFIND",
                       headers={**device, "Depth": "0",
                                "Content-Type": "application/xml; charset=utf-8"},
                       data=PROPFIND_OK)
    assert good.status_code == 207


@pytest.mark.parametrize("odd", ["%C2%B2", "9999999999", "12345678901234567890", "0"])
def test_an_odd_call_tree_book_is_not_found(client, device, odd):
    answer = client.open(f"/dav/viewer@example.org/calltree-{odd}/", method="PROPFIND",
                         headers={**device, "Depth": "0"})
    assert answer.status_code == 404
