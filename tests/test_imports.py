"""Importing contacts from vCard and CSV: a preview first, then everything or nothing.

Every failure is a clear report with nothing written: no person, no contact
path, no audit event.
"""

import io
import json
from datetime import timedelta

import pytest
import vobject
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from directory.core.extensions import db
from directory.core.models import (
    AuditEvent,
    ContactKind,
    ContactPoint,
    PendingImport,
    Person,
    UserRole,
    utcnow,
)
from directory.lookup.search import search
from directory.phones import imports, reading
from tests.conftest import make_actor, make_contact, make_person

CSV = (
    "namn,titel,mobil,telefon,e-post\r\n"
    "Åsa Öberg,Beredskapssamordnare,070-174 06 05,08-123 456 78,asa@example.org\r\n"
    "Nils Nilsson,Säkerhetschef,+46 70 174 06 06,,\r\n"
)


@pytest.fixture
def haninge(app):
    actor = make_actor("Haninge kommun")
    db.session.commit()
    return actor


@pytest.fixture
def editor(haninge, login_as):
    return login_as(UserRole.EDITOR, actors=[haninge])


def preview(client, data: bytes, filename="kontakter.csv", slug="haninge-kommun",
            confidential=True):
    """Upload a file as the form does (the confidential box is ticked by default)."""
    fields = {"confidential_mobiles": "y"} if confidential else {}
    return client.post(f"/actors/{slug}/import", data={
        "file": (io.BytesIO(data), filename), "csrf_token": token(client), **fields,
    }, content_type="multipart/form-data")


def commit(client, slug="haninge-kommun"):
    return client.post(f"/actors/{slug}/import/commit", data={"csrf_token": token(client)})


def token(client) -> str:
    import re

    page = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def counts() -> tuple[int, int, int]:
    return (db.session.scalar(select(func.count(Person.id))),
            db.session.scalar(select(func.count(ContactPoint.id))),
            db.session.scalar(select(func.count(AuditEvent.id))))


def persons(actor) -> dict[str, Person]:
    db.session.expire_all()
    return {p.name: p for p in db.session.scalars(
        select(Person).where(Person.actor_id == actor.id))}


# --- Preview and commit ----------------------------------------------------------


def waiting() -> int:
    """Uploads waiting for their commit (in the database, seen by every server)."""
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(PendingImport))


