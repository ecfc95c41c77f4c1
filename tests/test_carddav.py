"""CardDAV at the protocol level: discovery, books, cards, sync tokens, writes refused.

Raw WebDAV requests through the app's own WSGI stack (Radicale mounted under
/dav/ by `carddav.mount`), on the test database. The real client (vdirsyncer
over HTTP) is in tests/test_carddav_client.py.
"""

import base64
import re
import xml.etree.ElementTree as ET
from datetime import date

import defusedxml.ElementTree as SafeET
import pytest
from sqlalchemy import select

from directory import create_app
from directory.accounts.devices import create_device_password
from directory.core.extensions import db
from directory.core.models import (
    CallTree,
    ContactPoint,
    Mode,
    Setting,
    UserRole,
)
from directory.phones import card_cache, card_exports
from tests.conftest import (
    FreshContextClient,
    make_actor,
    make_config,
    make_contact,
    make_person,
    make_role,
    make_user,
)

NS = {"d": "DAV:", "card": "urn:ietf:params:xml:ns:carddav",
      "cs": "http://calendarserver.org/ns/"}  # fmt: skip


def device_for(user, name="iPhone jobb") -> dict:
    _device, secret = create_device_password(user, name)
    db.session.commit()
    raw = f"{user.email}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def dav(client, method, path, headers, body=None, depth=None):
    extra = dict(headers)
    if depth is not None:
        extra["Depth"] = depth
    if body is not None:
        extra["Content-Type"] = "application/xml; charset=utf-8"
    return client.open(path, method=method, headers=extra, data=body)


def xml(response):
    return SafeET.fromstring(response.get_data())


PROPFIND_ETAGS = """<?xml version="1.0"?>
<d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/">
  <d:prop><d:getetag/><d:resourcetype/><d:displayname/><cs:getctag/><d:sync-token/></d:prop>
</d:propfind>"""


def sync_body(token=""):
    return f"""<?xml version="1.0"?>
<d:sync-collection xmlns:d="DAV:">
  <d:sync-token>{token}</d:sync-token>
  <d:sync-level>1</d:sync-level>
  <d:prop><d:getetag/></d:prop>
</d:sync-collection>"""


def sync(client, headers, book, token=""):
    response = dav(client, "REPORT", book, headers, sync_body(token), depth="1")
    return response


def synced(response) -> tuple[str, dict[str, int]]:
    """(new token, {card name: status}) of a sync-collection answer."""
    root = xml(response)
    token = root.find("d:sync-token", NS).text
    found = {}
    for answer in root.findall("d:response", NS):
        href = answer.find("d:href", NS).text.replace(AT, "@").rstrip("/").rsplit("/", 1)[-1]
        status = answer.find("d:status", NS)
        if status is None:
            status = answer.find("d:propstat/d:status", NS)
        found[href] = int(status.text.split()[1])
    return token, found


def listing(client, headers, book) -> dict[str, str]:
    root = xml(dav(client, "PROPFIND", book, headers, PROPFIND_ETAGS, depth="1"))
    found = {}
    for answer in root.findall("d:response", NS):
        href = answer.find("d:href", NS).text.replace(AT, "@")
        etag = answer.find(".//d:getetag", NS)
        if etag is not None and etag.text and not href.endswith("/"):
            found[href.rsplit("/", 1)[-1]] = etag.text
    return found


@pytest.fixture
def region(app):
    """Two actors, a role with a confidential number, a person, a viewer."""
    haninge = make_actor("Haninge kommun")
    nacka = make_actor("Nacka kommun")
    tib = make_role(haninge)
    make_contact(tib, "+46701740605")
    secret_point = make_contact(tib, "+46701740606", confidential=True)
    person = make_person(nacka, "Åsa Öberg")
    make_contact(person, "+46701740607")
    viewer = make_user("viewer@example.org")
    db.session.commit()
    return {"haninge": haninge, "nacka": nacka, "tib": tib, "secret": secret_point,
            "person": person, "viewer": viewer}  # fmt: skip


AT = "%40"  # Radicale quotes the @ of an e-mail in its hrefs
BOOK = "/dav/viewer@example.org/directory/"


# --- Discovery ----------------------------------------------------------------------


