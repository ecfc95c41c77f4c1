"""vCard, CSV and QR exports: what a phone or a spreadsheet gets, read back and compared.

Every vCard is parsed back with vobject. The whole-directory export is served
from the rendered-card cache; these tests prove its cards are byte for byte
the ones a fresh render gives, before and after every kind of edit.
"""

import csv
import io
import re
import uuid
import zipfile
from datetime import date, datetime, time, timedelta
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
import vobject
import zxingcpp
from PIL import Image
from sqlalchemy import select, update

from directory.calltrees.rules import add_node
from directory.core.extensions import db
from directory.core.models import (
    Actor,
    CallTree,
    ContactKind,
    ContactPoint,
    Mode,
    Override,
    PathMode,
    Person,
    Role,
    Rotation,
    RotationMember,
    UserRole,
    VCardCache,
    utcnow,
)
from directory.core.modes import switch_mode
from directory.core.settings import VIEWERS_SEE_CONFIDENTIAL, set_setting
from directory.phones import card_cache, vcards
from directory.phones.views import csv_cell
from tests.conftest import make_actor, make_contact, make_person, make_role

# PostgreSQL stores no NUL, so that one is only tested on `clean` itself.
HOSTILE = "Eve\r\nEND:VCARD\nBEGIN:VCARD;x,y:z\\n\u2028ok\x07\x1b"


@pytest.fixture
def region(app):
    haninge = make_actor("Haninge kommun", short_name="Haninge")
    tib = make_role(haninge)
    make_contact(tib, "+46701740608", label="Jourtelefon", priority=1)
    make_contact(tib, "+46701740609", kind=ContactKind.SWITCHBOARD, priority=2,
                 mode=PathMode.ORDINARY, label="Växel")
    make_contact(tib, "+46701740611", priority=1, mode=PathMode.ACTIVATED,
                 label="Stabsledning")
    make_contact(tib, "+46701740612", priority=3, confidential=True, label="Privat")
    make_contact(tib, "Haninge TiB 1", kind=ContactKind.RAKEL_GROUP, priority=4)
    asa = make_person(haninge, "Åsa Öberg", title="Beredskapssamordnare")
    make_contact(asa, "+46701740620", confidential=True, label="Tjänstemobil")
    make_contact(asa, "+46701740621", kind=ContactKind.LANDLINE, priority=2)
    make_contact(asa, "asa.oberg@example.org", kind=ContactKind.EMAIL, priority=3)
    make_contact(haninge, "+46701740605", kind=ContactKind.SWITCHBOARD, label="Växel")
    police = make_actor("Polismyndigheten", kind="police")
    make_contact(police, "11414", kind=ContactKind.SWITCHBOARD, label="Polisens växel")
    db.session.commit()
    return {"haninge": haninge, "tib": tib, "asa": asa, "police": police}


def csrf_token(client) -> str:
    page = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def cards_of(response) -> list:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return list(vobject.readComponents(response.get_data(as_text=True)))


def card_of(response):
    found = cards_of(response)
    assert len(found) == 1
    return found[0]


def tels(card) -> list[tuple[str, list[str]]]:
    return [(t.value, t.params.get("TYPE", [])) for t in card.contents.get("tel", [])]


def split_cards(text: str) -> list[str]:
    return [c + "END:VCARD\r\n" for c in text.split("END:VCARD\r\n") if c.strip()]


# --- The shape of a card --------------------------------------------------------


def test_a_person_card_reads_back_with_every_value(region, client, login_as):
    login_as(UserRole.ADMIN)
    response = client.get(f"/export/persons/{region['asa'].id}.vcf")
    assert response.mimetype == "text/vcard"
    assert response.headers["Content-Type"] == "text/vcard; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    card = card_of(response)
    assert card.version.value == "3.0"
    assert card.fn.value == "Åsa Öberg"
    assert (card.n.value.given, card.n.value.family) == ("Åsa", "Öberg")
    assert card.org.value == ["Haninge kommun"]
    assert card.title.value == "Beredskapssamordnare"
    assert tels(card) == [("+46701740620", ["CELL", "VOICE", "PREF"]),
                          ("+46701740621", ["WORK", "VOICE"])]
    assert card.email.value == "asa.oberg@example.org"
    assert card.email.params["TYPE"] == ["INTERNET", "WORK", "PREF"]
    assert card.contents["x-ablabel"][0].value == "Tjänstemobil"
    assert card.contents["x-ablabel"][0].group == card.tel.group


def test_the_file_is_utf8_without_bom_with_crlf_and_folded_lines(region, client, login_as):
    person = region["asa"]
    person.title = "Samordnare för krisberedskap och civilt försvar, " * 3
    db.session.commit()
    login_as(UserRole.ADMIN)
    body = client.get(f"/export/persons/{person.id}.vcf").get_data()
    assert not body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8")
    assert "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")[:-1]
    assert all(len(line.encode("utf-8")) <= 75 for line in lines)
    assert any(line.startswith(" ") for line in lines)  # the long title was folded