def test_a_csv_file_is_previewed_then_imported(haninge, editor, client):
    before = counts()
    response = preview(client, CSV.encode("utf-8"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "New: 2" in page and "Åsa Öberg" in page and "Rejected: 0" in page
    assert counts() == before  # a preview writes nothing
    assert waiting() == 1

    response = commit(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/actors/haninge-kommun"
    found = persons(haninge)
    asa = found["Åsa Öberg"]
    assert asa.title == "Beredskapssamordnare"
    paths = {(p.kind, p.value, p.priority, p.confidential) for p in asa.contact_points}
    assert paths == {(ContactKind.MOBILE, "+46701740605", 1, True),
                     (ContactKind.LANDLINE, "+46812345678", 2, False),
                     (ContactKind.EMAIL, "asa@example.org", 3, False)}
    assert [p.value for p in found["Nils Nilsson"].contact_points] == ["+46701740606"]
    assert search("asa oberg")[0].entry.id == asa.id  # indexed like any other write
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "person"))
    assert {e.user_id for e in events} == {editor.id}  # and audited, as the editor
    assert waiting() == 0  # the upload is gone


def test_mobiles_need_not_be_confidential(haninge, editor, client):
    preview(client, CSV.encode("utf-8"), confidential=False)
    commit(client)
    assert not any(p.confidential for p in persons(haninge)["Åsa Öberg"].contact_points)


def test_excel_swedish_semicolons_in_windows_1252(haninge, editor, client):
    text = ("Förnamn;Efternamn;Befattning;Mobiltelefon;E-postadress;Avdelning\r\n"
            "Märta;Ängström;Stabschef;070-174 06 07;marta@example.org;Stab\r\n")
    response = preview(client, text.encode("cp1252"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Windows-1252" in page and "Märta Ängström" in page
    assert "Columns left out: Avdelning" in page
    commit(client)
    marta = persons(haninge)["Märta Ängström"]
    assert marta.title == "Stabschef"
    assert {p.value for p in marta.contact_points} == {"+46701740607", "marta@example.org"}


def test_a_utf8_file_with_bom_and_tab_separators(haninge, editor, client):
    text = "\ufeffname\ttitle\tmobile\nÖrjan Åberg\tVB\t0701740608\n"
    assert preview(client, text.encode("utf-8")).status_code == 200
    commit(client)
    assert "Örjan Åberg" in persons(haninge)


def test_duplicates_are_matched_not_doubled(haninge, editor, client):
    asa = make_person(haninge, "Åsa Öberg", title="Samordnare")
    make_contact(asa, "+46701740605")
    nils = make_person(haninge, "Nils Nilsson", title="Säkerhetschef")
    make_contact(nils, "NILS@example.org", kind=ContactKind.EMAIL)
    db.session.commit()
    text = ("name,title,mobile,email\r\n"
            "Åsa Öberg,Beredskapssamordnare,070-174 06 05,asa@example.org\r\n"
            "Nils Nilsson,,,nils@example.org\r\n")
    page = preview(client, text.encode()).get_data(as_text=True)
    assert "New: 0" in page and "Changed: 1" in page and "Already up to date: 1" in page
    assert "title: Samordnare → Beredskapssamordnare" in page
    commit(client)
    found = persons(haninge)
    assert len(found) == 2
    assert found["Åsa Öberg"].title == "Beredskapssamordnare"
    assert {p.value for p in found["Åsa Öberg"].contact_points} == {
        "+46701740605", "asa@example.org"}
    assert len(found["Nils Nilsson"].contact_points) == 1


def test_a_vcard_file_round_trips_from_our_own_export(haninge, editor, client):
    asa = make_person(haninge, "Åsa Öberg", title="Beredskapssamordnare")
    make_contact(asa, "+46701740605")
    make_contact(asa, "+46701740606", kind=ContactKind.LANDLINE, priority=2)
    db.session.commit()
    exported = client.get(f"/export/persons/{asa.id}.vcf").get_data()
    other = make_actor("Nynäshamns kommun")
    editor_again = db.session.merge(editor)
    editor_again.actors.append(other)
    db.session.commit()
    assert preview(client, exported, "asa.vcf", slug="nynashamns-kommun").status_code == 200
    assert commit(client, slug="nynashamns-kommun").status_code == 302
    copy = persons(other)["Åsa Öberg"]
    assert copy.title == "Beredskapssamordnare"
    assert {(p.kind, p.value) for p in copy.contact_points} == {
        (ContactKind.MOBILE, "+46701740605"), (ContactKind.LANDLINE, "+46701740606")}


def test_vcard_4_with_tel_uris(haninge, editor, client):
    text = ("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Karin Lund\r\nTITLE:TiB\r\n"
            "TEL;VALUE=uri;TYPE=\"cell,voice\":tel:+46701740609\r\n"
            "TEL;VALUE=uri;TYPE=work:tel:+46-8-123-456-78\r\n"
            "EMAIL:karin@example.org\r\nEND:VCARD\r\n"
            "BEGIN:VCARD\r\nVERSION:4.0\r\nN:Berg;Olof;;;\r\nTEL:112\r\nEND:VCARD\r\n")
    page = preview(client, text.encode(), "k.vcf").get_data(as_text=True)
    assert "New: 2" in page
    commit(client)
    found = persons(haninge)
    assert {(p.kind, p.value) for p in found["Karin Lund"].contact_points} == {
        (ContactKind.MOBILE, "+46701740609"), (ContactKind.LANDLINE, "+46812345678"),
        (ContactKind.EMAIL, "karin@example.org")}
    assert [p.value for p in found["Olof Berg"].contact_points] == ["112"]


# --- Nothing is written when anything is wrong ----------------------------------------


def rejected_page(client, data: bytes, filename="x.csv", status=422) -> str:
    before = counts()
    response = preview(client, data, filename)
    assert response.status_code == status, response.get_data(as_text=True)[:1000]
    assert counts() == before
    return response.get_data(as_text=True)


@pytest.mark.parametrize("data, message", [
    (b"", "The file is empty."),
    (b"  \r\n\r\n", "The file is empty."),
    (b"name,mobile\r\nA\x00B,070\r\n", "This is not a text file"),
    (b"name,mobile\r\n\x81\x8d\x8f\x90\x9d,070\r\n", "neither UTF-8, UTF-16 nor Windows-1252"),
    (b"foo,bar\r\n1,2\r\n", "The first line must name the columns"),
    (b"name\r\n", "The file holds no contacts."),
    (b"name,mobile\r\n\"" + b"x" * 200_000 + b"\",070\r\n", "Line 2 cannot be read"),
    (b"hello\r\nBEGIN:VCARD\r\n", "The first line must name the columns"),
    (b"BEGIN:VCARD\r\nFN:A\r\nEND:VCARD\r\ngarbage\r\n", "Line 4 is outside any card"),
])
def test_an_unreadable_file_gets_a_clear_report(haninge, editor, client, data, message):
    page = rejected_page(client, data)
    assert message in page
    assert "Nothing was imported." in page


def test_a_file_over_the_limit_is_refused(haninge, editor, client, app):
    app.config["IMPORT_MAX_BYTES"] = 1000
    page = rejected_page(client, CSV.encode() + b"x" * 2000, status=413)
    assert "The file is larger than 0.001 MB" in page


def test_an_upload_far_over_the_limit_is_refused_by_its_length(haninge, editor, client, app):
    app.config["IMPORT_MAX_BYTES"] = 10_000
    page = rejected_page(client, b"name\r\n" + b"A\r\n" * 100_000, status=413)
    assert "larger than" in page


def test_too_many_contacts_are_refused(haninge, editor, client, monkeypatch):
    monkeypatch.setattr(reading, "MAX_CONTACTS", 2)
    page = rejected_page(client, CSV.encode() + b"Tredje,,070-174 06 09,,\r\n")
    assert "more than 2 contacts" in page


def test_bad_lines_are_rejected_with_their_numbers_and_block_the_commit(haninge, editor, client):
    text = ("name,mobile,email\r\n"
            "Åsa Öberg,070-174 06 05,\r\n"
            ",070-174 06 06,\r\n"
            "Fel Nummer,12,\r\n"
            "Dubbel,070-174 06 05,\r\n"
            "Evil\x07Bell,,\r\n"
            "\"Multi\r\nline\",,inte-en-adress\r\n"
            "Extra,,,cell\r\n")
    before = counts()
    response = preview(client, text.encode())
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Rejected: 6" in page
    for expected in ("There is no name.", "Mobile “12”: The number is too short.",
                     "The same number or e-mail address as number 2 in this file.",
                     "Name contains control characters.", "not a valid e-mail address.",
                     "The line has 4 cells but the first line names 3 columns."):
        assert expected in page, expected
    assert "<td>7</td>" in page  # the multi-line cell's contact starts on line 7
    assert "exports/commit" not in page and "import/commit" not in page
    response = commit(client)
    assert response.status_code == 409
    assert counts() == before


def test_hostile_vcards_are_rejected_card_by_card(haninge, editor, client):
    text = ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:God Kort\r\nTEL:070-174 06 05\r\nEND:VCARD\r\n"
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bad\x1bEscape\r\nEND:VCARD\r\n"
            "BEGIN:VCARD\r\nVERSION:3.0\r\nthis is not a property\r\nEND:VCARD\r\n"
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:No End\r\n"
            "BEGIN:VCARD\r\nVERSION:3.0\r\nTEL:070-174 06 06\r\nEND:VCARD\r\n")
    before = counts()
    page = preview(client, text.encode(), "x.vcf").get_data(as_text=True)
    assert "Rejected: 4" in page and "New: 1" in page
    assert "The card beginning on line 14 has no END:VCARD." in page
    assert ("The card cannot be read: the line “this is not a property” is not a vCard "
            "property (NAME:value).") in page
    assert "There is no name." in page
    assert commit(client).status_code == 409
    assert counts() == before


# --- The commit trusts only the server's copy ------------------------------------


def test_commit_without_a_preview_imports_nothing(haninge, editor, client):
    response = commit(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/actors/haninge-kommun/import"
    assert persons(haninge) == {}


def test_an_upload_cannot_be_committed_into_another_actor(haninge, client, login_as):
    other = make_actor("Nynäshamns kommun")
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[haninge, other])
    preview(client, CSV.encode())
    response = commit(client, slug="nynashamns-kommun")
    assert response.status_code == 302
    assert persons(other) == {} and persons(haninge) == {}


def test_the_commit_plans_again_and_refuses_a_changed_directory(haninge, editor, client):
    preview(client, CSV.encode())
    asa = make_person(haninge, "Åsa Öberg")  # someone adds Åsa meanwhile
    make_contact(asa, "+46701740605")
    db.session.commit()
    before = counts()
    response = commit(client)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "changed since the preview" in page and "Changed: 1" in page
    assert counts() == before
    assert commit(client).status_code == 302  # the new preview can be committed
    assert persons(haninge)["Åsa Öberg"].title == "Beredskapssamordnare"


def test_a_failing_write_leaves_nothing_behind(haninge, editor, client, monkeypatch):
    preview(client, CSV.encode())
    real = imports.apply_plan

    def fail_halfway(plan, actor, **options):
        real(plan, actor, **options)  # everything flushed...
        raise OperationalError("INSERT", {}, Exception("disk full"))  # ...then the disk fills

    monkeypatch.setattr(imports, "apply_plan", fail_halfway)
    before = counts()
    response = commit(client)
    assert response.status_code == 409
    assert "nothing was imported" in response.get_data(as_text=True)
    assert counts() == before


def test_viewers_and_other_editors_cannot_import(haninge, client, login_as):
    login_as(UserRole.VIEWER)
    assert client.get("/actors/haninge-kommun/import").status_code == 403
    assert preview(client, CSV.encode()).status_code == 403


def test_the_import_page_documents_the_columns(haninge, editor, client):
    page = client.get("/actors/haninge-kommun/import").get_data(as_text=True)
    assert "At most 2 MB and 5000 contacts." in page
    for column in ("name", "title", "mobile", "phone", "email", "notes", "namn", "mobil"):
        assert f"{column}" in page
    assert "Windows-1252" in page


def test_read_vcards_understands_types(app):
    text = vobject.vCard()
    text.add("fn").value = "A B"
    tel = text.add("tel")
    tel.value = "+46701740605"
    tel.type_param = ["CELL"]
    landline = text.add("tel")
    landline.value = "08-123 456 78"
    untyped = text.add("tel")
    untyped.value = "070-174 06 06"
    contacts = reading.read_vcards(text.serialize(), "SE")
    assert contacts[0].phones == [(ContactKind.MOBILE, "+46701740605"),
                                  (ContactKind.LANDLINE, "+46812345678"),
                                  (ContactKind.MOBILE, "+46701740606")]


def test_a_post_without_a_file_asks_for_one(haninge, editor, client):
    response = client.post("/actors/haninge-kommun/import", data={"csrf_token": token(client)})
    assert response.status_code == 422
    assert "Choose a file." in response.get_data(as_text=True)


# --- The waiting room is shared by every app server ------------------------------------


def test_a_preview_on_one_server_is_committed_on_another(haninge, editor, client, app,
                                                          _schema, tmp_path):
    from directory import create_app
    from tests.conftest import FreshContextClient, make_config

    # Two app servers on one database, each with a disk of its own (as the
    # old file store was configured); they share SECRET_KEY, as servers must.
    app.config["IMPORT_STORE_DIR"] = str(tmp_path / "server-one")
    other = create_app(make_config(_schema))
    other.config["SECRET_KEY"] = app.config["SECRET_KEY"]
    other.config["IMPORT_STORE_DIR"] = str(tmp_path / "server-two")
    other.test_client_class = FreshContextClient
    second = other.test_client()

    assert preview(client, CSV.encode()).status_code == 200
    second.set_cookie("session", client.get_cookie("session").value)
    response = commit(second)
    assert response.status_code == 302
    assert response.headers["Location"] == "/actors/haninge-kommun"
    assert set(persons(haninge)) == {"Åsa Öberg", "Nils Nilsson"}
    assert waiting() == 0


def test_only_the_uploader_may_commit_a_waiting_upload(haninge, client, app, login_as):
    first = login_as(UserRole.EDITOR, actors=[haninge])
    preview(client, CSV.encode())
    pending = db.session.scalar(select(PendingImport))
    assert pending.user_id == first.id and pending.actor_id == haninge.id
    client.post("/logout", data={"csrf_token": token(client)})
    login_as(UserRole.EDITOR, actors=[haninge])
    with client.session_transaction() as session:  # even with the id in hand
        session["import_upload"] = pending.id
    response = commit(client)
    assert response.headers["Location"] == "/actors/haninge-kommun/import"
    assert persons(haninge) == {}


def test_expired_uploads_cannot_be_committed_and_are_swept(haninge, editor, client):
    preview(client, CSV.encode())
    db.session.execute(update(PendingImport).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    response = commit(client)
    assert response.headers["Location"] == "/actors/haninge-kommun/import"
    assert persons(haninge) == {}
    preview(client, CSV.encode())  # the next upload sweeps the expired one away
    assert waiting() == 1


def test_the_import_limit_is_read_from_the_environment(monkeypatch):
    from config import Config

    monkeypatch.setenv("IMPORT_MAX_BYTES", "500000")
    monkeypatch.delenv("MAX_CONTENT_LENGTH", raising=False)
    config = Config()
    assert config.IMPORT_MAX_BYTES == 500_000
    assert config.MAX_CONTENT_LENGTH > config.IMPORT_MAX_BYTES
    monkeypatch.setenv("IMPORT_MAX_BYTES", "10000000")
    assert Config().MAX_CONTENT_LENGTH > 10_000_000  # a request can carry such a file
    monkeypatch.setenv("MAX_CONTENT_LENGTH", "1000000")
    with pytest.raises(RuntimeError, match="MAX_CONTENT_LENGTH"):
        Config()


def test_back_ups_do_not_carry_waiting_uploads(haninge, editor, client, tmp_path):
    from directory.operations import backup

    preview(client, CSV.encode())
    assert waiting() == 1
    path = tmp_path / "backup.json"
    backup.dump(path)
    assert "pending_import" not in json.loads(path.read_text())["tables"]
    assert "Beredskapssamordnare" not in path.read_text()  # not the file's content either


# --- What parsing a vCard may cost ---------------------------------------------------


def test_a_crafted_vcard_of_100_000_numbers_is_refused_before_parsing(haninge, editor, client):
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A B\r\n" + "TEL:070-174 06 05\r\n" * 20
    text = (card + "END:VCARD\r\n") * 4600  # 2 MB: took 8 s of CPU per preview
    page = rejected_page(client, text.encode(), status=422)
    assert "more than 20000 phone numbers and e-mail addresses" in page
    assert waiting() == 0


def test_a_vcard_of_endless_properties_is_refused(haninge, editor, client):
    text = ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A B\r\n" + "NOTE:x\r\n" * 45
            + "END:VCARD\r\n") * 2000
    page = rejected_page(client, text.encode(), status=422)
    assert "more than 60000 names, numbers, addresses and notes" in page


def test_a_card_with_too_many_numbers_or_lines_is_rejected_with_the_reason(
    haninge, editor, client
):
    text = ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:God Kort\r\nTEL:070-174 06 05\r\nEND:VCARD\r\n"
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Många\r\n" + "TEL:070-174 06 06\r\n" * 21
            + "END:VCARD\r\n"
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Lång\r\n" + "TITLE:x\r\n" * 51
            + "END:VCARD\r\n")
    page = preview(client, text.encode(), "x.vcf").get_data(as_text=True)
    assert "New: 1" in page and "Rejected: 2" in page
    assert "The card has more than 20 phone numbers and e-mail addresses." in page
    assert "The card is too long (more than 50 properties" in page


def test_properties_the_import_does_not_read_are_not_parsed(haninge, editor, client):
    photo = "PHOTO;ENCODING=b;TYPE=JPEG:" + "QUJD" * 20 + "\r\n" + " QUJD\r\n" * 5000
    text = ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Åsa Öberg\r\n" + photo
            + "X-BROKEN;;;:\r\n" * 200 + "TEL;TYPE=CELL:070-174 06 05\r\nEND:VCARD\r\n")
    page = preview(client, text.encode(), "x.vcf").get_data(as_text=True)
    assert "New: 1" in page and "Rejected: 0" in page