def test_well_known_carddav_redirects_to_the_dav_root(client):
    response = client.open("/.well-known/carddav", method="PROPFIND")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/dav/")


def test_without_a_device_password_the_answer_is_401_asking_for_basic(client, region):
    response = dav(client, "PROPFIND", "/dav/", {}, PROPFIND_ETAGS, depth="0")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_the_users_own_password_does_not_open_carddav(client, region):
    raw = base64.b64encode(b"viewer@example.org:correct horse battery").decode()
    response = dav(client, "PROPFIND", "/dav/", {"Authorization": f"Basic {raw}"},
                   PROPFIND_ETAGS, depth="0")  # fmt: skip
    assert response.status_code == 401


def test_current_user_principal_and_addressbook_home_set(client, region):
    headers = device_for(region["viewer"])
    body = """<?xml version="1.0"?><d:propfind xmlns:d="DAV:">
      <d:prop><d:current-user-principal/></d:prop></d:propfind>"""
    root = xml(dav(client, "PROPFIND", "/dav/", headers, body, depth="0"))
    principal = root.find(".//d:current-user-principal/d:href", NS).text.replace(AT, "@")
    assert principal == "/dav/viewer@example.org/"
    body = """<?xml version="1.0"?><d:propfind xmlns:d="DAV:"
        xmlns:card="urn:ietf:params:xml:ns:carddav">
      <d:prop><card:addressbook-home-set/></d:prop></d:propfind>"""
    root = xml(dav(client, "PROPFIND", principal, headers, body, depth="0"))
    assert root.find(".//card:addressbook-home-set/d:href", NS).text.replace(AT, "@") == principal


def test_the_home_lists_the_directory_and_one_book_per_call_tree(client, region):
    tree = CallTree(name="Larmkedja snö", actor_id=region["haninge"].id,
                    mode=Mode.ACTIVATED, valid_from=date(2026, 12, 1))  # fmt: skip
    db.session.add(tree)
    db.session.commit()
    headers = device_for(region["viewer"])
    root = xml(dav(client, "PROPFIND", "/dav/viewer@example.org/", headers, PROPFIND_ETAGS,
                   depth="1"))  # fmt: skip
    books = {a.find("d:href", NS).text.replace(AT, "@"): a.find(".//d:displayname", NS)
             for a in root.findall("d:response", NS)}  # fmt: skip
    assert "/dav/viewer@example.org/directory/" in books
    assert f"/dav/viewer@example.org/calltree-{tree.id}/" in books
    assert "/dav/viewer@example.org/mine/" not in books  # a viewer edits nothing


def test_an_editor_also_gets_the_book_of_the_actors_they_edit(client, region):
    editor = make_user("editor@example.org", role=UserRole.EDITOR, actors=[region["haninge"]])
    db.session.commit()
    headers = device_for(editor)
    cards = listing(client, headers, "/dav/editor@example.org/mine/")
    assert set(cards) == {f"actor-{region['haninge'].id}.vcf", f"role-{region['tib'].id}.vcf"}


def test_another_users_books_are_not_reachable(client, region):
    make_user("other@example.org")
    db.session.commit()
    headers = device_for(region["viewer"])
    response = dav(client, "PROPFIND", "/dav/other@example.org/directory/", headers,
                   PROPFIND_ETAGS, depth="1")  # fmt: skip
    assert response.status_code in (403, 404)
    assert b"+46" not in response.get_data()


# --- Cards -------------------------------------------------------------------------


def test_cards_are_the_directory_exports_cards(client, region):
    headers = device_for(region["viewer"])
    cards = listing(client, headers, BOOK)
    export = {f"{c.entity_type}-{c.id}.vcf": c.text
              for c in card_exports.directory_cards(region["viewer"])}  # fmt: skip
    assert set(cards) == set(export)
    for name, text in export.items():
        response = client.get(BOOK + name, headers=headers)
        assert response.status_code == 200
        assert response.get_data(as_text=True) == text
        assert response.headers["ETag"] == cards[name]


def test_confidential_numbers_stay_out_of_a_viewers_book(client, region):
    headers = device_for(region["viewer"])
    response = client.get(BOOK, headers=headers)  # the whole book in one body
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "+46701740605" in body or "070-174 06 05" in body or "070174" in body
    assert "0606" not in body.replace(" ", "").replace("-", "")


