"""Reading contacts from the files people have, into `Incoming` contacts.

Each CSV line or vCard becomes one `Incoming` contact with its numbers and
e-mail addresses checked and normalised, or a reason it cannot be read;
a problem with the file as a whole (its size, its encoding, its form) is
an `ImportProblem`. Planning what the contacts would change, and writing
it, is `imports`' business; `restore` reads a whole export with the same
readers.

CSV: the first line names the columns, in English or Swedish, in any order
and case (see `COLUMNS`); a name (or first and last name) is required. Cells
are separated by `,`, `;` or tab, whichever the first line uses, and the file
is UTF-8 (with or without BOM), UTF-16 (Outlook's "Unicode") or
Windows-1252, as Excel in Swedish saves it. Google Contacts' export is read
too: its numbered `Phone 1 - Type` / `Phone 1 - Value` pairs (several
numbers in one cell are separated by ` ::: `).
vCard: 2.1 (Outlook desktop, Android: quoted-printable with soft line
breaks, CHARSET, bare TYPE words), 3.0 (iPhone's `itemN.` groups) and 4.0;
FN (or N), TITLE, TEL (CELL is a mobile, anything else a landline), EMAIL
and NOTE are read; the rest is left out. Fax, pager and modem numbers are
never made callable: they are left out, and the preview says so. An
extension (`;ext=12`, "ankn. 12", "x12") is kept as the number's label.
A card this app exported is read by its own `X-KONTAKTVAGAR-*` lines: a
person's paths keep their kind, mode, order, label, PIN and
confidentiality, and the cards of roles and of actors are left out (the
import adds persons; `restore` reads a whole export into an empty directory).
"""

import csv
import io
import quopri
import re
from dataclasses import dataclass, field

import phonenumbers
import vobject
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from directory.core.forms import KIND_LABELS
from directory.core.limits import MAX_PATH_ORDER, number_from_text
from directory.core.models import (
    Actor,
    ContactKind,
    PathMode,
)
from directory.core.numbers import PhoneNumberError, normalise_phone
from directory.core.text import FORMULA_STARTS, fold
from directory.phones.vcards import APP_ENTRY, APP_PATH, split_fields

MAX_CONTACTS = 5000
MAX_LENGTHS = {"name": 200, "title": 200, "notes": 5000, "email": 300}

# Column names as `fold()` leaves them, without spaces: "E-post" -> "epost".
COLUMNS = {
    "name": ("name", "namn", "fullname", "fullstandigtnamn", "displayname", "fn"),
    "given": ("firstname", "givenname", "fornamn"),
    "family": ("lastname", "familyname", "surname", "efternamn"),
    "title": ("title", "titel", "befattning", "jobtitle", "position",
              "organizationtitle", "organization1title"),
    "mobile": ("mobile", "mobil", "mobiltelefon", "mobilnummer", "cell", "mobilephone"),
    "phone": ("phone", "telefon", "telefonnummer", "arbete", "work", "workphone",
              "businessphone", "direkt", "landline", "arbetstelefon", "telefonarbete"),
    "fax": ("fax", "telefax", "arbetsfax", "businessfax", "faxarbete", "pager",
            "personsokare"),
    "email": ("email", "epost", "emailaddress", "epostadress", "mail", "mejl"),
    "notes": ("notes", "note", "anteckningar", "anteckning"),
}  # fmt: skip
# The columns of the app's own directory and actor CSV (`views`), read back here
# and by `restore`.
APP_CSV_COLUMNS = ["actor", "actor_slug", "owner_type", "owner", "title", "kind", "value",
                   "tel", "label", "pin", "mode", "pace", "confidential", "in_force"]
_COLUMN_OF = {alias: column for column, aliases in COLUMNS.items() for alias in aliases}
# Google Contacts: "Phone 1 - Type" and "Phone 1 - Value" (old), "- Label" (new), and
# "E-mail 1 - Value"; a cell may hold several values separated by " ::: ".
_NUMBERED = re.compile(r"^(?P<what>phone|email)(?P<n>\d+)(?P<part>type|label|value)$")
GOOGLE_SEPARATOR = " ::: "