OUTLOOK_AND_GMAIL = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lindqvist;Per;;;\r\nFN:Lindqvist, Per\r\n"
    "TITLE:Chef, enhet 0\r\nNOTE:Jour udda veckor, helger\\, storhelger\r\n"
    "TEL;TYPE=CELL:070-174 06 51\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;James;;Mr.;Sr.\r\n"
    "FN:Mr. John Richter, James Doe Sr.\r\nTEL;TYPE=CELL:070-174 06 52\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nitem1.FN;CHARSET=UTF-8:Öberg\\, Åsa\r\n"
    "N:Öberg;Åsa;;;\r\nTEL:070-174 06 53\r\nEND:VCARD\r\n"
)


def test_names_titles_and_notes_are_read_whole_not_cut_at_a_comma():
    contacts = reading.read_vcards(OUTLOOK_AND_GMAIL, "SE")
    assert [c.name for c in contacts] == [
        "Per Lindqvist",  # Outlook's "Family, Given": N gives the spoken order
        "Mr. John Richter, James Doe Sr.",  # Gmail: FN as written, whole
        "Åsa Öberg",
    ]
    assert contacts[0].title == "Chef, enhet 0"
    assert contacts[0].notes == "Jour udda veckor, helger, storhelger"
    assert not any(c.problems for c in contacts)