def test_an_editor_of_the_actor_sees_its_confidential_number(client, region):
    editor = make_user("editor@example.org", role=UserRole.EDITOR, actors=[region["haninge"]])
    db.session.commit()
    headers = device_for(editor)
    body = client.get("/dav/editor@example.org/directory/", headers=headers).get_data(
        as_text=True)
    assert "0606" in body.replace(" ", "").replace("-", "")


def test_multiget_returns_the_asked_cards_and_404_for_unknown(client, region):
    headers = device_for(region["viewer"])
    name = f"role-{region['tib'].id}.vcf"
    body = f"""<?xml version="1.0"?>
    <card:addressbook-multiget xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
      <d:prop><d:getetag/><card:address-data/></d:prop>
      <d:href>{BOOK}{name}</d:href><d:href>{BOOK}person-999999.vcf</d:href>
    </card:addressbook-multiget>"""
    root = xml(dav(client, "REPORT", BOOK, headers, body, depth="1"))
    answers = {a.find("d:href", NS).text.replace(AT, "@"): a
               for a in root.findall("d:response", NS)}  # fmt: skip
    data = answers[BOOK + name].find(".//card:address-data", NS).text
    assert "BEGIN:VCARD" in data and "TiB" in data
    missing = answers[BOOK + "person-999999.vcf"]
    assert "404" in ET.tostring(missing, encoding="unicode")


def test_addressbook_query_filters_by_name(client, region):
    headers = device_for(region["viewer"])
    body = """<?xml version="1.0"?>
    <card:addressbook-query xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
      <d:prop><d:getetag/></d:prop>
      <card:filter><card:prop-filter name="FN">
        <card:text-match collation="i;unicode-casemap" match-type="contains">Öberg</card:text-match>
      </card:prop-filter></card:filter>
    </card:addressbook-query>"""
    root = xml(dav(client, "REPORT", BOOK, headers, body, depth="1"))
    hrefs = [a.find("d:href", NS).text.replace(AT, "@") for a in root.findall("d:response", NS)]
    assert hrefs == [f"{BOOK}person-{region['person'].id}.vcf"]


def test_etag_changes_with_a_visible_number_and_not_with_a_hidden_one(client, region):
    headers = device_for(region["viewer"])
    name = f"role-{region['tib'].id}.vcf"
    before = listing(client, headers, BOOK)
    region["secret"].value = "+46701740609"  # confidential: the viewer cannot see it
    db.session.commit()
    assert listing(client, headers, BOOK) == before
    point = db.session.scalar(select(ContactPoint).where(ContactPoint.value == "+46701740605"))
    point.value = "+46701740608"
    db.session.commit()
    after = listing(client, headers, BOOK)
    assert {n for n in after if after[n] != before[n]} == {name}


def test_ctag_changes_with_the_book(client, region):
    headers = device_for(region["viewer"])

    def ctag():
        body = """<?xml version="1.0"?><d:propfind xmlns:d="DAV:"
            xmlns:cs="http://calendarserver.org/ns/"><d:prop><cs:getctag/></d:prop></d:propfind>"""
        return xml(dav(client, "PROPFIND", BOOK, headers, body, depth="0")).find(
            ".//cs:getctag", NS).text

    first = ctag()
    assert ctag() == first
    make_contact(region["person"], "+46701740611")
    db.session.commit()
    assert ctag() != first


# --- sync-collection (RFC 6578) ------------------------------------------------------


def test_first_sync_lists_every_card(client, region):
    headers = device_for(region["viewer"])
    token, found = synced(sync(client, headers, BOOK))
    assert token.startswith("http")
    assert set(found) == set(listing(client, headers, BOOK))
    assert set(found.values()) == {200}


def test_sync_with_the_current_token_lists_nothing(client, region):
    headers = device_for(region["viewer"])
    token, _found = synced(sync(client, headers, BOOK))
    again, found = synced(sync(client, headers, BOOK, token))
    assert found == {}
    assert again == token