def _column_of(name: str) -> str | None:
    key = fold(name).replace(" ", "")
    if key in _COLUMN_OF:
        return _COLUMN_OF[key]
    match = _NUMBERED.match(key)
    if match:
        part = "type" if match["part"] in ("type", "label") else "value"
        return f"{match['what']}{match['n']}-{part}"
    return None

# Control characters other than tab and line breaks: no contact has them.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
# A cell our own CSV export protected from spreadsheet formulas: `'=...`.
_PROTECTED = re.compile(r"^'[=+\-@\t\r]")


class ImportProblem(ValueError):
    """The whole file cannot be imported; the message says why."""


# --- Reading a file ------------------------------------------------------------


@dataclass
class Incoming:
    """One contact as the file gives it, cleaned, with its problems."""

    number: int  # line (CSV) or card (vCard) number
    name: str = ""
    title: str = ""
    notes: str = ""
    phones: list[tuple[ContactKind, str]] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    extensions: dict[str, str] = field(default_factory=dict)  # number -> extension
    skipped: list[str] = field(default_factory=list)  # what was left out, and why
    # From a card this app exported (X-KONTAKTVAGAR-*): paths no phone has a
    # field for, what each path was (by value), and a card of a role or actor.
    others: list[tuple[ContactKind, str]] = field(default_factory=list)
    attributes: dict[str, "AppPath"] = field(default_factory=dict)
    left_out: str = ""

    def keys(self) -> list[str]:
        """What identifies the contact: its numbers and folded e-mail addresses."""
        return [value for _kind, value in self.phones] + [e.casefold() for e in self.emails]


@dataclass(frozen=True)
class AppPath:
    """A path as this app exported it: what a phone's TEL line cannot say."""

    mode: PathMode
    priority: int
    confidential: bool
    label: str
    pin: str