def test_uid_is_stable_and_rev_is_the_last_change(region, client, login_as):
    login_as(UserRole.ADMIN)
    url = f"/export/persons/{region['asa'].id}.vcf"
    first = card_of(client.get(url))
    expected_uid = uuid.uuid5(vcards.UID_NAMESPACE, f"person:{region['asa'].id}")
    assert first.uid.value == f"urn:uuid:{expected_uid}"
    asa = db.session.get(Person, region["asa"].id)
    latest = max([asa.updated_at, asa.actor.updated_at,
                  *(p.updated_at for p in asa.contact_points)])
    assert first.rev.value == latest.strftime("%Y%m%dT%H%M%SZ")

    asa.title = "Säkerhetschef"
    db.session.commit()
    second = card_of(client.get(url))
    assert second.uid.value == first.uid.value
    assert second.rev.value == db.session.get(Person, asa.id).updated_at.strftime(
        "%Y%m%dT%H%M%SZ")
    assert second.rev.value >= first.rev.value


def test_rev_tells_a_viewer_nothing_about_a_hidden_path(region, client, login_as):
    """REV (and the API's ETag) come only from what the reader may see."""
    login_as(UserRole.VIEWER)
    asa_id = region["asa"].id
    urls = [f"/export/persons/{asa_id}.vcf", f"/export/actors/{region['haninge'].slug}.vcf"]

    def revs() -> list[str]:
        found = [c.rev.value for url in urls for c in cards_of(client.get(url))
                 if c.fn.value == "Åsa Öberg"]
        found += [vobject.readOne(c).rev.value for c in directory_by_uid(client).values()
                  if "FN:Åsa Öberg" in c]
        return found

    before = revs()
    etag = client.get(f"/api/v1/persons/{asa_id}").headers["ETag"]
    hidden = db.session.scalar(select(ContactPoint).where(ContactPoint.value == "+46701740620"))
    hidden.value = "+46701740629"  # the private mobile changes, a day later
    hidden.updated_at = utcnow() + timedelta(days=1)
    db.session.commit()
    assert revs() == before and len(before) == 3
    assert client.get(f"/api/v1/persons/{asa_id}").headers["ETag"] == etag
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login_as(UserRole.ADMIN)  # who may see it sees when it changed
    assert all(rev > before[0] for rev in revs())


def test_a_role_card_is_functional_with_org_and_title(region, client, login_as):
    login_as(UserRole.ADMIN)
    card = card_of(client.get(f"/export/roles/{region['tib'].id}.vcf"))
    assert card.fn.value == "TiB – Haninge kommun"
    assert card.org.value == ["Haninge kommun"]
    assert card.title.value == "Tjänsteman i beredskap"
    # Ordinary mode: the 24/7 mobile first, then the ordinary switchboard, the
    # confidential one (admins see it); the activated-only staff line comes last.
    assert tels(card) == [("+46701740608", ["CELL", "VOICE", "PREF"]),
                          ("+46701740609", ["WORK", "VOICE"]),
                          ("+46701740612", ["CELL", "VOICE"]),
                          ("+46701740611", ["CELL", "VOICE"])]
    assert "Rakel talgrupp: Haninge TiB 1" in card.note.value


def labels(card) -> dict[str, str]:
    """Each number's X-ABLabel (the label a phone shows beside it), by number."""
    by_group = {line.group: line.value for line in card.contents.get("x-ablabel", [])}
    return {tel.value: by_group.get(tel.group, "") for tel in card.contents.get("tel", [])}


def test_paths_follow_the_mode_in_force(region, client, login_as):
    user = login_as(UserRole.ADMIN)
    switch_mode(region["haninge"], Mode.ACTIVATED, reason="Snöstorm", user=user)
    db.session.commit()
    card = card_of(client.get(f"/export/roles/{region['tib'].id}.vcf"))
    assert [value for value, _types in tels(card)] == [
        "+46701740611", "+46701740608", "+46701740612", "+46701740609"]


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_a_card_carries_both_modes_numbers_labelled_the_mode_in_force_first(
        region, client, login_as, version):
    """A TiB card saved in ordinary times still has the activated-mode number
    (the moment the phone is the fallback), and says which number is which."""
    user = login_as(UserRole.ADMIN)
    url = f"/export/roles/{region['tib'].id}.vcf?version={version}"
    number = (lambda v: f"tel:{v}") if version == "4.0" else (lambda v: v)
    card = card_of(client.get(url))
    assert labels(card) == {
        number("+46701740608"): "Jourtelefon",
        number("+46701740609"): "Ordinarie läge – Växel",
        number("+46701740612"): "Privat",
        number("+46701740611"): "Aktiverat läge – Stabsledning",
    }
    first = card.contents["tel"][0]
    assert first.value == number("+46701740608")
    switch_mode(region["haninge"], Mode.ACTIVATED, reason="Snöstorm", user=user)
    db.session.commit()
    card = card_of(client.get(url))
    assert list(labels(card).items()) == [
        (number("+46701740611"), "Aktiverat läge – Stabsledning"),
        (number("+46701740608"), "Jourtelefon"),
        (number("+46701740612"), "Privat"),
        (number("+46701740609"), "Ordinarie läge – Växel"),
    ]