def test_sync_with_an_old_token_lists_exactly_the_changed_card(client, region):
    headers = device_for(region["viewer"])
    token, _found = synced(sync(client, headers, BOOK))
    region["person"].contact_points[0].value = "+46701740612"
    db.session.commit()
    newer, found = synced(sync(client, headers, BOOK, token))
    assert found == {f"person-{region['person'].id}.vcf": 200}
    assert newer != token


def test_sync_reports_a_deleted_entry_as_404(client, region):
    headers = device_for(region["viewer"])
    token, _found = synced(sync(client, headers, BOOK))
    person = region["person"]
    from directory.core.models import utcnow

    person.deleted_at = utcnow()
    db.session.commit()
    _newer, found = synced(sync(client, headers, BOOK, token))
    assert found == {f"person-{person.id}.vcf": 404}


def test_sync_after_a_mode_switch_lists_the_cards_whose_numbers_change(client, region):
    from directory.core.models import PathMode

    headers = device_for(region["viewer"])
    make_contact(region["tib"], "+46701740615", mode=PathMode.ACTIVATED)
    db.session.commit()
    token, _found = synced(sync(client, headers, BOOK))
    from directory.core.modes import switch_mode

    switch_mode(None, Mode.ACTIVATED, reason="Snöstorm", user=region["viewer"])
    db.session.commit()
    _newer, found = synced(sync(client, headers, BOOK, token))
    assert found == {f"role-{region['tib'].id}.vcf": 200}


def test_sync_with_an_invalid_token_is_refused_with_valid_sync_token(client, region):
    headers = device_for(region["viewer"])
    for token in ("http://kontaktvagar.se/ns/sync/" + "0" * 64, "nonsense"):
        response = sync(client, headers, BOOK, token)
        assert response.status_code == 403
        assert b"valid-sync-token" in response.get_data()


def test_a_token_from_another_app_server_works(client, region, app):
    """The state is in the database: a second app on the same database answers it."""
    headers = device_for(region["viewer"])
    token, _found = synced(sync(client, headers, BOOK))
    region["person"].contact_points[0].value = "+46701740613"
    db.session.commit()
    second = create_app(make_config({
        "url": app.config["SQLALCHEMY_DATABASE_URI"],
        "engine_options": app.config["SQLALCHEMY_ENGINE_OPTIONS"],
    }))  # fmt: skip
    second.test_client_class = FreshContextClient
    _newer, found = synced(sync(second.test_client(), headers, BOOK, token))
    with second.app_context():
        db.engine.dispose()
    assert found == {f"person-{region['person'].id}.vcf": 200}


def test_a_sync_after_one_edit_reads_no_card_of_the_book_but_the_changed_one(
        client, region, app):
    """The delta comes from the change log, not from reading every card of the book."""
    from sqlalchemy import event

    headers = device_for(region["viewer"])
    for number in range(30):
        make_contact(make_person(region["nacka"], f"Person {number}"), f"+467017406{number + 20}")
    db.session.commit()
    token, _found = synced(sync(client, headers, BOOK))
    region["person"].contact_points[0].value = "+46701740614"
    db.session.commit()
    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        _newer, found = synced(sync(client, headers, BOOK, token))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert found == {f"person-{region['person'].id}.vcf": 200}
    # a multiget reads the asked ids: `IN (...)`, or `= ANY (...)` on PostgreSQL
    whole = [s for s in statements if "vcard_cache.card" in s
             and ".id IN (" not in s and ".id = ANY (" not in s]
    assert statements
    assert not whole, "the book's cards were read"


def test_a_change_only_to_a_hidden_number_is_not_reported_to_a_viewer(client, region):
    headers = device_for(region["viewer"])
    token, _found = synced(sync(client, headers, BOOK))
    region["secret"].value = "+46701740616"
    db.session.commit()
    _newer, found = synced(sync(client, headers, BOOK, token))
    assert found == {}
    editor = make_user("editor@example.org", role=UserRole.EDITOR, actors=[region["haninge"]])
    db.session.commit()
    editor_headers = device_for(editor)
    editor_book = "/dav/editor@example.org/directory/"
    token, _found = synced(sync(client, editor_headers, editor_book))
    region["secret"].value = "+46701740617"
    db.session.commit()
    _newer, found = synced(sync(client, editor_headers, editor_book, token))
    assert found == {f"role-{region['tib'].id}.vcf": 200}