def _utf16(data: bytes) -> str | None:
    """The text of a UTF-16 file (Outlook's and Excel's "Unicode"), else None."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        codec = "utf-16"
    elif len(data) >= 4 and data[1:4:2] == b"\x00\x00" and data[0:4:2] != b"\x00\x00":
        codec = "utf-16-le"  # no BOM: ASCII letters with a NUL after each
    elif len(data) >= 4 and data[0:4:2] == b"\x00\x00" and data[1:4:2] != b"\x00\x00":
        codec = "utf-16-be"
    else:
        return None
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def decode(data: bytes) -> tuple[str, str]:
    """The text of an upload and its encoding; ImportProblem when it is not text.

    Line ends are made plain: CR CR LF (a CRLF file passed through a tool
    that added a CR again) counts as one line end.
    """
    if not data.strip():
        raise ImportProblem(_("The file is empty."))
    text = _utf16(data)
    if text is not None:
        return _LINE_ENDS.sub("\r\n", text.lstrip("\ufeff")), "UTF-16"
    if b"\x00" in data:
        raise ImportProblem(_("This is not a text file: it contains binary data."))
    try:
        return _LINE_ENDS.sub("\r\n", data.decode("utf-8-sig")), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return _LINE_ENDS.sub("\r\n", data.decode("cp1252")), "Windows-1252"
    except UnicodeDecodeError:
        raise ImportProblem(
            _("The file is neither UTF-8, UTF-16 nor Windows-1252 text (as Excel saves it).")
        ) from None


_LINE_ENDS = re.compile(r"\r+\n")


def _text(contact: Incoming, value, what: str, limit: int, *, multiline=False) -> str:
    """A cleaned text value, or a problem noted on the contact."""
    value = str(value or "")
    if _PROTECTED.match(value):
        value = value[1:]
    if _CONTROLS.search(value):
        contact.problems.append(_("%(what)s contains control characters.", what=what))
        return ""
    if multiline:
        value = "\n".join(" ".join(line.split()) for line in value.splitlines()).strip()
    else:
        value = " ".join(value.split())
    if len(value) > limit:
        contact.problems.append(
            _("%(what)s is longer than %(limit)d characters.", what=what, limit=limit)
        )
        return ""
    return value


def _shorten(value: str, length: int = 40) -> str:
    return value if len(value) <= length else value[: length - 1] + "…"


# Kinds of number no one can call: left out, never stored as a phone.
NEVER_CALLABLE = {"fax": _l("Fax"), "pager": _l("Pager"), "modem": _l("Modem")}
# An extension after the number: ";ext=12" (tel: URI), "ankn. 12", "ext. 12", "x12".
_EXTENSION = re.compile(
    r"(?:;\s*ext\s*=\s*|[\s,]*(?:\b(?:ankn|anknytning|ext|extension)\b\.?|\bx)\s*)"
    r"(?P<ext>\d{1,8})\s*$", re.IGNORECASE)


def _skip(contact: Incoming, raw, what: str) -> None:
    """Note a number left out because it cannot be called (fax, pager, modem)."""
    raw = " ".join(str(raw or "").split())
    if raw:
        contact.skipped.append(_("%(what)s %(number)s left out: it cannot be called.",
                                 what=what, number=_shorten(raw)))


def _add_phone(contact: Incoming, raw, kind: ContactKind, what: str, region: str,
               *, guess: bool = False) -> None:
    """Add a number of this kind; `guess` takes a mobile number for a mobile."""
    raw = _text(contact, raw, what, 300)
    if raw.lower().startswith("tel:"):
        raw = raw[4:]
    extension = ""
    match = _EXTENSION.search(raw)
    if match:
        extension, raw = match["ext"], raw[:match.start()]
    raw = raw.split(";", 1)[0].strip()
    if not raw:
        return
    try:
        value = normalise_phone(raw, region)
    except PhoneNumberError as error:
        contact.problems.append(f"{what} “{_shorten(raw)}”: {error}")
        return
    if guess and _is_mobile(value):
        kind = ContactKind.MOBILE
    if value not in [v for _k, v in contact.phones]:
        contact.phones.append((kind, value))
        if extension:
            contact.extensions[value] = extension


def _is_mobile(value: str) -> bool:
    if value.isdigit():  # a short number
        return False
    number_type = phonenumbers.number_type(phonenumbers.parse(value, None))
    return number_type == phonenumbers.PhoneNumberType.MOBILE


def _add_email(contact: Incoming, raw, what: str) -> None:
    raw = _text(contact, raw, what, MAX_LENGTHS["email"])
    if raw.lower().startswith("mailto:"):
        raw = raw[7:]
    if not raw:
        return
    try:
        value = validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError:
        contact.problems.append(f"{what} “{_shorten(raw)}”: " + _("not a valid e-mail address."))
        return
    if value.casefold() not in [e.casefold() for e in contact.emails]:
        contact.emails.append(value)


def _finish(contact: Incoming, raw_name) -> Incoming:
    if not str(raw_name or "").strip():
        contact.problems.append(_("There is no name."))
    return contact


def unprotected(cell: str) -> str:
    """A cell as it was before an export protected it from spreadsheets (`'=...`)."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def csv_reader(text: str):
    """A CSV reader whose cells are separated by `,`, `;` or tab, whichever the
    first line uses most."""
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def is_app_csv(header: list[str]) -> bool:
    """Whether a CSV's first line is the one of the app's own directory or actor CSV."""
    return [unprotected(name).strip() for name in header] == APP_CSV_COLUMNS


def app_csv_rows(reader):
    """(line number, cells by column (unprotected), number of cells) for each line of
    the app's own CSV after its first; the cells are None on a line with another
    number of them. Blank lines are passed over."""
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        row = None
        if len(cells) == len(APP_CSV_COLUMNS):
            row = dict(zip(APP_CSV_COLUMNS, map(unprotected, cells), strict=True))
        yield reader.line_num, row, len(cells)


def exported_value(row: dict) -> str:
    """A path's value in the app's CSV: the number of its `tel:` link, or the value."""
    return row["tel"].removeprefix("tel:") if row["tel"] else row["value"]


