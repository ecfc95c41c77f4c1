"""A large address book answered in pages (`carddav.paging`): the same answer,
streamed, whatever the page size.

Each test sets `CARDDAV_PAGE_CARDS` to a few cards, so a book of a dozen
cards is answered in several pages, and compares the answer with the one
given whole (a page size larger than the book).
"""

import base64
import gzip

import defusedxml.ElementTree as SafeET
import pytest
from werkzeug.test import EnvironBuilder

from directory.carddav import paging
from directory.carddav.mount import CardDAV
from directory.core.extensions import db
from tests.conftest import make_contact, make_person
from tests.test_carddav import (
    AT,
    BOOK,
    NS,
    PROPFIND_ETAGS,
    dav,
    device_for,
    region,  # noqa: F401 - the fixture
    sync_body,
    synced,
    xml,
)

WHOLE = 1_000_000
ADDRESS_DATA = "{urn:ietf:params:xml:ns:carddav}address-data"
LAST_MODIFIED = "{DAV:}getlastmodified"


@pytest.fixture
def crowd(region):  # noqa: F811 - the fixture imported above
    """The region and eight persons more: twelve cards in the directory."""
    for n in range(8):
        person = make_person(region["nacka"], f"Person {n}")
        make_contact(person, f"+4670174061{n}")
    db.session.commit()
    return region


def answers(body: bytes) -> list[tuple]:
    """Each response of a multistatus as (href, status, {prop: text}), sorted;
    the same whatever prefixes it was written with. Duplicates are kept."""
    found = []
    for answer in SafeET.fromstring(body).findall("d:response", NS):
        href = answer.find("d:href", NS).text.replace(AT, "@")
        status = answer.findtext("d:status", "", NS)
        props = {}
        for propstat in answer.findall("d:propstat", NS):
            code = propstat.findtext("d:status", "", NS)
            for prop in propstat.find("d:prop", NS):
                if prop.tag != LAST_MODIFIED:  # the moment of answering, not the card
                    props[prop.tag] = (code, prop.text)
        found.append((href, status, sorted(props.items())))
    return sorted(found)


def multiget_body(names) -> str:
    hrefs = "".join(f"<d:href>{BOOK}{name}</d:href>" for name in names)
    return f"""<?xml version="1.0"?>
    <card:addressbook-multiget xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
      <d:prop><d:getetag/><card:address-data/></d:prop>{hrefs}
    </card:addressbook-multiget>"""


def card_names(crowd) -> list[str]:
    names = [f"actor-{crowd[k].id}.vcf" for k in ("haninge", "nacka")]
    names.append(f"role-{crowd['tib'].id}.vcf")
    names += [f"person-{p.id}.vcf" for p in crowd["nacka"].persons]
    return names


def ask(client, app, headers, method, body, page, **extra):
    app.config["CARDDAV_PAGE_CARDS"] = page
    return dav(client, method, BOOK, {**headers, **extra}, body, depth="1")


QUERY = """<?xml version="1.0"?>
<card:addressbook-query xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
  <d:prop><d:getetag/></d:prop>
  <card:filter><card:prop-filter name="FN">
    <card:text-match collation="i;unicode-casemap" match-type="contains">Person</card:text-match>
  </card:prop-filter></card:filter>
</card:addressbook-query>"""


@pytest.mark.parametrize("kind", ["propfind", "first sync", "query", "multiget"])
def test_a_book_in_pages_is_the_book_whole(client, app, crowd, kind):
    headers = device_for(crowd["viewer"])
    method, body = {
        "propfind": ("PROPFIND", PROPFIND_ETAGS),
        "first sync": ("REPORT", sync_body()),
        "query": ("REPORT", QUERY),
        "multiget": ("REPORT", multiget_body(card_names(crowd) + ["person-999999.vcf"])),
    }[kind]
    whole = ask(client, app, headers, method, body, WHOLE)
    paged = ask(client, app, headers, method, body, 3)
    assert whole.status_code == paged.status_code == 207
    assert "Content-Length" in whole.headers
    assert "Content-Length" not in paged.headers  # streamed
    assert answers(paged.get_data()) == answers(whole.get_data())
    assert len(answers(whole.get_data())) >= (8 if kind == "query" else 12)
    if kind != "multiget":  # a multiget's order is Radicale's (a set), page by page
        assert paged.get_data() == whole.get_data()