def test_the_other_modes_number_without_a_label_is_named_by_its_mode(region, client, login_as):
    login_as(UserRole.VIEWER)
    make_contact(region["asa"], "+46701740623", priority=1, mode=PathMode.ACTIVATED)
    db.session.commit()
    card = card_of(client.get(f"/export/persons/{region['asa'].id}.vcf"))
    assert labels(card)["+46701740623"] == "Aktiverat läge"
    assert [value for value, _types in tels(card)] == ["+46701740621", "+46701740623"]
    # The directory export (from the cache) carries it too, identical to a fresh render.
    assert "+46701740623" in client.get("/export/directory.vcf").get_data(as_text=True)
    assert_directory_equals_fresh(client)
    assert_cache_equals_fresh_render()


def test_short_numbers_are_kept_as_dialled(region, client, login_as):
    login_as(UserRole.VIEWER)
    card = card_of(client.get("/export/actors/polismyndigheten.vcf"))
    assert tels(card) == [("11414", ["WORK", "VOICE", "PREF"])]


def test_viewers_do_not_get_confidential_numbers(region, client, login_as):
    login_as(UserRole.VIEWER)
    card = card_of(client.get(f"/export/persons/{region['asa'].id}.vcf"))
    assert [value for value, _types in tels(card)] == ["+46701740621"]
    assert "+46701740620" not in client.get("/export/directory.vcf").get_data(as_text=True)


def test_viewers_get_confidential_numbers_when_allowed(region, client, login_as):
    set_setting(VIEWERS_SEE_CONFIDENTIAL, True)
    db.session.commit()
    login_as(UserRole.VIEWER)
    card = card_of(client.get(f"/export/persons/{region['asa'].id}.vcf"))
    assert "+46701740620" in [value for value, _types in tels(card)]


def test_editors_see_their_own_actors_confidential_numbers(region, client, login_as):
    login_as(UserRole.EDITOR, actors=[region["haninge"]])
    text = client.get("/export/directory.vcf").get_data(as_text=True)
    assert "+46701740620" in text


def test_hostile_values_cannot_add_properties_or_cards(region, client, login_as):
    evil = make_person(region["haninge"], HOSTILE, title="a;b,c:d\nX-EVIL:1")
    make_contact(evil, "+46701740630", label="x\r\ny;z:w,END:VCARD")
    make_contact(evil, "https://example.org/\nX-EVIL:2", kind=ContactKind.WEB, priority=2)
    make_contact(evil, "Storgatan 1;\nEND:VCARD", kind=ContactKind.ADDRESS, priority=3)
    db.session.commit()
    login_as(UserRole.ADMIN)
    for url in (f"/export/persons/{evil.id}.vcf", f"/export/persons/{evil.id}.vcf?version=4.0"):
        text = client.get(url).get_data(as_text=True)
        lines = text.split("\r\n")[:-1]
        assert sum(line == "BEGIN:VCARD" for line in lines) == 1
        assert sum(line == "END:VCARD" for line in lines) == 1
        assert not any(line.upper().startswith("X-EVIL") for line in lines)
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u2028]", text.replace("\r\n", ""))
        card = card_of(client.get(url))
        assert card.fn.value == "Eve END:VCARD BEGIN:VCARD;x,y:z\\n ok"
        assert card.title.value == "a;b,c:d X-EVIL:1"
        assert card.url.value == "https://example.org/ X-EVIL:2"
        assert "x-evil" not in card.contents


def test_clean_turns_controls_and_line_separators_into_spaces():
    assert vcards.clean("a\x00b\x1bc\x85d\u2029e\tf\r\ng") == "a b c d e f g"
    assert vcards.clean("a\r\nb\rc\x0bd", multiline=True) == "a\nb\nc d"


def test_vcard_4_on_request(region, client, login_as):
    login_as(UserRole.ADMIN)
    card = card_of(client.get(f"/export/roles/{region['tib'].id}.vcf?version=4.0"))
    assert card.version.value == "4.0"
    assert card.kind.value == "individual"
    first = card.contents["tel"][0]
    assert first.value == "tel:+46701740608"
    assert first.params["VALUE"] == ["uri"] and first.params["PREF"] == ["1"]
    actor = card_of(client.get("/export/actors/polismyndigheten.vcf?version=4.0"))
    assert actor.kind.value == "org"
    assert client.get(f"/export/roles/{region['tib'].id}.vcf?version=2.1").status_code == 400


def test_an_actor_file_holds_the_actor_its_roles_and_persons(region, client, login_as):
    make_person(region["haninge"], "Borttagen", deleted_at=utcnow())
    db.session.commit()
    login_as(UserRole.VIEWER)
    found = cards_of(client.get("/export/actors/haninge-kommun.vcf"))
    assert [c.fn.value for c in found] == ["Haninge kommun", "TiB – Haninge kommun", "Åsa Öberg"]
    assert found[0].contents["x-abshowas"][0].value == "COMPANY"
    assert len({c.uid.value for c in found}) == 3


def test_zip_has_one_parsable_card_per_file(region, client, login_as):
    login_as(UserRole.ADMIN)
    response = client.get("/export/actors/haninge-kommun.zip")
    assert response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    names = archive.namelist()
    assert len(names) == 3 and all(n.startswith("haninge-kommun/") for n in names)
    for name in names:
        assert len(list(vobject.readComponents(archive.read(name).decode("utf-8")))) == 1