def _read_app_csv(reader, actor: Actor | None, region: str) -> list[Incoming]:
    """The app's own directory or actor CSV: one contact per person of `actor`
    (its lines grouped by name and title), each path as it was exported; the
    lines of roles, of the actor itself and of other actors are marked left out."""
    contacts: dict[tuple, Incoming] = {}
    left_out: dict[tuple, Incoming] = {}
    for number, row, width in app_csv_rows(reader):
        if row is None:
            contact = Incoming(number, problems=[_(
                "The line has %(cells)d cells but the first line names %(columns)d columns.",
                cells=width, columns=len(APP_CSV_COLUMNS))])  # fmt: skip
            contacts[("line", number)] = contact
            continue
        ours = actor is None or actor.slug == row["actor_slug"] or actor.name == row["actor"]
        key = (row["actor_slug"], row["owner_type"], row["owner"], row["title"])
        if row["owner_type"] != "person" or not ours:
            left_out.setdefault(key, Incoming(number, name=row["owner"],
                                              left_out=row["owner_type"]))
            continue
        if key not in contacts:
            if len(contacts) >= MAX_CONTACTS:
                raise ImportProblem(_(
                    "The file has more than %(max)d contacts; split it into smaller files.",
                    max=MAX_CONTACTS))  # fmt: skip
            contact = Incoming(number)
            contact.name = _text(contact, row["owner"], _("Name"), MAX_LENGTHS["name"])
            contact.title = _text(contact, row["title"], _("Title"), MAX_LENGTHS["title"])
            contacts[key] = _finish(contact, row["owner"])
        confidential = {"yes": "1", "no": "0"}.get(row["confidential"], "?")
        _add_app_path(contacts[key], [row["kind"], row["mode"], row["pace"], confidential,
                                      row["label"], row["pin"], exported_value(row)], region)
    return [*contacts.values(), *left_out.values()]


def read_csv(text: str, region: str, actor: Actor | None = None
             ) -> tuple[list[Incoming], list[str]]:
    """The contacts of a CSV text, and the columns left out (unknown names)."""
    reader = csv_reader(text)
    contacts: list[Incoming] = []
    try:
        header = next(reader, [])
        if is_app_csv(header):
            return _read_app_csv(reader, actor, region), []
        columns = [_column_of(name) for name in header]
        if "name" not in columns and not {"given", "family"} & set(columns):
            raise ImportProblem(_(
                "The first line must name the columns, one of them the name "
                "(name or namn; or first name and last name)."
            ))  # fmt: skip
        ignored = [name for name, column in zip(header, columns, strict=True)
                   if column is None and name.strip()]  # fmt: skip
        line = reader.line_num
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(contacts) >= MAX_CONTACTS:
                raise ImportProblem(_(
                    "The file has more than %(max)d contacts; split it into smaller files.",
                    max=MAX_CONTACTS,
                ))  # fmt: skip
            contact = Incoming(start)
            if len(cells) > len(header):
                contact.problems.append(_(
                    "The line has %(cells)d cells but the first line names %(columns)d "
                    "columns.", cells=len(cells), columns=len(header),
                ))  # fmt: skip
            values: dict[str, str] = {}
            for column, cell in zip(columns, cells, strict=False):
                if column is not None and cell.strip():
                    values.setdefault(column, cell)
            name = _fill_from_columns(contact, values, region)
            contacts.append(_finish(contact, name))
    except csv.Error as error:
        raise ImportProblem(
            _("Line %(line)d cannot be read: %(reason)s.", line=reader.line_num, reason=error)
        ) from None
    return contacts, ignored


