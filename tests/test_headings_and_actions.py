"""Which TiB, and only the actions a user can use; errors in the reader's language.

The role page names the actor in its H1 (several tabs open invite a wrong
call otherwise). "New call tree", "New collaboration pattern" and a
pattern's "Edit" are offered by the same rule the views enforce
(`may_create_anything`, `can_edit`), so a viewer never meets a 403 by a
link the page offered. The 403 and 404 pages speak the page's language.
"""

import re
from datetime import date

import pytest

from directory.core.extensions import db
from directory.core.models import CollaborationPattern, UserRole
from tests.conftest import make_actor, make_contact, make_role


@pytest.fixture
def haninge(app):
    actor = make_actor("Haninge kommun", short_name="Haninge")
    tib = make_role(actor)
    make_contact(tib, "+46701740608", label="Dygnet runt")
    other = make_actor("Nynäshamns kommun", short_name="Nynäshamn")
    pattern = CollaborationPattern(name="Samverkanskonferens", convener_actor=actor,
                                   starts_on=date(2026, 1, 1),
                                   recurrence="FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0")
    db.session.add(pattern)
    db.session.commit()
    return {"actor": actor, "tib": tib, "other": other, "pattern": pattern}


def swedish(client):
    with client.session_transaction() as session:
        session["locale"] = "sv"


def h1(page: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", page, re.S)
    assert match, page[:500]
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def test_the_role_heading_names_the_actor(client, login_as, haninge):
    login_as(UserRole.VIEWER)
    page = client.get(f"/roles/{haninge['tib'].id}").get_data(as_text=True)
    assert h1(page) == "TiB – Haninge kommun"
    assert "Tjänsteman i beredskap" in page  # the full name still shown, below


def test_the_role_qr_code_is_behind_a_disclosure_after_who_is_on_call(client, login_as, haninge):
    login_as(UserRole.VIEWER)
    page = client.get(f"/roles/{haninge['tib'].id}").get_data(as_text=True)
    qr = page.index('class="qr"')
    assert page.index('id="now"') < page.index("tel:+46701740608") < qr
    assert page.rfind('<details class="qr-code">', 0, qr) > page.index("tel:+46701740608")


def test_a_viewer_is_offered_no_action_they_cannot_use(client, login_as, haninge):
    login_as(UserRole.VIEWER)
    trees = client.get("/calltrees").get_data(as_text=True)
    assert "/calltrees/new" not in trees and "New call tree" not in trees
    assert client.get("/calltrees/new").status_code == 403  # the same rule
    patterns = client.get("/patterns").get_data(as_text=True)
    assert "Samverkanskonferens" in patterns
    assert "/patterns/new" not in patterns
    assert f"/patterns/{haninge['pattern'].id}/edit" not in patterns
    assert client.get(f"/patterns/{haninge['pattern'].id}/edit").status_code == 403


def test_an_editor_is_offered_what_belongs_to_their_actor_only(client, login_as, haninge):
    login_as(UserRole.EDITOR, actors=[haninge["other"]])
    assert "/calltrees/new" in client.get("/calltrees").get_data(as_text=True)
    patterns = client.get("/patterns").get_data(as_text=True)
    assert "/patterns/new" in patterns
    assert f"/patterns/{haninge['pattern'].id}/edit" not in patterns  # Haninge's, not theirs
    assert client.get(f"/patterns/{haninge['pattern'].id}/edit").status_code == 403


def test_an_admin_is_offered_every_action(client, login_as, haninge):
    login_as(UserRole.ADMIN)
    assert "/calltrees/new" in client.get("/calltrees").get_data(as_text=True)
    patterns = client.get("/patterns").get_data(as_text=True)
    assert "/patterns/new" in patterns
    assert f"/patterns/{haninge['pattern'].id}/edit" in patterns


def test_an_editor_without_actors_is_offered_nothing_to_create(client, login_as, haninge):
    login_as(UserRole.EDITOR)
    assert "/calltrees/new" not in client.get("/calltrees").get_data(as_text=True)
    assert "/patterns/new" not in client.get("/patterns").get_data(as_text=True)
    assert client.get("/calltrees/new").status_code == 403


def test_403_and_404_pages_speak_swedish_on_a_swedish_page(client, login_as, haninge):
    login_as(UserRole.VIEWER)
    swedish(client)
    forbidden = client.get("/calltrees/new")
    assert forbidden.status_code == 403
    page = forbidden.get_data(as_text=True)
    assert h1(page) == "403 – Inte tillåtet"
    assert "Du får inte göra det här." in page
    assert "Forbidden" not in page and "You don't have the permission" not in page
    missing = client.get("/roles/999999")
    assert missing.status_code == 404
    page = missing.get_data(as_text=True)
    assert h1(page) == "404 – Hittades inte"
    assert "Sidan finns inte." in page and "Not Found" not in page
    assert '<html lang="sv">' in page


def test_error_pages_speak_english_to_an_english_reader(client, login_as, haninge):
    login_as(UserRole.VIEWER)
    page = client.get("/roles/999999").get_data(as_text=True)
    assert h1(page) == "404 – Not found"
    assert "There is no such page." in page


def test_a_views_own_explanation_is_kept(client, login_as, haninge):
    login_as(UserRole.VIEWER)
    page = client.get("/binder.pdf?mode=sideways").get_data(as_text=True)
    assert "ordinary" in page and "activated" in page, page[:800]