def test_a_call_tree_file_holds_its_members_with_the_trees_mode(region, client, login_as):
    tree = CallTree(name="Larmkedja snö", actor=region["haninge"], mode=Mode.ACTIVATED,
                    valid_from=date(2026, 12, 1))
    db.session.add(tree)
    db.session.flush()
    add_node(tree, region["tib"], alternates=[(region["asa"], 5)])
    add_node(tree, region["police"])
    db.session.commit()
    login_as(UserRole.VIEWER)
    found = cards_of(client.get(f"/export/calltrees/{tree.id}.vcf"))
    assert [c.fn.value for c in found] == ["TiB – Haninge kommun", "Åsa Öberg", "Polismyndigheten"]
    assert found[0].tel.value == "+46701740611"  # the activated-mode staff line first
    zipped = zipfile.ZipFile(io.BytesIO(client.get(f"/export/calltrees/{tree.id}.zip").data))
    assert len(zipped.namelist()) == 3


def test_exports_need_sign_in_and_unknown_entries_are_404(region, client, login_as):
    assert client.get("/export/directory.vcf").status_code == 302
    login_as(UserRole.VIEWER)
    assert client.get("/export/persons/999999.vcf").status_code == 404
    assert client.get("/export/actors/nobody.vcf").status_code == 404
    assert client.get("/export/calltrees/999999.vcf").status_code == 404


# --- The directory and its cache --------------------------------------------------


def fresh_cards(client, region_entries) -> dict[str, str]:
    """Each entry's card from its own route (always a fresh render)."""
    out = {}
    for kind, entry in region_entries:
        url = {"actor": f"/export/actors/{getattr(entry, 'slug', '')}.vcf",
               "role": f"/export/roles/{entry.id}.vcf",
               "person": f"/export/persons/{entry.id}.vcf"}[kind]
        text = client.get(url).get_data(as_text=True)
        out[f"{kind}:{entry.id}"] = split_cards(text)[0]
    return out


def all_entries():
    found = []
    for kind, model in (("actor", Actor), ("role", Role), ("person", Person)):
        found += [(kind, e) for e in db.session.scalars(
            select(model).where(model.deleted_at.is_(None)).order_by(model.id))]
    return found


def directory_by_uid(client) -> dict[str, str]:
    response = client.get("/export/directory.vcf")
    assert response.status_code == 200 and response.is_streamed
    return {vobject.readOne(c).uid.value: c for c in split_cards(response.get_data(as_text=True))}


def assert_directory_equals_fresh(client):
    entries = all_entries()
    fresh = fresh_cards(client, entries)
    served = directory_by_uid(client)
    assert len(served) == len(entries)
    for key, card in fresh.items():
        kind, entity_id = key.split(":")
        uid = f"urn:uuid:{uuid.uuid5(vcards.UID_NAMESPACE, f'{kind}:{entity_id}')}"
        assert served[uid] == card, key


def cache_rows() -> list:
    return db.session.execute(
        select(VCardCache.entity_type, VCardCache.entity_id, VCardCache.variants,
               VCardCache.card).order_by(VCardCache.entity_type, VCardCache.entity_id,
                                         VCardCache.variants)).all()


def assert_cache_equals_fresh_render():
    """Every cached text is what vobject renders now from freshly loaded entries."""
    db.session.expire_all()
    rows = cache_rows()
    covered = set()
    for kind, model in (("actor", Actor), ("role", Role), ("person", Person)):
        for entry in db.session.scalars(select(model).where(model.deleted_at.is_(None))):
            source = vcards.source_of(entry)
            for mode in card_cache.MODES:
                for confidential in (False, True):
                    bit = card_cache.variant_bit(mode, confidential)
                    cached = [r.card for r in rows
                              if (r.entity_type, r.entity_id) == (kind, entry.id)
                              and r.variants & bit]
                    shown = [p for p in source.paths if confidential or not p.confidential]
                    fresh = vcards.render(source, vcards.card_paths(shown, mode), seen=shown)
                    assert cached == [fresh], (kind, entry.id, mode, confidential)
            covered.add((kind, entry.id))
    assert {(r.entity_type, r.entity_id) for r in rows} == covered


def test_the_directory_is_streamed_and_every_card_equals_a_fresh_render(region, client, login_as):
    login_as(UserRole.VIEWER)
    response = client.get("/export/directory.vcf")
    assert response.is_streamed
    assert response.headers["Content-Type"] == "text/vcard; charset=utf-8"
    assert_directory_equals_fresh(client)


def test_the_cache_stays_identical_to_a_fresh_render_through_edits(region, client, login_as):
    admin = login_as(UserRole.ADMIN)
    assert_cache_equals_fresh_render()
    asa = db.session.get(Person, region["asa"].id)
    asa.name = "Åsa Öberg-Lind"
    db.session.commit()
    assert_cache_equals_fresh_render()
    make_contact(db.session.get(Person, asa.id), "+46701740622", priority=1,
                 mode=PathMode.ACTIVATED)
    db.session.commit()
    assert_cache_equals_fresh_render()
    point = db.session.scalar(select(ContactPoint).where(ContactPoint.value == "+46701740621"))
    point.mode = PathMode.ORDINARY
    point.label = "Direkt; ny"
    db.session.commit()
    assert_cache_equals_fresh_render()
    point.deleted_at = utcnow()
    db.session.commit()
    assert_cache_equals_fresh_render()
    db.session.add(ContactPoint(role_id=region["tib"].id, kind=ContactKind.BRIDGE,
                                value="+46701740640", pin="1234", priority=5))
    db.session.commit()
    assert_cache_equals_fresh_render()
    actor = db.session.get(Actor, region["haninge"].id)
    actor.name = "Haninge kommun (ny)"
    db.session.commit()
    assert_cache_equals_fresh_render()
    db.session.get(Role, region["tib"].id).deleted_at = utcnow()
    db.session.commit()
    assert_cache_equals_fresh_render()
    switch_mode(None, Mode.ACTIVATED, reason="Storm", user=db.session.get(type(admin), admin.id))
    db.session.commit()
    assert_directory_equals_fresh(client)