def _fill_from_columns(contact: Incoming, values: dict[str, str], region: str) -> str:
    """Fill a contact from a line's cells by column; returns the name as given."""
    name = values.get("name") or " ".join(
        v for v in (values.get("given"), values.get("family")) if v
    )
    contact.name = _text(contact, name, _("Name"), MAX_LENGTHS["name"])
    contact.title = _text(contact, values.get("title"), _("Title"), MAX_LENGTHS["title"])
    contact.notes = _text(contact, values.get("notes"), _("Notes"), MAX_LENGTHS["notes"],
                          multiline=True)
    _add_phone(contact, values.get("mobile"), ContactKind.MOBILE, _("Mobile"), region)
    _add_phone(contact, values.get("phone"), ContactKind.LANDLINE, _("Phone"), region)
    _skip(contact, values.get("fax"), _("Fax or pager"))
    _add_email(contact, values.get("email"), _("E-mail"))
    numbered = sorted({int(re.sub(r"\D", "", c.split("-")[0])) for c in values
                       if c.startswith(("phone", "email")) and "-" in c})  # fmt: skip
    for n in numbered:
        for raw in values.get(f"phone{n}-value", "").split(GOOGLE_SEPARATOR):
            kind_word = fold(values.get(f"phone{n}-type", ""))
            if any(word in kind_word for word in NEVER_CALLABLE):
                _skip(contact, raw, values.get(f"phone{n}-type", "").strip(" *"))
            elif "mobile" in kind_word or "mobil" in kind_word or "cell" in kind_word:
                _add_phone(contact, raw, ContactKind.MOBILE, _("Mobile"), region)
            else:
                _add_phone(contact, raw, ContactKind.LANDLINE, _("Phone"), region,
                           guess=not kind_word)
        for raw in values.get(f"email{n}-value", "").split(GOOGLE_SEPARATOR):
            _add_email(contact, raw, _("E-mail"))
    return name


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


# What parsing a vCard may cost. vobject takes some 20 µs a property line and
# a phone number another 60 µs to check, so a crafted 2 MB file of 100 000
# numbers took 8 s of CPU per preview. Lines of properties the import does not
# read (PHOTO, ADR, X-...) are dropped before vobject sees them; what is left
# is bounded per card and per file, each with a message saying which bound.
READ_PROPERTIES = frozenset({"BEGIN", "END", "VERSION", "FN", "N", "TITLE", "TEL", "EMAIL",
                             "NOTE", "X-ABLABEL", APP_ENTRY, APP_PATH})  # fmt: skip
MAX_CARD_VALUES = 20  # phone numbers and e-mail addresses in one card
MAX_FILE_VALUES = 20_000  # ... in one file (4 for each of MAX_CONTACTS)
MAX_CARD_PROPERTIES = 50  # properties read in one card (folded lines are cheap)
MAX_FILE_PROPERTIES = 60_000  # ... in one file (12 for each of MAX_CONTACTS)
MAX_CARD_CHARS = 20_000  # characters of read properties in one card
_PROPERTY_NAME = re.compile(r"^(?:[A-Za-z0-9-]+\.)?([A-Za-z0-9-]+)[;:]")


@dataclass
class _CardLines:
    """The lines of one card being read, and what they cost."""

    start: int
    lines: list[str] = field(default_factory=list)
    values: int = 0
    properties: int = 0
    chars: int = 0
    keeping: bool = True  # whether the last property is one the import reads
    read: frozenset = READ_PROPERTIES
    valued: frozenset = frozenset({"TEL", "EMAIL"})  # what MAX_CARD_VALUES counts

    def add(self, line: str) -> None:
        if line[:1] in (" ", "\t"):  # a folded continuation of the last property
            if not self.keeping:
                return
        else:
            match = _PROPERTY_NAME.match(line)
            name = match.group(1).upper() if match else None
            # A line that is no property at all is kept: vobject names the problem.
            self.keeping = name is None or name in self.read
            if not self.keeping:
                return
            self.properties += 1
            if name in self.valued:
                self.values += 1
        self.chars += len(line)
        if self.properties <= MAX_CARD_PROPERTIES and self.chars <= MAX_CARD_CHARS:
            self.lines.append(line)

    def problem(self) -> str:
        if self.values > MAX_CARD_VALUES:
            return _("The card has more than %(max)d phone numbers and e-mail addresses.",
                     max=MAX_CARD_VALUES)
        if self.properties > MAX_CARD_PROPERTIES or self.chars > MAX_CARD_CHARS:
            return _("The card is too long (more than %(lines)d properties or %(chars)d "
                     "characters).", lines=MAX_CARD_PROPERTIES, chars=MAX_CARD_CHARS)
        return ""


_QP_LINE = re.compile(r"^[^:]*QUOTED-PRINTABLE[^:]*:", re.IGNORECASE)


def _soft_joined(lines: list[str]):
    """(line number, line) with vCard 2.1's quoted-printable soft line breaks
    (a value line ending in `=`, continued on the next line) joined up."""
    lines = iter(enumerate(lines, start=1))
    for number, line in lines:
        if _QP_LINE.match(line):
            while line.endswith("="):
                following = next(lines, None)
                if following is None:
                    break
                line = line[:-1] + following[1]
        yield number, line


