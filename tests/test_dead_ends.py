"""No dead end: every step of a call tree can be dialled by whoever runs it (issue 16).

Items 1 (escalation to a person whose only number is confidential), 2 (hidden
is not missing), 3 (reverse lookup names the caller), 7 (the tree for the mode
not in force says so) and 9 (who takes over next).
"""

import io
import json
import re
from datetime import date

import pytest
from pypdf import PdfReader

from directory.calltrees.rules import add_node
from directory.core.extensions import db
from directory.core.models import CallTree, Mode, PathMode, UserRole
from tests.conftest import Auth, make_actor, make_contact, make_person, make_role


@pytest.fixture
def frg(app):
    """FRG Haninge's tree escalates to Lena, whose only number is confidential."""
    haninge = make_actor("Haninge kommun")
    lena = make_person(haninge, "Lena Håkansson")
    make_contact(lena, "+46701740671", confidential=True, label="Privat mobil")
    tib = make_role(haninge)
    make_contact(tib, "+46701740608")
    frg_actor = make_actor("FRG Haninge")
    nobody = make_person(frg_actor, "Nils Utan Nummer")
    tree = CallTree(name="Larmkedja FRG", mode=Mode.ORDINARY, actor=frg_actor,
                    valid_from=date(2026, 12, 1))
    db.session.add(tree)
    db.session.flush()
    add_node(tree, tib, escalate_after_minutes=10, alternates=[(lena, 5)])
    db.session.commit()
    return {"tree": tree, "lena": lena, "tib": tib, "nobody": nobody, "haninge": haninge}


def _pdf_text(response) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)


# --- Item 1: escalation to a dead end ------------------------------------------


def test_a_confidential_escalation_number_is_dialable_on_the_tree_page(client, login_as, frg):
    login_as(UserRole.VIEWER)
    page = client.get(f"/calltrees/{frg['tree'].id}").get_data(as_text=True)
    assert "Lena Håkansson" in page
    assert "070-174 06 71" in page and 'href="tel:+46701740671"' in page


def test_a_confidential_escalation_number_is_on_the_tree_pdf_vcards_and_api(
        client, login_as, frg):
    login_as(UserRole.VIEWER)
    tree_id = frg["tree"].id
    digits = re.sub(r"\D", "", _pdf_text(client.get(f"/calltrees/{tree_id}.pdf")))
    assert "701740671" in digits
    assert "+46701740671" in client.get(f"/export/calltrees/{tree_id}.vcf").get_data(
        as_text=True).replace("-", "").replace(" ", "")
    body = json.dumps(client.get(f"/api/v1/call-trees/{tree_id}").get_json())
    assert "+46701740671" in body


def test_disclosure_stays_in_the_tree(client, login_as, frg):
    """The actor page and search still hide Lena's private number."""
    login_as(UserRole.VIEWER)
    client.get(f"/calltrees/{frg['tree'].id}")
    for url in ("/actors/haninge-kommun", "/search?q=lena"):
        assert "070-174 06 71" not in client.get(url).get_data(as_text=True), url


def test_the_builder_and_review_warn_about_a_step_with_no_path(client, login_as, frg):
    tree = frg["tree"]
    add_node(tree, frg["nobody"])
    db.session.commit()
    login_as(UserRole.ADMIN)
    page = client.get(f"/calltrees/{tree.id}").get_data(as_text=True)
    assert "No contact path for this tree's mode." in page
    review = client.get("/review").get_data(as_text=True)
    assert "Call-tree steps that reach no contact path (1)" in review
    assert "Nils Utan Nummer" in review and "Lena Håkansson" not in review


def test_an_alternate_with_no_path_is_warned_about(client, login_as, frg):
    from directory.calltrees.rules import set_alternates

    node = frg["tree"].nodes[0]
    set_alternates(node, [(frg["lena"], 5), (frg["nobody"], 5)])
    db.session.commit()
    login_as(UserRole.ADMIN)
    page = client.get(f"/calltrees/{frg['tree'].id}").get_data(as_text=True)
    assert "An alternate has no contact path for this tree's mode." in page
    assert "Nils Utan Nummer" in client.get("/review").get_data(as_text=True)


def test_placing_a_step_tells_the_editor_what_it_means(client, login_as, frg):
    login_as(UserRole.ADMIN)
    tree = frg["tree"]
    url = f"/calltrees/{tree.id}/nodes/new"
    token = Auth(client).csrf_token(url)
    page = client.post(url, data={"csrf_token": token, "target": f"person-{frg['nobody'].id}",
                                  "alternates-0-target": f"person-{frg['lena'].id}",
                                  "alternates-0-minutes": "5"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Nils Utan Nummer (FRG Haninge) has no contact path for this tree" in page
    assert "Lena Håkansson (Haninge kommun)&#39;s confidential numbers are shown" in page