def test_the_directory_is_the_same_for_every_reader_and_mode(region, client, login_as):
    editor = login_as(UserRole.EDITOR, actors=[region["haninge"]])
    assert_directory_equals_fresh(client)
    switch_mode(region["haninge"], Mode.ACTIVATED, reason="Storm",
                user=db.session.get(type(editor), editor.id))
    db.session.commit()
    assert_directory_equals_fresh(client)


def rendered_on_the_fly(monkeypatch) -> list[int]:
    """The ids of the cards the directory renders itself (not from the cache)."""
    from directory.phones import card_exports

    rendered = []
    real = card_exports.render_seen

    def counting(source, *args, **kwargs):
        rendered.append(source.id)
        return real(source, *args, **kwargs)

    monkeypatch.setattr(card_exports, "render_seen", counting)
    return rendered


def activated_office(region, user) -> tuple[Actor, Person]:
    """The police's local office with an officer whose numbers differ by mode;
    the police (and so the office, through its parent) switched to activated."""
    office = make_actor("Polisen Södertörn", kind="police", parent=region["police"])
    officer = make_person(office, "Olle Polis")
    make_contact(officer, "+46701740631", mode=PathMode.ORDINARY)
    make_contact(officer, "+46701740632", priority=2, mode=PathMode.ACTIVATED)
    db.session.commit()
    switch_mode(region["police"], Mode.ACTIVATED, reason="Storm",
                user=db.session.get(type(user), user.id))
    db.session.commit()
    return office, officer


def test_each_actors_cards_come_from_the_cache_in_the_variant_its_reader_sees(
        region, client, login_as, monkeypatch):
    """Actors in three variants at once for one reader: the editor's own actor
    (confidential shown), an activated agency and its local office (activated
    through its parent), and the rest (ordinary). Each card is the cached row
    of its own variant, and equals a fresh render."""
    editor = login_as(UserRole.EDITOR, actors=[region["haninge"]])
    activated_office(region, editor)
    rendered = rendered_on_the_fly(monkeypatch)
    served = directory_by_uid(client)
    assert rendered == []
    card = next(c for c in served.values() if "Olle Polis" in c)
    assert card.index("+46701740632") < card.index("+46701740631")  # activated first
    assert "+46701740620" in next(c for c in served.values() if "FN:Åsa Öberg" in c)
    assert_directory_equals_fresh(client)


def test_an_actor_made_after_the_readers_variants_were_read_gets_its_own(
        region, client, login_as, monkeypatch):
    """An actor made while the export streams is not among the variants read
    when it began, so the SQL picks the common one (ordinary); its parent is
    activated, so that row is another variant's: it is rendered, not served."""
    from directory.phones.card_exports import Reading

    viewer = login_as(UserRole.VIEWER)
    make_actor("Nynäshamns kommun")  # ordinary, with Haninge: the common variant
    office, officer = activated_office(region, viewer)
    before = directory_by_uid(client)
    real_bits = Reading.bits

    def without_the_office(self):
        return {actor_id: bit for actor_id, bit in real_bits(self).items()
                if actor_id != office.id}

    monkeypatch.setattr(Reading, "bits", without_the_office)
    rendered = rendered_on_the_fly(monkeypatch)
    assert directory_by_uid(client) == before
    # the office's own card has no paths: one cached row serves every variant
    assert rendered == [officer.id]


def test_cards_missing_from_the_cache_are_rendered_on_the_fly(region, client, login_as):
    login_as(UserRole.ADMIN)
    before = directory_by_uid(client)
    db.session.execute(VCardCache.__table__.delete())  # as after a bulk load
    db.session.commit()
    assert directory_by_uid(client) == before


def test_a_card_rendered_for_an_older_version_is_not_served(region, client, login_as):
    login_as(UserRole.ADMIN)
    asa = region["asa"]
    # A write that bypasses the ORM (no flush hook): the cache is now stale.
    db.session.execute(update(Person).where(Person.id == asa.id)
                       .values(name="Åsa Bulk", version=Person.version + 1))
    db.session.commit()
    card = [c for c in directory_by_uid(client).values() if "Åsa" in c][0]
    assert "FN:Åsa Bulk" in card


def test_rebuilding_gives_the_cards_the_hook_keeps(region, app):
    kept = cache_rows()
    assert card_cache.rebuild_all() == len(kept)
    db.session.commit()
    assert cache_rows() == kept