def split_cards(text: str, read: frozenset = READ_PROPERTIES,
                valued: frozenset = frozenset({"TEL", "EMAIL"}), *, bounded: bool = True
                ) -> list[tuple[int, str | None, str]]:
    """(card number, card text or None, problem) for each BEGIN:VCARD ... END:VCARD.

    The text holds only the properties the import reads (`read`); a card over the
    bounds above comes with its problem instead, and a file over them is
    refused (ImportProblem) before anything is parsed. Not `bounded`: no
    bound per file (a whole region's export read back by a coordinator's
    command, never an upload); each card's bounds still hold.
    """
    cards: list[tuple[int, str | None, str]] = []
    current: _CardLines | None = None
    values = properties = 0

    for number, line in _soft_joined(_LINE_BREAK.split(text)):
        if current is not None and not line.strip():
            continue  # a blank line inside a card (CR CR LF, hand-made files)
        marker = line.strip().upper() if not line[:1].isspace() else ""
        if current is None:
            if not line.strip():
                continue
            if marker != "BEGIN:VCARD":
                raise ImportProblem(_(
                    "Line %(line)d is outside any card (a card begins with BEGIN:VCARD).",
                    line=number,
                ))  # fmt: skip
            current = _CardLines(number, read=read, valued=valued)
            current.add(line)
            continue
        if marker == "BEGIN:VCARD":
            cards.append((len(cards) + 1, None, _(
                "The card beginning on line %(line)d has no END:VCARD.", line=current.start)))
            current = _CardLines(number, read=read, valued=valued)
            current.add(line)
            continue
        current.add(line)
        if bounded and values + current.values > MAX_FILE_VALUES:
            raise ImportProblem(_(
                "The file has more than %(max)d phone numbers and e-mail addresses; "
                "split it into smaller files.", max=MAX_FILE_VALUES,
            ))  # fmt: skip
        if bounded and properties + current.properties > MAX_FILE_PROPERTIES:
            raise ImportProblem(_(
                "The file has more than %(max)d names, numbers, addresses and notes; "
                "split it into smaller files.", max=MAX_FILE_PROPERTIES,
            ))  # fmt: skip
        if marker == "END:VCARD":
            values += current.values
            properties += current.properties
            problem = current.problem()
            card_text = None if problem else "\r\n".join(current.lines) + "\r\n"
            cards.append((len(cards) + 1, card_text, problem))
            current = None
        if bounded and len(cards) > MAX_CONTACTS:
            raise ImportProblem(_(
                "The file has more than %(max)d contacts; split it into smaller files.",
                max=MAX_CONTACTS,
            ))  # fmt: skip
    if current is not None:
        cards.append((len(cards) + 1, None,
                      _("The card beginning on line %(line)d has no END:VCARD.",
                        line=current.start)))  # fmt: skip
    return cards


def _values(component, name: str) -> list:
    return component.contents.get(name, [])


def _first(component, name: str):
    found = _values(component, name)
    return found[0].value if found else None


_CONTENT_LINE = re.compile(
    r'(?:[A-Za-z0-9-]+\.)?(?P<name>[A-Za-z0-9-]+)(?P<params>(?:;(?:[^:;"]|"[^"]*")*)*):(?P<value>.*)')


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def _whole_text(card_text: str, card, name: str) -> str | None:
    """A text property's whole value. vobject splits vCard 3.0 text at every
    unescaped comma and keeps the first piece ("Lindqvist, Per" -> "Lindqvist"),
    but Outlook and Gmail write such commas unescaped in FN, TITLE and NOTE:
    read the line itself (unfolded), unless it is encoded (vCard 2.1)."""
    unfolded = re.sub(r"\r?\n[ \t]", "", card_text)
    for line in unfolded.splitlines():
        match = _CONTENT_LINE.fullmatch(line)
        if match and match["name"].lower() == name:
            if "ENCODING" in match["params"].upper() or "QUOTED" in match["params"].upper():
                break
            return _unescape(match["value"])
    return _first(card, name)


