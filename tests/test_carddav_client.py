"""A real CardDAV client (vdirsyncer) syncs every address book over HTTP.

The app is served by werkzeug on 127.0.0.1 (as the browser tests do), on
this run's database (SQLite, or PostgreSQL with TEST_DATABASE_URL); vdirsyncer
runs as its own process, discovers the books from the server and copies them
into a local folder. Its log names each card it fetches, so "exactly the
changed cards" is read from what it did, not from what we think it did.
"""

import os
import re
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from directory.accounts.devices import create_device_password, revoke_device
from directory.calltrees.rules import add_node
from directory.core.extensions import db
from directory.core.models import CallTree, Mode, PathMode
from directory.core.modes import switch_mode
from directory.phones import card_exports, vcards
from tests.conftest import make_actor, make_contact, make_person, make_role, make_user

VDIRSYNCER = str(Path(sys.executable).parent / "vdirsyncer")
UPDATED = re.compile(r"Copying \(updating\) item (\S+) to (\S+)")
UPLOADED = re.compile(r"Copying \(uploading\) item (\S+) to (\S+)")


@pytest.fixture
def served(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


class Client:
    """vdirsyncer with a config of its own: every book of one account, into `local`."""

    def __init__(self, folder: Path, url: str, username: str, password: str):
        self.local = folder / "contacts"
        self.local.mkdir()
        self.config = folder / "config"
        self.config.write_text(
            "[general]\n"
            f'status_path = "{folder / "status"}"\n\n'
            "[pair kontaktvagar]\n"
            'a = "server"\nb = "phone"\ncollections = ["from a"]\n'
            'conflict_resolution = "a wins"\n\n'
            "[storage server]\n"
            'type = "carddav"\n'
            f'url = "{url}/dav/"\n'
            f'username = "{username}"\npassword = "{password}"\n'
            "read_only = true\n\n"
            "[storage phone]\n"
            'type = "filesystem"\n'
            f'path = "{self.local}/"\nfileext = ".vcf"\n'
        )

    def run(self, *args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "VDIRSYNCER_CONFIG": str(self.config)}
        return subprocess.run(  # noqa: S603 - our own command line
            [VDIRSYNCER, *args], env=env, input="y\n" * 50, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip

    def sync(self) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        """(uploaded, updated): the card UIDs vdirsyncer copied, per local book."""
        done = self.run("sync")
        log = done.stdout + done.stderr
        assert done.returncode == 0, log
        return self._copied(UPLOADED, log), self._copied(UPDATED, log)

    @staticmethod
    def _copied(pattern, log) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for ident, storage in pattern.findall(log):
            found.setdefault(storage.split("/")[-1], set()).add(ident)
        return found

    def book(self, name: str) -> dict[str, str]:
        """The cards a local book holds: {UID: text}."""
        texts = {}
        for path in (self.local / name).glob("*.vcf"):
            text = path.read_bytes().decode("utf-8")
            uid = re.search(r"^UID:(.+?)\r?$", text, re.M)[1]
            texts[uid] = text
        return texts


def uid(entry) -> str:
    return vcards.source_of(entry).uid


def lines(text: str) -> str:
    """A card's text with its lines as vdirsyncer writes them (LF)."""
    return text.replace("\r\n", "\n")


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_vdirsyncer_syncs_every_book_then_only_what_changed_then_is_refused(
        app, served, tmp_path):  # fmt: skip
    # Two cards a page: the phone reads the directory (five cards) as a paged,
    # streamed answer, as it would read a region of 100 000 (`carddav.paging`).
    app.config["CARDDAV_PAGE_CARDS"] = 2
    haninge = make_actor("Haninge kommun")
    nacka = make_actor("Nacka kommun")
    tib = make_role(haninge)
    make_contact(tib, "+46701740605")
    make_contact(tib, "+46701740620", mode=PathMode.ACTIVATED)
    make_contact(tib, "+46701740606", confidential=True)  # hidden from a viewer
    person = make_person(nacka, "Åsa Öberg")
    point = make_contact(person, "+46701740607")
    other = make_person(nacka, "Bo Ek")
    make_contact(other, "+46701740608")
    tree = CallTree(name="Larmkedja snö", actor_id=haninge.id, mode=Mode.ORDINARY,
                    valid_from=date(2026, 12, 1))  # fmt: skip
    db.session.add(tree)
    db.session.flush()
    add_node(tree, person)
    add_node(tree, tib)
    viewer = make_user("viewer@example.org")
    db.session.commit()
    device, secret = create_device_password(viewer, "vdirsyncer")
    db.session.commit()
    phone = Client(tmp_path, served, viewer.email, secret)

    discovered = phone.run("discover")
    assert discovered.returncode == 0, discovered.stdout + discovered.stderr
    uploaded, updated = phone.sync()

    # First sync: every card each book holds for this viewer, and nothing hidden.
    everyone = {uid(e) for e in (haninge, nacka, tib, person, other)}
    assert set(phone.book("directory")) == everyone
    assert uploaded["directory"] == everyone
    assert set(phone.book(f"calltree-{tree.id}")) == {uid(person), uid(tib)}
    for text in phone.book("directory").values():
        assert "+46701740606" not in text and "070-174 06 06" not in text
    # A call tree's cards are its vCard export's: a need-to-know list (DESIGN),
    # with every number of the people placed in it.
    tree_cards = card_exports.entry_cards([person, tib], viewer, mode=Mode.ORDINARY, disclosed=True)
    tree_export = {lines(c.text) for c in tree_cards}
    assert {lines(t) for t in phone.book(f"calltree-{tree.id}").values()} == tree_export
    assert lines(phone.book("directory")[uid(tib)]) == next(
        lines(c.text) for c in card_exports.directory_cards(viewer) if c.entity_type == "role")
    assert updated == {}

    # An edit: the next sync fetches exactly that card, in each book it is in.
    point.value = "+46701740609"
    db.session.commit()
    uploaded, updated = phone.sync()
    assert uploaded == {}
    assert updated == {"directory": {uid(person)}, f"calltree-{tree.id}": {uid(person)}}
    assert "46701740609" in digits(phone.book("directory")[uid(person)])

    # A mode switch: the cards whose numbers differ by mode, and no other.
    switch_mode(None, Mode.ACTIVATED, reason="Snöstorm", user=viewer)
    db.session.commit()
    uploaded, updated = phone.sync()
    assert uploaded == {}
    assert updated == {"directory": {uid(tib)}}  # the tree keeps its own (ordinary) mode
    assert "46701740620" in digits(phone.book("directory")[uid(tib)])

    # Nothing changed: nothing fetched.
    assert phone.sync() == ({}, {})

    # Revoked: the server answers 401, and the phone keeps what it has.
    revoke_device(db.session.get(type(device), device.id))
    db.session.commit()
    refused = phone.run("sync")
    assert refused.returncode != 0
    assert "401" in refused.stdout + refused.stderr
    assert set(phone.book("directory")) == everyone