# --- A number of someone with another name: a conflict, never a silent rename ----


def commit_with(client, choices: dict[int, str], slug="haninge-kommun"):
    data = {"csrf_token": token(client)}
    data.update({f"conflict-{number}": choice for number, choice in choices.items()})
    return client.post(f"/actors/{slug}/import/commit", data=data)


@pytest.fixture
def asa(haninge):
    person = make_person(haninge, "Åsa Öberg", title="Beredskapssamordnare")
    make_contact(person, "+46701740605")
    db.session.commit()
    return person


SUCCESSOR = "namn,titel,mobil\r\nGöran Ådahl,Säkerhetschef,070-174 06 05\r\n"


def test_a_number_of_someone_with_another_name_is_a_conflict_not_a_change(
        haninge, asa, editor, client):
    page = preview(client, SUCCESSOR.encode()).get_data(as_text=True)
    assert "Conflicts: 1" in page and "Changed: 0" in page
    assert "already in the directory as Åsa Öberg" in page
    for choice in imports.RESOLUTIONS:
        assert f'name="conflict-2" value="{choice}"' in page
    before = counts()
    # Committing without a choice writes nothing and asks again.
    response = commit(client)
    assert response.status_code == 422
    assert "Choose what to do with each conflict (2)" in response.get_data(as_text=True)
    response = commit_with(client, {2: "rename"})  # not one of the choices
    assert response.status_code == 422
    assert counts() == before
    assert set(persons(haninge)) == {"Åsa Öberg"}