def _personal_name(fn: str | None, card) -> str | None:
    """FN as written, except "Family, Given" (Outlook's "file as"): then N
    gives the name in the order people say it."""
    if not _values(card, "n"):
        return fn
    n = card.n.value
    given, family = str(n.given or "").strip(), str(n.family or "").strip()
    if not fn:
        return " ".join(part for part in (given, family) if part)
    if given and family and fn.replace(" ", "") == f"{family},{given}".replace(" ", ""):
        return f"{given} {family}"
    return fn


def _types(line) -> set[str]:
    """TYPE=work,fax and vCard 2.1's bare words (TEL;WORK;FAX:), lower-cased."""
    words = [*line.params.get("TYPE", []), *getattr(line, "singletonparams", [])]
    return {t.strip().lower() for value in words for t in value.split(",")}


_LINE_PARTS = re.compile(
    r'(?P<head>(?:[A-Za-z0-9-]+\.)?(?P<name>[A-Za-z0-9-]+))'
    r'(?P<params>(?:;(?:[^:;"]|"[^"]*")*)*):(?P<value>.*)', re.DOTALL)
_CODECS = {"UTF-8": "utf-8", "Windows-1252": "cp1252", "UTF-16": "utf-8"}


def _plain_line(line: str, file_encoding: str) -> str:
    """A vCard 2.1 line as 3.0 writes it: quoted-printable decoded in its
    CHARSET (UTF-8 when none is named; Windows-1252 when that fails), the
    ENCODING and CHARSET parameters gone."""
    match = _LINE_PARTS.fullmatch(line)
    if not match:
        return line
    params = [p for p in match["params"].split(";") if p]
    upper = [p.upper() for p in params]
    if not any(p.startswith(("CHARSET=", "ENCODING=")) or p == "QUOTED-PRINTABLE"
               for p in upper):  # fmt: skip
        return line
    charset = next((p.split("=", 1)[1].strip('"') for p in params
                    if p.upper().startswith("CHARSET=")), None)  # fmt: skip
    kept = [p for p, u in zip(params, upper, strict=True)
            if not u.startswith(("CHARSET=", "ENCODING=")) and u != "QUOTED-PRINTABLE"]
    value = match["value"]
    if "QUOTED-PRINTABLE" in upper or "ENCODING=QUOTED-PRINTABLE" in upper:
        raw = quopri.decodestring(value.encode(_CODECS[file_encoding], errors="replace"))
        try:
            value = raw.decode(charset or "utf-8")
        except (UnicodeDecodeError, LookupError):
            value = raw.decode("cp1252", errors="replace")
        value = value.replace("\\", "\\\\").replace("\r\n", "\n").replace("\n", "\\n")
    return match["head"] + "".join(f";{p}" for p in kept) + ":" + value


def _plain_card(card_text: str, file_encoding: str) -> str:
    unfolded = re.sub(r"\r?\n[ \t]", "", card_text)
    return "".join(_plain_line(line, file_encoding) + "\r\n" for line in unfolded.splitlines())


def _add_app_path(contact: Incoming, fields: list[str], region: str) -> None:
    """A path as the app exported it: kind, mode, order, confidential ("0"/"1"),
    label, PIN and value, kept with it (`attributes`) for the commit."""
    order = number_from_text(fields[2], MAX_PATH_ORDER) if len(fields) == 7 else None
    if not order or fields[3] not in ("0", "1"):
        contact.problems.append(_("A %(line)s line is not as Kontaktvägar writes it.",
                                  line=APP_PATH))
        return
    kind, mode, _order, confidential, label, pin, raw = fields
    try:
        kind, mode = ContactKind(kind), PathMode(mode)
    except ValueError:
        contact.problems.append(_("A %(line)s line is not as Kontaktvägar writes it.",
                                  line=APP_PATH))
        return
    label = _text(contact, label, _("Label"), 200)
    pin = _text(contact, pin, _("PIN"), 40)
    if kind.is_phone:
        _add_phone(contact, raw, kind, _("Phone"), region)
        added = contact.phones[-1][1] if contact.phones else None
    elif kind is ContactKind.EMAIL:
        _add_email(contact, raw, _("E-mail"))
        added = contact.emails[-1].casefold() if contact.emails else None
    else:
        raw = _text(contact, raw, str(KIND_LABELS.get(kind, kind.value)), 300)
        if raw and raw not in [v for _k, v in contact.others]:
            contact.others.append((kind, raw))
        added = raw or None
    if added and added not in contact.attributes:
        contact.attributes[added] = AppPath(mode, order, confidential == "1", label, pin)