def test_the_directory_zip_matches_the_directory_file(region, client, login_as):
    login_as(UserRole.VIEWER)
    served = directory_by_uid(client)
    response = client.get("/export/directory.zip")
    assert response.is_streamed
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    assert archive.testzip() is None
    texts = [archive.read(name).decode("utf-8") for name in archive.namelist()]
    assert sorted(texts) == sorted(served.values())


# --- QR codes --------------------------------------------------------------------


def decode_qr_svg(svg: bytes) -> str:
    """What a camera reads from the SVG: drawn to pixels, then decoded by zxing-cpp.

    The SVG is drawn from its own path data (moves and horizontal strokes, as
    segno writes them), not rebuilt from the card: a wrong or empty code fails.
    """
    root = ElementTree.fromstring(svg)  # noqa: S314 (our own app's SVG, in a test)
    ns = {"svg": "http://www.w3.org/2000/svg"}
    size = int(float(root.get("width")))
    assert int(float(root.get("height"))) == size
    image = Image.new("L", (size, size), 255)
    pixels = image.load()
    paths = root.findall("svg:path", ns)
    assert paths, svg[:300]
    for path in paths:
        scale = float(re.fullmatch(r"scale\(([\d.]+)\)", path.get("transform", "scale(1)"))[1])
        x = y = 0.0
        for command, numbers in re.findall(r"([MmHh])([^MmHh]*)", path.get("d")):
            args = [float(n) for n in numbers.replace(",", " ").split()]
            if command in "Mm":
                x, y = (args[0], args[1]) if command == "M" else (x + args[0], y + args[1])
                continue
            end = x + args[0] if command == "h" else args[0]
            # A stroke of width 1 centred on y: it covers rows y-0.5 .. y+0.5.
            for py in range(int((y - 0.5) * scale), int((y + 0.5) * scale)):
                for px in range(int(min(x, end) * scale), int(max(x, end) * scale)):
                    pixels[px, py] = 0
            x = end
    # QR codes only: a dense code's modules can pass for a linear barcode (seen: EAN-13).
    found = zxingcpp.read_barcodes(image.resize((size * 4, size * 4), Image.NEAREST),
                                   formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1, [(f.format, f.text[:80]) for f in found]
    return found[0].text


def test_qr_codes_hold_the_readers_card(region, client, login_as):
    login_as(UserRole.VIEWER)
    for kind, entry, name in (("persons", region["asa"], "Åsa Öberg"),
                              ("roles", region["tib"], "TiB – Haninge kommun")):
        response = client.get(f"/export/{kind}/{entry.id}/qr.svg")
        assert response.status_code == 200 and response.mimetype == "image/svg+xml"
        text = decode_qr_svg(response.get_data())
        card = vobject.readOne(text)
        assert card.fn.value == name
        # The same card the viewer downloads, and so no confidential number.
        served = client.get(f"/export/{kind}/{entry.id}.vcf").get_data(as_text=True)
        assert text.replace("\r\n", "\n") == served.replace("\r\n", "\n")
    asa = vobject.readOne(decode_qr_svg(
        client.get(f"/export/persons/{region['asa'].id}/qr.svg").get_data()))
    assert [t[0] for t in tels(asa)] == ["+46701740621"]  # not the confidential +46701740620
    assert asa.email.value == "asa.oberg@example.org"


def test_a_card_too_big_for_a_qr_code_is_made_compact(region, client, login_as):
    asa = region["asa"]
    for n in range(30):
        make_contact(asa, f"+467017406{50 + n:02d}", priority=10 + n, label="L" * 150)
    db.session.commit()
    login_as(UserRole.ADMIN)
    response = client.get(f"/export/persons/{asa.id}/qr.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    card = vobject.readOne(decode_qr_svg(response.get_data()))
    assert card.fn.value == "Åsa Öberg"
    numbers = [t[0] for t in tels(card)]
    # Every number still there (the admin sees the confidential one too).
    assert sorted(numbers) == sorted(["+46701740620", "+46701740621"]
                                     + [f"+467017406{50 + n:02d}" for n in range(30)])
    assert "L" * 150 not in card.serialize()  # compact: the labels are left out


# --- CSV -------------------------------------------------------------------------


def read_csv(response, delimiter=","):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    text = response.get_data().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))


def test_csv_cells_cannot_start_a_formula():
    assert csv_cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    for start in ("+", "-", "@", "\t", "\r", "\n"):
        assert csv_cell(start + "1") == "'" + start + "1"
    assert csv_cell("070-174 06 05") == "070-174 06 05"
    assert csv_cell(None) == ""


def test_directory_csv_has_readable_and_exact_numbers(region, client, login_as):
    make_contact(region["haninge"], "+442079460123", kind=ContactKind.LANDLINE, priority=3,
                 label="=HYPERLINK(\"http://evil\")")
    db.session.commit()
    login_as(UserRole.ADMIN)
    rows = read_csv(client.get("/export/directory.csv"))
    tib = next(r for r in rows if r["tel"] == "tel:+46701740608")
    assert tib["actor"] == "Haninge kommun" and tib["owner_type"] == "role"
    assert tib["owner"] == "TiB" and tib["value"] == "070-174 06 08"
    assert tib["pace"] == "1" and tib["in_force"] == "yes" and tib["confidential"] == "no"
    activated = next(r for r in rows if r["tel"] == "tel:+46701740611")
    assert activated["mode"] == "activated" and activated["in_force"] == "no"
    foreign = next(r for r in rows if r["tel"] == "tel:+442079460123")
    assert foreign["value"] == "'+44 20 7946 0123"
    assert foreign["label"] == "'=HYPERLINK(\"http://evil\")"
    police = next(r for r in rows if r["actor"] == "Polismyndigheten")
    assert police["value"] == "114 14" and police["tel"] == "tel:11414"
    email = next(r for r in rows if r["kind"] == "email")
    assert email["value"] == "asa.oberg@example.org" and email["tel"] == ""