def test_the_change_log_names_the_variants_whose_card_changed(app, region):
    from directory.core.models import CardChange

    def logged():
        return {(c.entity_type, c.entity_id): c.variants
                for c in db.session.scalars(select(CardChange))}  # fmt: skip

    db.session.execute(CardChange.__table__.delete())
    region["secret"].value = "+46701740618"
    db.session.commit()
    confidential = sum(card_cache.variant_bit(m, True) for m in card_cache.MODES)
    assert logged() == {("role", region["tib"].id): confidential}
    region["person"].name = "Åsa Öberg-Lind"
    db.session.commit()
    assert logged()[("person", region["person"].id)] == 15


def test_a_sync_after_one_actors_activation_lists_its_cards_that_change(client, region):
    from directory.core.models import PathMode
    from directory.core.modes import switch_mode

    headers = device_for(region["viewer"])
    make_contact(region["tib"], "+46701740619", mode=PathMode.ACTIVATED)
    make_contact(region["person"], "+46701740620", mode=PathMode.ACTIVATED)
    db.session.commit()
    token, _found = synced(sync(client, headers, BOOK))
    switch_mode(region["nacka"], Mode.ACTIVATED, reason="Översvämning", user=region["viewer"])
    db.session.commit()
    newer, found = synced(sync(client, headers, BOOK, token))
    assert found == {f"person-{region['person'].id}.vcf": 200}
    switch_mode(region["nacka"], Mode.ORDINARY, reason="Över", user=region["viewer"])
    db.session.commit()
    _newest, found = synced(sync(client, headers, BOOK, newer))
    assert found == {f"person-{region['person'].id}.vcf": 200}
    _newest, found = synced(sync(client, headers, BOOK, token))
    assert found == {}


def test_an_actor_that_leaves_an_editors_book_is_reported_deleted(client, region):
    editor = make_user("editor@example.org", role=UserRole.EDITOR,
                       actors=[region["haninge"], region["nacka"]])  # fmt: skip
    db.session.commit()
    headers = device_for(editor)
    mine = "/dav/editor@example.org/mine/"
    token, found = synced(sync(client, headers, mine))
    assert f"person-{region['person'].id}.vcf" in found
    editor.actors = [region["haninge"]]
    db.session.commit()
    _newer, found = synced(sync(client, headers, mine, token))
    assert found == {f"actor-{region['nacka'].id}.vcf": 404,
                     f"person-{region['person'].id}.vcf": 404}  # fmt: skip


def test_a_token_from_before_a_rebuild_of_the_card_cache_asks_for_a_new_sync(client, region):
    headers = device_for(region["viewer"])
    token, _found = synced(sync(client, headers, BOOK))
    card_cache.rebuild_all()
    db.session.commit()
    response = sync(client, headers, BOOK, token)
    assert response.status_code == 403
    assert b"valid-sync-token" in response.get_data()
    newer, _found = synced(sync(client, headers, BOOK))
    _same, found = synced(sync(client, headers, BOOK, newer))
    assert found == {}


def test_a_token_of_the_listing_form_or_from_the_future_is_refused(client, region):
    headers = device_for(region["viewer"])
    token, _found = synced(sync(client, headers, BOOK))
    seq, _dot, view = token.rsplit("/", 1)[1].partition(".")
    prefix = token.rsplit("/", 1)[0] + "/"
    for wrong in (prefix + view, f"{prefix}{int(seq) + 5}.{view}", f"{prefix}{seq}.{'0' * 64}"):
        response = sync(client, headers, BOOK, wrong)
        assert response.status_code == 403, wrong
        assert b"valid-sync-token" in response.get_data()


# --- Writes ------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", [
    ("PUT", BOOK + "new.vcf"),
    ("PUT", BOOK + "actor-1.vcf"),
    ("DELETE", BOOK + "actor-1.vcf"),
    ("DELETE", BOOK),
    ("MKCOL", "/dav/viewer@example.org/new/"),
    ("PROPPATCH", BOOK),
])  # fmt: skip
def test_writes_answer_403_with_a_clear_message(client, region, method, path):
    headers = device_for(region["viewer"])
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:X\r\nEND:VCARD\r\n"
    body = card if method == "PUT" else None
    response = client.open(path, method=method, headers=headers, data=body)
    assert response.status_code == 403
    assert "Kontaktvägar" in response.get_data(as_text=True)
    assert re.search("read-only|skrivskydd|bara läsas", response.get_data(as_text=True), re.I)