def card_properties(card_text: str) -> dict[str, list[str]]:
    """A card's raw values (unfolded, not unescaped) by upper-case property name."""
    found: dict[str, list[str]] = {}
    for line in re.sub(r"\r?\n[ \t]", "", card_text).splitlines():
        match = _CONTENT_LINE.fullmatch(line)
        if match:
            found.setdefault(match["name"].upper(), []).append(match["value"])
    return found


def _read_app_paths(contact: Incoming, card_text: str, region: str) -> bool:
    """A card this app exported: its entry and paths as the app wrote them
    (kind, mode, order, confidentiality, label, PIN), not as TEL lines say.
    Roles' and actors' cards are marked `left_out` (the import adds persons).
    False for any other card."""
    properties = card_properties(card_text)
    entries = properties.get(APP_ENTRY, [])
    if len(entries) != 1:
        return False
    entry = split_fields(entries[0])
    if entry[0] in ("role", "actor"):
        contact.left_out = entry[0]
        return True
    for value in properties.get(APP_PATH, []):
        _add_app_path(contact, split_fields(value), region)
    return True


def read_vcards(text: str, region: str, encoding: str = "UTF-8") -> list[Incoming]:
    """The contacts of a vCard file (2.1, 3.0 or 4.0), one per card."""
    contacts = []
    for number, card_text, problem in split_cards(text):
        contact = Incoming(number)
        contacts.append(contact)
        if card_text is None:
            contact.problems.append(problem)
            continue
        try:
            card_text = _plain_card(card_text, encoding)
            card = vobject.readOne(card_text)
            name = _personal_name(_whole_text(card_text, card, "fn"), card)
            contact.name = _text(contact, name, _("Name"), MAX_LENGTHS["name"])
            contact.title = _text(contact, _whole_text(card_text, card, "title"), _("Title"),
                                  MAX_LENGTHS["title"])
            if _read_app_paths(contact, card_text, region):
                _finish(contact, name)
                continue
            contact.notes = _text(contact, _whole_text(card_text, card, "note"), _("Notes"),
                                  MAX_LENGTHS["notes"], multiline=True)
            labels = {line.group.lower(): str(line.value).lower()
                      for line in _values(card, "x-ablabel") if line.group}  # fmt: skip
            for tel in _values(card, "tel"):
                types = _types(tel) - {"pref", "voice", "internet"}
                label = labels.get((tel.group or "").lower(), "")
                never = next((w for w in NEVER_CALLABLE if w in types or w in label), None)
                if never:
                    _skip(contact, tel.value, str(NEVER_CALLABLE[never]))
                    continue
                mobile = {"cell", "iphone"} & types or "mobil" in label
                kind = ContactKind.MOBILE if mobile else ContactKind.LANDLINE
                _add_phone(contact, tel.value, kind, _("Phone"), region, guess=not types)
            for email in _values(card, "email"):
                _add_email(contact, email.value, _("E-mail"))
        except Exception:  # vobject raises many kinds: a report, never a 500
            contact.problems.append(_unreadable(card_text))
            continue
        _finish(contact, name)
    return contacts


def _unreadable(card_text: str) -> str:
    """What a person can do about a card vobject cannot parse, in words, with
    the line it stopped at (not the parser's own message)."""
    odd = next((line for line in card_text.splitlines()
                if line.strip() and not _LINE_PARTS.fullmatch(line)), None)  # fmt: skip
    if odd is not None:
        return _("The card cannot be read: the line “%(line)s” is not a vCard property "
                 "(NAME:value).", line=_shorten(odd, 60))
    return _("The card cannot be read: it is not a well-formed vCard (3.0, 4.0 or 2.1).")