def test_keep_leaves_the_person_as_is(haninge, asa, editor, client):
    preview(client, SUCCESSOR.encode())
    before = counts()
    assert commit_with(client, {2: "keep"}).status_code == 302
    assert counts() == before
    found = persons(haninge)
    assert set(found) == {"Åsa Öberg"} and found["Åsa Öberg"].title == "Beredskapssamordnare"


def test_replace_renames_the_person_who_keeps_the_number(haninge, asa, editor, client):
    preview(client, SUCCESSOR.encode())
    assert commit_with(client, {2: "replace"}).status_code == 302
    found = persons(haninge)
    assert set(found) == {"Göran Ådahl"}
    goran = found["Göran Ådahl"]
    assert goran.id == asa.id and goran.title == "Säkerhetschef"
    assert [p.value for p in goran.contact_points] == ["+46701740605"]


def test_add_as_new_makes_a_second_person_sharing_the_number(haninge, asa, editor, client):
    preview(client, SUCCESSOR.encode())
    assert commit_with(client, {2: "new"}).status_code == 302
    found = persons(haninge)
    assert set(found) == {"Åsa Öberg", "Göran Ådahl"}
    assert [p.value for p in found["Göran Ådahl"].contact_points] == ["+46701740605"]
    assert [p.value for p in found["Åsa Öberg"].contact_points] == ["+46701740605"]


