"""Files as real clients write them, imported with the exact names, titles,
numbers and kinds expected (#15 items 3 and 4).

`tests/data/` holds one file per client, written after each one's published
format: Outlook desktop's vCard 2.1 (quoted-printable with soft line breaks,
Windows-1252 named and unnamed), Android's 2.1 (UTF-8 quoted-printable),
iPhone's 3.0 (`itemN.` groups with X-ABLabel), Gmail's 3.0 (commas unescaped),
RFC 6350's 4.0 (tel: URIs with ;ext=), Outlook's "Unicode" save (UTF-16), Lotus
Notes (PROFILE, NAME, SOURCE; CR CR LF line ends), Excel in Swedish (CSV,
semicolons, Windows-1252) and Google Contacts' CSV. Fax, pager and modem
numbers are never imported as callable numbers: the preview names them.
"""

from pathlib import Path

import pytest

from directory.core.models import ContactKind
from directory.phones import imports

DATA = Path(__file__).parent / "data"
M, L = ContactKind.MOBILE, ContactKind.LANDLINE

# file: (encoding, [(name, title, [(kind, number, extension)], emails,
#                   [(the preview's word, number left out)])])
EXPECTED = {
    "outlook-2.1-qp-cp1252.vcf": ("Windows-1252", [
        ("Per Lindqvist", "Chef, enhet 0",
         [(L, "+46701740621", "312"), (M, "+46701740622", "")],
         ["per.lindqvist@example.org"], [("Fax", "070-174 06 23")]),
        ("Åsa Öberg", "Beredskapssamordnare, säkerhet och beredskap",
         [(M, "+46701740624", "")], [], [("Pager", "070-174 06 25")]),
    ]),
    "android-2.1.vcf": ("UTF-8", [
        ("Göran Ådahl", "Insatsledare, Räddningstjänsten Syd och Nord",
         [(M, "+46701740626", ""), (L, "+46701740627", "")],
         ["goran.adahl@example.org"], [("Fax", "070-174 06 28")]),
        ("Nils Nilsson", "", [(M, "+46701740629", "")], [], []),
    ]),
    "iphone-3.0.vcf": ("UTF-8", [
        ("Karin Sjöström", "Vakthavande befäl",
         [(M, "+46701740630", ""), (M, "+46701740631", ""), (L, "+46701740632", "")],
         ["karin.sjostrom@example.org"], [("Pager", "070-174 06 33"), ("Fax", "070-174 06 34")]),
    ]),
    "gmail-3.0.vcf": ("UTF-8", [
        ("Mr. John Richter, James Doe Sr.", "Tjänsteman i beredskap",
         [(M, "+46701740635", ""), (L, "+46701740636", "44")],
         ["james.doe@example.org"], [("Fax", "+46 70 174 06 37")]),
    ]),
    "vcard-4.0.vcf": ("UTF-8", [
        ("Lena Håkansson", "Kommunikatör",
         [(M, "+46701740638", ""), (L, "+46701740639", "204")],
         ["lena.hakansson@example.org"],
         [("Fax", "tel:+46-70-174-06-40"), ("Pager", "tel:+46-70-174-06-41")]),
    ]),
    "outlook-unicode-utf16.vcf": ("UTF-16", [
        ("Mikael Bergström", "Driftchef, IT",
         [(L, "+46701740642", ""), (M, "+46701740643", "")], [], [("Fax", "070-174 06 44")]),
    ]),
    "lotus-notes.vcf": ("UTF-8", [
        ("Jonas Lindahl", "Samordnare",
         [(L, "+46701740645", ""), (M, "+46701740646", "")], [], []),
    ]),
    "excel-sv.csv": ("Windows-1252", [
        ("Ulla Ström", "Räddningschef",
         [(M, "+46701740647", ""), (L, "+46701740648", "5")],
         ["ulla.strom@example.org"], [("Fax or pager", "070-174 06 49")]),
        ("Örjan Ek", "Säkerhetssamordnare, kommun", [(M, "+46701740650", "")],
         ["orjan.ek@example.org"], []),
    ]),
    "google-contacts.csv": ("UTF-8", [
        ("Maria Berg", "Chefläkare",
         [(M, "+46701740651", ""), (M, "+46701740652", ""), (L, "+46701740653", "7")],
         ["maria.berg@example.org"], [("Work Fax", "070-174 06 54")]),
        ("Anders Holm", "Vakthavande, larmcentral", [(L, "+46701740656", "")], [],
         [("Pager", "070-174 06 55")]),
    ]),
}