def test_a_sync_in_pages_gives_one_token_and_the_changes_since_an_old_one(client, app, crowd):
    headers = device_for(crowd["viewer"])
    token, first = synced(ask(client, app, headers, "REPORT", sync_body(), 2))
    assert len(first) == 12
    again = SafeET.fromstring(ask(client, app, headers, "REPORT", sync_body(), 2).get_data())
    assert [t.text for t in again.findall("d:sync-token", NS)] == [token]  # one, in six pages
    for person in crowd["nacka"].persons[:5]:
        person.contact_points[0].value = person.contact_points[0].value[:-1] + "9"
    db.session.commit()
    whole = ask(client, app, headers, "REPORT", sync_body(token), WHOLE)
    paged = ask(client, app, headers, "REPORT", sync_body(token), 2)
    assert paged.get_data() == whole.get_data()
    assert len(synced(paged)[1]) == 5


def test_a_paged_answer_is_gzipped_when_the_client_accepts_it(client, app, crowd):
    headers = device_for(crowd["viewer"])
    plain = ask(client, app, headers, "PROPFIND", PROPFIND_ETAGS, 3)
    packed = ask(client, app, headers, "PROPFIND", PROPFIND_ETAGS, 3, **{"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    one_page = ask(client, app, headers, "PROPFIND", PROPFIND_ETAGS, WHOLE,
                   **{"Accept-Encoding": "gzip"})  # fmt: skip
    assert one_page.headers["Content-Encoding"] == "gzip"
    assert int(one_page.headers["Content-Length"]) == len(one_page.get_data())
    assert gzip.decompress(one_page.get_data()) == plain.get_data()


def test_pages_of_unknown_cards_before_known_ones_join_into_one_answer(client, app, crowd):
    """The first part finds nothing, so Radicale writes it with fewer namespaces
    than the parts after: those are joined response by response."""
    headers = device_for(crowd["viewer"])
    unknown = [f"person-{9_000_000 + n}.vcf" for n in range(4)]
    body = multiget_body(unknown + card_names(crowd))
    paged = ask(client, app, headers, "REPORT", body, 2)
    whole = ask(client, app, headers, "REPORT", body, WHOLE)
    assert answers(paged.get_data()) == answers(whole.get_data())
    found = xml(paged).findall("d:response", NS)
    assert len(found) == 16
    assert sum(1 for a in found if a.find(f".//{ADDRESS_DATA}") is not None) == 12


def _environ(app, headers, method, body):
    environ = EnvironBuilder(path=BOOK, method=method, headers={**headers, "Depth": "1"},
                             data=body).get_environ()  # fmt: skip
    environ["SCRIPT_NAME"], environ["PATH_INFO"] = "/dav", BOOK.removeprefix("/dav")
    return environ


def _mount(app) -> CardDAV:
    wsgi = app.wsgi_app
    return wsgi if isinstance(wsgi, CardDAV) else wsgi.app


def test_a_page_that_fails_after_the_first_cuts_the_answer_short(app, crowd):
    """Never a well-formed listing without the cards of the failed page: a
    client would take those cards for deleted."""
    headers = device_for(crowd["viewer"])
    environ = _environ(app, headers, "PROPFIND", PROPFIND_ETAGS.encode())
    real = _mount(app)._page_call(environ)
    pages = []

    def failing_second_page(body, content_type, window):
        pages.append(window.after)
        if len(pages) == 2:
            return "500 Internal Server Error", [], b"boom"
        return real(body, content_type, window)

    status, _headers, stream = paging.answer(failing_second_page, environ,
                                             PROPFIND_ETAGS.encode(), 3)  # fmt: skip
    assert status.startswith("207")
    given = []
    with pytest.raises(paging.PageFailed):
        for chunk in stream:
            given.append(chunk)
    assert given and b"</multistatus>" not in b"".join(given)


def test_a_change_made_while_the_pages_are_read_comes_at_the_next_sync(client, app, crowd):
    """The token is taken before the first card is read: a card listed in an
    early page and changed before the last one is listed again next time."""
    headers = device_for(crowd["viewer"])
    environ = _environ(app, headers, "REPORT", sync_body().encode())
    real = _mount(app)._page_call(environ)
    tib = crowd["tib"]
    calls = []

    def edit_after_the_first_page(body, content_type, window):
        answer = real(body, content_type, window)
        calls.append(window.after)
        if len(calls) == 1:
            assert f"role-{tib.id}.vcf".encode() in answer[2]  # in the first page
            tib.contact_points[0].value = "+46701740699"
            db.session.commit()
        return answer

    status, _headers, stream = paging.answer(edit_after_the_first_page, environ,
                                             sync_body().encode(), 3)  # fmt: skip
    body = b"".join(stream)
    assert status.startswith("207") and len(calls) == 4
    token = SafeET.fromstring(body).find("d:sync-token", NS).text
    _new, changed = synced(ask(client, app, headers, "REPORT", sync_body(token), WHOLE))
    assert f"role-{tib.id}.vcf" in changed



def test_an_allprop_propfind_in_pages_lists_every_card_once(client, app, crowd):
    """An empty PROPFIND asks for every property; for the book's own, Radicale
    reads its cards again (its content length): the page is read once a call."""
    headers = device_for(crowd["viewer"])
    whole = ask(client, app, headers, "PROPFIND", "", WHOLE)
    paged = ask(client, app, headers, "PROPFIND", "", 3)
    assert "Content-Length" not in paged.headers  # streamed

    def cards(response):
        return [a for a in answers(response.get_data()) if a[0].endswith(".vcf")]

    assert len(cards(whole)) == 12
    assert cards(paged) == cards(whole)


def test_a_multiget_without_a_device_password_is_not_read_here(client, app, crowd, monkeypatch):
    """Its body is Radicale's to refuse unread, as before paging: nothing of it is parsed."""
    parsed = []
    monkeypatch.setattr(paging, "_multiget_parts",
                        lambda *args: parsed.append(args) or None)  # fmt: skip
    app.config["CARDDAV_PAGE_CARDS"] = 2
    body = multiget_body(card_names(crowd))
    wrong = {"Authorization": "Basic " + base64.b64encode(b"viewer@example.org:nope").decode()}
    assert dav(client, "REPORT", BOOK, wrong, body, depth="1").status_code == 401
    assert dav(client, "REPORT", BOOK, {}, body, depth="1").status_code == 401
    assert parsed == []
    assert dav(client, "REPORT", BOOK, device_for(crowd["viewer"]), body,
               depth="1").status_code == 207  # fmt: skip
    assert len(parsed) == 1


def test_a_multiget_that_is_not_well_formed_is_refused_with_400(client, app, crowd):
    headers = device_for(crowd["viewer"])
    names = card_names(crowd)
    body = multiget_body(names).replace(f"<d:href>{BOOK}{names[3]}</d:href>", "<d:href>x<oops>")
    response = ask(client, app, headers, "REPORT", body, 2)  # in the second part of two cards
    assert response.status_code == 400


def test_a_multiget_asking_properties_after_hrefs_is_answered_whole(client, app, crowd):
    headers = device_for(crowd["viewer"])
    names = card_names(crowd)
    hrefs = "".join(f"<d:href>{BOOK}{name}</d:href>" for name in names)
    body = f"""<?xml version="1.0"?>
    <card:addressbook-multiget xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
      {hrefs}<d:prop><d:getetag/></d:prop>
    </card:addressbook-multiget>"""
    paged = ask(client, app, headers, "REPORT", body, 2)
    whole = ask(client, app, headers, "REPORT", body, WHOLE)
    assert paged.status_code == 207 and "Content-Length" in paged.headers  # one answer
    assert answers(paged.get_data()) == answers(whole.get_data())


def test_a_multiget_naming_the_book_itself_gets_only_the_cards_it_names(client, app, crowd):
    """Radicale would list the whole book for it, in every part: RFC 6352's
    multiget names address objects, so the book's own href is left out."""
    headers = device_for(crowd["viewer"])
    names = card_names(crowd)[:2]
    body = multiget_body([""] + names)  # BOOK + "": the book itself
    paged = ask(client, app, headers, "REPORT", body, 1)
    hrefs = [a[0] for a in answers(paged.get_data())]
    assert hrefs == sorted(BOOK + name for name in names)


def test_a_get_of_the_book_in_pages_is_the_book_whole(client, app, crowd):
    """A GET of a book is every card in one file (no phone asks for it, a
    person or a script may): built page by page too."""
    headers = device_for(crowd["viewer"])
    app.config["CARDDAV_PAGE_CARDS"] = WHOLE
    whole = client.get(BOOK, headers=headers)
    app.config["CARDDAV_PAGE_CARDS"] = 3
    paged = client.get(BOOK, headers=headers)
    assert whole.status_code == paged.status_code == 200
    assert "Content-Length" not in paged.headers  # streamed
    assert whole.get_data().count(b"BEGIN:VCARD") == 12
    assert paged.get_data() == whole.get_data()
    assert paged.headers["ETag"] == whole.headers["ETag"]
    head = client.head(BOOK, headers=headers)
    assert head.status_code == 200 and head.get_data() == b""
    assert head.headers["ETag"] == whole.headers["ETag"]