def test_the_same_name_but_for_case_and_spacing_is_no_conflict(haninge, asa, editor, client):
    page = preview(client, b"namn,mobil,telefon\r\n\xc5SA  \xd6BERG,070-174 06 05,08-123 456 78\r\n"
                   ).get_data(as_text=True)
    assert "Conflicts: 0" in page and "Changed: 1" in page


def test_the_preview_shows_each_numbers_kind(haninge, editor, client):
    page = preview(client, CSV.encode()).get_data(as_text=True)
    assert "070-174 06 05</span> <span class=\"muted\">(Mobile)" in page
    assert "(Landline)" in page


def test_fax_pager_and_modem_numbers_are_never_made_callable(haninge, editor, client):
    """vCard 3.0 TYPE=fax, 2.1's bare PAGER and an iPhone label "modem": each left
    out with its kind named in the preview; the callable number stays."""
    card = (b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Per Lindqvist\r\n"
            b"TEL;TYPE=CELL:070-174 06 40\r\n"
            b"TEL;TYPE=WORK,FAX:08-174 06 41\r\n"
            b"TEL;PAGER:070-174 06 42\r\n"
            b"item1.TEL:08-174 06 43\r\nitem1.X-ABLabel:modem\r\n"
            b"END:VCARD\r\n")
    page = preview(client, card, "per.vcf").get_data(as_text=True)
    for kind, number in (("Fax", "08-174 06 41"), ("Pager", "070-174 06 42"),
                         ("Modem", "08-174 06 43")):
        assert f"{kind} {number} left out: it cannot be called." in page
    assert commit(client).status_code == 302
    person = db.session.scalar(select(Person).where(Person.name == "Per Lindqvist"))
    assert [(p.kind, p.value) for p in person.contact_points] == [
        (ContactKind.MOBILE, "+46701740640")]