def test_the_corpus_holds_a_file_of_each_client():
    assert sorted(p.name for p in DATA.iterdir() if not p.name.startswith(".")) == sorted(EXPECTED)


@pytest.mark.parametrize("filename", sorted(EXPECTED))
def test_each_clients_file_imports_exactly(app, filename):
    encoding, contacts = EXPECTED[filename]
    plan = imports.read_file((DATA / filename).read_bytes(), "SE")
    assert plan.encoding == encoding
    assert not plan.rejected, [(r.incoming.number, r.reasons) for r in plan.rejected]
    found = [(c.name, c.title,
              [(kind, value, c.extensions.get(value, "")) for kind, value in c.phones],
              c.emails, c.skipped)
             for c in (row.incoming for row in plan.rows)]  # fmt: skip
    wanted = [(name, title, phones, emails,
               [f"{what} {number} left out: it cannot be called." for what, number in left])
              for name, title, phones, emails, left in contacts]  # fmt: skip
    assert found == wanted



def test_quoted_printable_notes_keep_their_line_breaks_and_letters(app):
    plan = imports.read_file((DATA / "outlook-2.1-qp-cp1252.vcf").read_bytes(), "SE")
    assert plan.rows[0].incoming.notes == (
        "Ansvarar för krisledning,\nbemanning och återställning efter större händelser "
        "i kommunen och i regionen.")


def test_a_card_that_cannot_be_read_is_explained_not_quoted_from_the_parser(app):
    broken = (b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Per Lindqvist\r\n=0A\r\n"
              b"TEL;CELL:070-174 06 22\r\nEND:VCARD\r\n")
    plan = imports.read_file(broken, "SE")
    [reason] = plan.rows[0].reasons
    assert reason == ("The card cannot be read: the line “=0A” is not a vCard property "
                      "(NAME:value).")
    assert "Failed to parse" not in reason


def test_a_utf16_file_without_bom_is_read_too(app):
    text = (DATA / "outlook-unicode-utf16.vcf").read_bytes().decode("utf-16")
    plan = imports.read_file(text.encode("utf-16-le"), "SE")
    assert plan.encoding == "UTF-16" and plan.rows[0].incoming.name == "Mikael Bergström"


def test_imported_extensions_become_labels_and_fax_numbers_are_never_stored(
        app, client, login_as):
    import io
    import re

    from sqlalchemy import select

    from directory.core.extensions import db
    from directory.core.models import ContactPoint, Person, UserRole
    from tests.conftest import make_actor

    actor = make_actor("Haninge kommun")
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[actor])
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                      client.get("/").get_data(as_text=True)).group(1)
    page = client.post("/actors/haninge-kommun/import", data={
        "file": (io.BytesIO((DATA / "excel-sv.csv").read_bytes()), "excel-sv.csv"),
        "csrf_token": token}, content_type="multipart/form-data").get_data(as_text=True)
    assert "070-174 06 48</span> ext. 5 <span class=\"muted\">(Landline)" in page
    assert "Fax or pager 070-174 06 49 left out: it cannot be called." in page
    assert client.post("/actors/haninge-kommun/import/commit",
                       data={"csrf_token": token}).status_code == 302
    ulla = db.session.scalar(select(Person).where(Person.name == "Ulla Ström"))
    assert {(p.kind, p.value, p.label) for p in ulla.contact_points if p.kind.is_phone} == {
        (M, "+46701740647", ""), (L, "+46701740648", "ext. 5")}
    assert db.session.scalar(select(ContactPoint).where(
        ContactPoint.value == "+46701740649")) is None


def test_an_8_bit_windows_1252_card_without_a_charset_is_read(client, login_as):
    """Older Outlook and Nokia exports: vCard 2.1 in the Windows code page with no
    CHARSET parameter at all (issue 15, item 3)."""
    from directory.phones.imports import read_file

    card = ("BEGIN:VCARD\r\nVERSION:2.1\r\nN:Öberg;Åsa\r\nFN:Åsa Öberg\r\n"
            "TITLE:Säkerhetssamordnare – Räddning\r\nTEL;CELL:070-174 06 51\r\n"
            "END:VCARD\r\n").encode("cp1252")
    plan = read_file(card, "SE")
    assert plan.encoding == "Windows-1252"
    (row,) = plan.rows
    assert (row.incoming.name, row.incoming.title, row.incoming.phones) == (
        "Åsa Öberg", "Säkerhetssamordnare – Räddning", [(M, "+46701740651")])