# --- Call trees ----------------------------------------------------------------------


def test_a_call_tree_book_holds_its_members_in_calling_order(client, region):
    from directory.calltrees.rules import add_node

    tree = CallTree(name="Larmkedja snö", actor_id=region["haninge"].id,
                    mode=Mode.ORDINARY, valid_from=date(2026, 12, 1))  # fmt: skip
    db.session.add(tree)
    db.session.flush()
    add_node(tree, region["person"])
    add_node(tree, region["tib"])
    db.session.commit()
    headers = device_for(region["viewer"])
    cards = listing(client, headers, f"/dav/viewer@example.org/calltree-{tree.id}/")
    assert sorted(cards) == [f"01-person-{region['person'].id}.vcf",
                             f"02-role-{region['tib'].id}.vcf"]  # fmt: skip


def test_setting_lets_viewers_see_confidential_changes_their_cards(client, region):
    headers = device_for(region["viewer"])
    token, _found = synced(sync(client, headers, BOOK))
    db.session.add(Setting(key="viewers_see_confidential", value={"value": True}))
    db.session.commit()
    _newer, found = synced(sync(client, headers, BOOK, token))
    assert found == {f"role-{region['tib'].id}.vcf": 200}


def test_one_card_of_another_actor_or_a_deleted_entry_is_not_in_the_book(client, region):
    from directory.core.models import utcnow

    editor = make_user("editor@example.org", role=UserRole.EDITOR, actors=[region["haninge"]])
    db.session.commit()
    headers = device_for(editor)
    mine = "/dav/editor@example.org/mine/"
    assert client.get(f"{mine}role-{region['tib'].id}.vcf", headers=headers).status_code == 200
    outside = client.get(f"{mine}person-{region['person'].id}.vcf", headers=headers)
    assert outside.status_code == 404
    region["person"].deleted_at = utcnow()
    db.session.commit()
    gone = client.get(f"/dav/editor@example.org/directory/person-{region['person'].id}.vcf",
                      headers=headers)  # fmt: skip
    assert gone.status_code == 404


def test_a_request_body_beyond_the_limit_is_refused_unread(client, region, app):
    headers = {**device_for(region["viewer"]), "Depth": "1",
               "Content-Type": "application/xml"}  # fmt: skip
    big = b"<x>" + b" " * (app.config["MAX_CONTENT_LENGTH"] or 1 << 20) + b"</x>"
    response = client.open(BOOK, method="PROPFIND", headers=headers, data=big)
    assert response.status_code == 413
    bigger = b"<x>" + b" " * app.config["CARDDAV_MAX_REPORT_BYTES"] + b"</x>"
    response = client.open(BOOK, method="REPORT", headers=headers, data=bigger)
    assert response.status_code == 413


def test_a_whole_books_multiget_beyond_the_general_body_limit_is_answered(client, region, app):
    """vdirsyncer asks for every card of a book in one multiget: ~75 bytes a card,
    7.5 MB for a region of 100 000 cards, more than any form may send."""
    headers = device_for(region["viewer"])
    name = f"role-{region['tib'].id}.vcf"
    hrefs = "".join(f"<d:href>{BOOK}person-{9_000_000 + i}.vcf</d:href>\n"
                    for i in range(app.config["MAX_CONTENT_LENGTH"] // 60))
    body = f"""<?xml version="1.0"?>
    <card:addressbook-multiget xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
      <d:prop><d:getetag/><card:address-data/></d:prop>
      <d:href>{BOOK}{name}</d:href>{hrefs}
    </card:addressbook-multiget>""".encode()
    assert len(body) > app.config["MAX_CONTENT_LENGTH"]
    response = dav(client, "REPORT", BOOK, headers, body, depth="1")
    assert response.status_code == 207
    root = xml(response)
    answers = {a.find("d:href", NS).text.replace(AT, "@"): a
               for a in root.findall("d:response", NS)}  # fmt: skip
    assert "TiB" in answers[BOOK + name].find(".//card:address-data", NS).text