def test_directory_csv_hides_confidential_numbers_from_viewers(region, client, login_as):
    login_as(UserRole.VIEWER)
    rows = read_csv(client.get("/export/directory.csv"))
    assert rows and not any(r["confidential"] == "yes" for r in rows)
    assert "tel:+46701740620" not in [r["tel"] for r in rows]


def test_csv_for_excel_in_swedish(region, client, login_as):
    login_as(UserRole.ADMIN)
    response = client.get("/export/actors/haninge-kommun.csv?format=excel")
    assert response.get_data().startswith(b"\xef\xbb\xbf")
    rows = read_csv(response, delimiter=";")
    assert {r["actor"] for r in rows} == {"Haninge kommun"}
    assert "\r\n" in response.get_data(as_text=True)


# --- Shifts for payroll -------------------------------------------------------------


@pytest.fixture
def rota(region):
    nils = make_person(region["haninge"], "Nils Nilsson")
    rotation = Rotation(role=region["tib"], name="Vecka", length_days=7,
                        handover_time=time(8, 0), starts_on=date(2026, 10, 12))
    rotation.members = [RotationMember(person=region["asa"], position=0),
                        RotationMember(person=nils, position=1)]
    db.session.add(rotation)
    tz = ZoneInfo("Europe/Stockholm")
    db.session.add(Override(role=region["tib"], person=nils, reason="Byte",
                            starts_at=datetime(2026, 12, 10, 12, tzinfo=tz),
                            ends_at=datetime(2026, 12, 10, 18, tzinfo=tz)))
    db.session.commit()
    return nils


def test_shifts_csv_counts_on_call_hours_per_person(rota, client, login_as):
    login_as(UserRole.VIEWER)
    rows = read_csv(client.get(
        "/export/shifts.csv?actor=haninge-kommun&from=2026-12-07&to=2026-12-21"))
    assert [(r["person"], r["source"], r["starts"], r["ends"], r["hours"]) for r in rows] == [
        ("Nils Nilsson", "rotation", "2026-12-07 00:00", "2026-12-07 08:00", "8.00"),
        ("Åsa Öberg", "rotation", "2026-12-07 08:00", "2026-12-10 12:00", "76.00"),
        ("Nils Nilsson", "override", "2026-12-10 12:00", "2026-12-10 18:00", "6.00"),
        ("Åsa Öberg", "rotation", "2026-12-10 18:00", "2026-12-14 08:00", "86.00"),
        ("Nils Nilsson", "rotation", "2026-12-14 08:00", "2026-12-21 00:00", "160.00"),
    ]
    assert {r["actor"] for r in rows} == {"Haninge kommun"} and rows[0]["role"] == "TiB"


def test_shift_hours_are_real_hours_across_daylight_saving(rota, client, login_as):
    login_as(UserRole.VIEWER)
    response = client.get("/export/shifts.csv?from=2026-10-19&to=2026-10-26&format=excel")
    rows = read_csv(response, delimiter=";")
    turn = next(r for r in rows if r["starts"] == "2026-10-19 08:00")
    assert turn["ends"] == "2026-10-26 00:00"
    assert turn["hours"] == "161,00"  # 7 days minus 8 hours, plus the hour gained on 25 Oct


def test_shifts_csv_needs_a_sensible_period(rota, client, login_as):
    login_as(UserRole.VIEWER)
    assert client.get("/export/shifts.csv?from=2026-13-01").status_code == 400
    assert client.get("/export/shifts.csv?from=2026-12-10&to=2026-12-01").status_code == 400
    assert client.get("/export/shifts.csv?from=2026-01-01&to=2027-06-01").status_code == 400
    assert client.get("/export/shifts.csv?actor=nobody").status_code == 404
    assert client.get("/export/shifts.csv").status_code == 200  # this month by default


def test_the_export_page_links_everything(region, client, login_as):
    login_as(UserRole.EDITOR, actors=[region["haninge"]])
    page = client.get("/export").get_data(as_text=True)
    for link in ("/export/directory.vcf", "/export/directory.zip", "/export/directory.csv",
                 "/export/shifts.csv", "/actors/haninge-kommun/import", "/calendars"):
        assert link in page
    assert "/actors/polismyndigheten/import" not in page


def test_the_cards_can_be_rebuilt_from_the_command_line(region, runner):
    db.session.execute(VCardCache.__table__.delete())
    db.session.commit()
    result = runner.invoke(args=["cards", "rebuild"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Rendered ")
    assert_cache_equals_fresh_render()


# --- URIs, folding, file names (#15 items 8, 9, 10) ---------------------------------

MAP_LINK = "https://karta.example.org/?q=59.1917,18.1350;z=15&l=sv"


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_url_values_are_written_as_uris_not_escaped_text(region, client, login_as, version):
    make_contact(region["asa"], MAP_LINK, kind=ContactKind.WEB, priority=9)
    db.session.commit()
    login_as(UserRole.VIEWER)
    text = client.get(f"/export/persons/{region['asa'].id}.vcf?version={version}").get_data(
        as_text=True)
    assert f"\r\nURL:{MAP_LINK}\r\n" in text  # no "\\," or "\\;" inside the link


def test_a_feeds_url_is_written_as_a_uri(app):
    from directory.phones.calendars import Calendar

    with app.test_request_context():
        calendar = Calendar("Karta", utcnow())
        calendar.event("u@x", utcnow(), utcnow() + timedelta(hours=1), "Möte", url=MAP_LINK)
        assert f"\r\nURL:{MAP_LINK}\r\n" in calendar.serialize()


def physical_lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    return data[:-2].split(b"\r\n")


def assert_folded_by_octets(data: bytes) -> None:
    """Every line at most 75 octets, and each a whole UTF-8 text on its own."""
    for line in physical_lines(data):
        assert len(line) <= 75, line
        line.decode("utf-8")  # a character split between two lines would fail here


LONG_NAME = "Åsa-Märta Öberg-Ångström " + "🚒🚑" * 12
LONG_TITLE = "Beredskapssamordnare för räddningstjänst, krisstöd och ledning i Södertörn " * 2


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_card_lines_fold_by_octets_never_inside_a_character(region, client, login_as, version):
    person = make_person(region["haninge"], LONG_NAME, title=LONG_TITLE)
    make_contact(person, "+46701740631", label="Tjänstemobil – räddningsledare 🚒 " * 3)
    db.session.commit()
    login_as(UserRole.ADMIN)
    data = client.get(f"/export/persons/{person.id}.vcf?version={version}").get_data()
    assert_folded_by_octets(data)
    assert max(len(line) for line in physical_lines(data)) > 70  # long lines were folded
    card = vobject.readOne(data.decode("utf-8"))
    assert card.fn.value == " ".join(LONG_NAME.split())
    assert card.title.value == " ".join(LONG_TITLE.split())
    assert_folded_by_octets(client.get("/export/directory.vcf").get_data())
    assert_cache_equals_fresh_render()


def test_feed_lines_fold_by_octets_never_inside_a_character(app):
    from directory.phones.calendars import Calendar

    with app.test_request_context():
        calendar = Calendar(LONG_NAME, utcnow())
        calendar.event("u@x", utcnow(), utcnow() + timedelta(hours=1), LONG_TITLE,
                       description=LONG_TITLE + "\n" + LONG_NAME, location=LONG_NAME)
        data = calendar.serialize().encode("utf-8")
    assert_folded_by_octets(data)
    event = vobject.readOne(data.decode("utf-8")).vevent
    assert event.location.value == " ".join(LONG_NAME.split())


def test_zip_member_names_are_unique_for_a_role_and_person_of_one_name_and_id(
        region, client, login_as):
    actor = make_actor("Tyresö kommun")
    role = Role(id=900, actor=actor, name="Krisledare", short_name="")
    person = Person(id=900, actor=actor, name="Krisledare")
    db.session.add_all([role, person])
    db.session.commit()
    login_as(UserRole.VIEWER)
    archive = zipfile.ZipFile(io.BytesIO(client.get("/export/actors/tyreso-kommun.zip").data))
    names = archive.namelist()
    assert len(names) == len(set(names)) == 3
    assert {"tyreso-kommun/krisledare-role-900.vcf",
            "tyreso-kommun/krisledare-person-900.vcf"} <= set(names)
    whole = zipfile.ZipFile(io.BytesIO(client.get("/export/directory.zip").data)).namelist()
    assert len(whole) == len(set(whole)) == len(all_entries())


def test_a_name_without_latin_letters_gets_a_real_file_name(region, client, login_as):
    person = make_person(region["haninge"], "Дмитрий Орлов")
    role = make_role(region["haninge"], "危机经理", short_name="")
    db.session.commit()
    login_as(UserRole.VIEWER)
    disposition = client.get(f"/export/persons/{person.id}.vcf").headers["Content-Disposition"]
    assert disposition == (f'attachment; filename="person-{person.id}.vcf"; '
                           "filename*=UTF-8''%D0%94%D0%BC%D0%B8%D1%82%D1%80%D0%B8%D0%B9%20"
                           "%D0%9E%D1%80%D0%BB%D0%BE%D0%B2.vcf")
    disposition = client.get(f"/export/roles/{role.id}.vcf").headers["Content-Disposition"]
    assert "filename*=UTF-8''%E5%8D%B1%E6%9C%BA%E7%BB%8F%E7%90%86%20%E2%80%93%20Haninge" \
        in disposition
    # A Latin name keeps its plain ASCII file name, as before.
    disposition = client.get(f"/export/persons/{region['asa'].id}.vcf").headers[
        "Content-Disposition"]
    assert disposition == 'attachment; filename="asa-oberg.vcf"; ' \
        "filename*=UTF-8''%C3%85sa%20%C3%96berg.vcf"
