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
    dead_ends = review.split('id="dead-ends"')[1].split("</section>")[0]
    assert "Nils Utan Nummer" in dead_ends and "Lena Håkansson" not in dead_ends


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


# --- Item 7: wrong tree, no warning ----------------------------------------------


@pytest.fixture
def two_trees(app):
    lan = make_actor("Länsstyrelsen Stockholm")
    tib = make_role(lan)
    make_contact(tib, "+46701740605")
    trees = {}
    for mode in (Mode.ORDINARY, Mode.ACTIVATED):
        tree = CallTree(name=f"Larmkedja {mode.value}", mode=mode, valid_from=date(2026, 12, 1))
        db.session.add(tree)
        db.session.flush()
        add_node(tree, tib)
        trees[mode] = tree
    db.session.commit()
    return trees


def _activate_region():
    from directory.core.modes import switch_mode
    from tests.conftest import make_user

    switch_mode(None, Mode.ACTIVATED, reason="Snöstorm", user=make_user("lan@example.org",
                                                                        role=UserRole.ADMIN))
    db.session.commit()


def test_the_tree_for_the_mode_not_in_force_says_so_and_links_the_right_one(
        client, login_as, two_trees):
    _activate_region()
    login_as(UserRole.VIEWER)
    page = client.get(f"/calltrees/{two_trees[Mode.ORDINARY].id}").get_data(as_text=True)
    assert "This call tree is for ordinary mode, but activated mode is in force now." in page
    assert f'href="/calltrees/{two_trees[Mode.ACTIVATED].id}"' in page
    right = client.get(f"/calltrees/{two_trees[Mode.ACTIVATED].id}").get_data(as_text=True)
    assert "wrong-mode" not in right


def test_the_index_marks_the_tree_that_applies_now(client, login_as, two_trees):
    login_as(UserRole.VIEWER)
    rows = client.get("/calltrees").get_data(as_text=True).split("<tr>")
    ordinary = next(r for r in rows if "Larmkedja ordinary" in r)
    activated = next(r for r in rows if "Larmkedja activated" in r)
    assert "Applies now" in ordinary and "Applies now" not in activated
    _activate_region()
    rows = client.get("/calltrees").get_data(as_text=True).split("<tr>")
    assert "Applies now" in next(r for r in rows if "Larmkedja activated" in r)
    assert "Applies now" not in next(r for r in rows if "Larmkedja ordinary" in r)


def test_the_index_says_gaeller_nu_in_swedish(client, login_as, two_trees):
    login_as(UserRole.VIEWER)
    token = Auth(client).csrf_token("/calltrees")
    client.post("/language", data={"locale": "sv", "csrf_token": token})
    page = client.get("/calltrees").get_data(as_text=True)
    assert "Gäller nu" in page


@pytest.mark.parametrize("mode", [Mode.ORDINARY, Mode.ACTIVATED])
def test_the_tree_pdf_names_its_mode_in_a_band_on_every_page(client, login_as, two_trees, mode):
    tree = two_trees[mode]
    for n in range(60):  # enough steps for several pages
        add_node(tree, tree.nodes[0].target, instructions=f"Steg {n}\nRing och notera.")
    db.session.commit()
    login_as(UserRole.VIEWER)
    reader = PdfReader(io.BytesIO(client.get(f"/calltrees/{tree.id}.pdf").data))
    assert len(reader.pages) > 1
    band = {Mode.ORDINARY: "ORDINARY MODE", Mode.ACTIVATED: "ACTIVATED MODE"}[mode]
    for page in reader.pages:
        assert band in page.extract_text()


# --- Item 9: who next ------------------------------------------------------------


@pytest.fixture
def weekly(app):
    from datetime import time, timedelta

    from directory.core.models import Rotation, RotationKind, RotationMember

    haninge = make_actor("Haninge kommun")
    tib = make_role(haninge)
    make_contact(tib, "+46701740608")
    anna, bo = make_person(haninge, "Anna Berg"), make_person(haninge, "Bo Ek")
    monday = date.today() - timedelta(days=date.today().weekday() + 7)
    db.session.add(Rotation(role=tib, kind=RotationKind.WEEKLY, length_days=7,
                            handover_time=time(8, 0), starts_on=monday,
                            members=[RotationMember(person=anna, position=0),
                                     RotationMember(person=bo, position=1)]))
    db.session.commit()
    return tib


def _on_call_now_and_next(tib):
    from zoneinfo import ZoneInfo

    from directory.core.models import utcnow
    from directory.core.schedules import resolve_on_call

    now = resolve_on_call(tib, utcnow(), ZoneInfo("Europe/Stockholm"))
    other = "Bo Ek" if now.person.name == "Anna Berg" else "Anna Berg"
    return now, other


def test_the_role_page_says_who_takes_over_next_and_when(client, login_as, weekly):
    from zoneinfo import ZoneInfo

    now, other = _on_call_now_and_next(weekly)
    login_as(UserRole.VIEWER)
    page = client.get(f"/roles/{weekly.id}").get_data(as_text=True)
    handover = now.ends_at.astimezone(ZoneInfo("Europe/Stockholm"))
    line = re.search(r'<p class="next-on-call">(.*?)</p>', page, re.S).group(1)
    assert "Takes over next:" in line and other in line
    assert handover.strftime("%H:%M") in line and str(handover.day) in line


def test_the_role_card_in_search_results_names_the_next_person(client, login_as, weekly):
    _now, other = _on_call_now_and_next(weekly)
    login_as(UserRole.VIEWER)
    page = client.get("/search?q=tib").get_data(as_text=True)
    # On a line of its own, in the role page's words: "then NAME" ran on after
    # "until ..." and read as one sentence.
    line = re.search(r'<p class="next-on-call muted">(.*?)</p>', page, re.S).group(1)
    assert f"Takes over next: {other} from " in line


def test_a_coming_gap_is_said_as_nobody(client, login_as, weekly):
    from zoneinfo import ZoneInfo

    from directory.core.models import Rotation

    rotation = db.session.scalar(db.select(Rotation))
    now, _other = _on_call_now_and_next(weekly)
    rotation.ends_on = now.ends_at.astimezone(ZoneInfo("Europe/Stockholm")).date()
    db.session.commit()
    login_as(UserRole.VIEWER)
    page = client.get(f"/roles/{weekly.id}").get_data(as_text=True)
    line = re.search(r'<p class="next-on-call">(.*?)</p>', page, re.S).group(1)
    assert "Nobody is on call from" in line


# --- Item 2: hidden is not missing -----------------------------------------------


@pytest.fixture
def private_only(app):
    """Haninge: TiB with a 24/7 number; Åsa whose only number is a private mobile."""
    haninge = make_actor("Haninge kommun")
    tib = make_role(haninge)
    make_contact(tib, "+46701740698", label="Dygnet runt")
    asa = make_person(haninge, "Åsa Öberg")
    make_contact(asa, "+46701740675", confidential=True, label="Privat mobil")
    make_person(haninge, "Nils Utan Nummer")
    db.session.commit()
    return haninge


def _block(page: str, name: str) -> str:
    """From a name to the next heading: what is said about that entry."""
    start = page.index(name)
    end = page.find("<h3", start)
    return page[start:end if end > 0 else start + 1500]


@pytest.mark.parametrize("url, name", [("/actors/haninge-kommun", "Åsa Öberg"),
                                       ("/search?q=asa+oberg", "Åsa Öberg")])
def test_a_hidden_number_says_so_and_points_to_the_way_in(client, login_as, private_only,
                                                          url, name):
    login_as(UserRole.VIEWER)
    block = _block(client.get(url).get_data(as_text=True), name)
    note = re.search(r'<p class="muted hidden-note">(.*?)</p>', block, re.S).group(1)
    assert "Mobile number protected" in note and "reach via TiB" in note
    assert "070-174 06 98" in note and "070-174 06 75" not in block
    assert "No contact path for the mode in force." not in block


def test_a_search_across_actors_points_each_hidden_number_to_its_own_actor(client, login_as,
                                                                          app):
    """A search whose results span actors, every number hidden: each result names
    its own actor's duty role and number (the ways in are read for all the
    actors at once; `test_lookup_pages` counts the statements)."""
    for i, place in enumerate(("Haninge", "Nynäshamn", "Tyresö")):
        actor = make_actor(f"{place} kommun")
        make_contact(make_role(actor), f"+4670174069{i}", label="Dygnet runt")
        make_contact(make_person(actor, f"Lisa Namnesson {place}"), f"+4670174067{i}",
                     confidential=True, label="Privat mobil")
    db.session.commit()
    login_as(UserRole.VIEWER)
    page = client.get("/search?q=namnesson").get_data(as_text=True)
    for i, place in enumerate(("Haninge", "Nynäshamn", "Tyresö")):
        block = _block(page, f"Lisa Namnesson {place}")
        note = re.search(r'<p class="muted hidden-note">(.*?)</p>', block, re.S).group(1)
        assert "reach via TiB" in note and f"070-174 06 9{i}" in note, (place, note)
        assert f"070-174 06 7{i}" not in block


def test_a_real_gap_still_warns(client, login_as, private_only):
    login_as(UserRole.VIEWER)
    page = client.get("/actors/haninge-kommun").get_data(as_text=True)
    nils = _block(page, "Nils Utan Nummer")
    assert "No contact path for the mode in force." in nils and "hidden-note" not in nils


def test_without_a_way_in_the_note_says_only_hidden(client, login_as, private_only):
    from directory.core.models import Role

    db.session.scalar(db.select(Role)).contact_points[0].mode = PathMode.ACTIVATED
    db.session.commit()
    login_as(UserRole.VIEWER)
    block = _block(client.get("/actors/haninge-kommun").get_data(as_text=True), "Åsa Öberg")
    note = re.search(r'<p class="muted hidden-note">(.*?)</p>', block, re.S).group(1)
    assert "Mobile number protected" in note and "reach via" not in note


def test_the_hidden_note_speaks_swedish(client, login_as, private_only):
    login_as(UserRole.VIEWER)
    token = Auth(client).csrf_token("/actors/haninge-kommun")
    client.post("/language", data={"locale": "sv", "csrf_token": token})
    page = client.get("/actors/haninge-kommun").get_data(as_text=True)
    assert "Mobilnummer skyddat – nås via TiB" in " ".join(page.split())


# --- Item 3: reverse lookup names the caller --------------------------------------


@pytest.fixture
def tib_calls(app):
    """TiB Haninge (Per Ek, on the rotation) calls from his own, confidential mobile."""
    from datetime import time

    from directory.core.models import Rotation, RotationKind, RotationMember

    haninge = make_actor("Haninge kommun")
    tib = make_role(haninge)
    make_contact(tib, "+46701740698")
    per = make_person(haninge, "Per Ek")
    make_contact(per, "+46701740642", confidential=True, label="Privat mobil")
    db.session.add(Rotation(role=tib, kind=RotationKind.WEEKLY, length_days=7,
                            handover_time=time(8, 0), starts_on=date(2026, 1, 5),
                            members=[RotationMember(person=per, position=0)]))
    db.session.commit()
    return per


def _lookup_section(client, typed):
    page = client.get(f"/search?q={typed}").get_data(as_text=True)
    return page[page.index('<section class="lookup"'):page.index("</section>")]


def test_a_viewer_with_the_number_learns_actor_and_role_not_the_number_elsewhere(
        client, login_as, tib_calls):
    login_as(UserRole.VIEWER)
    section = _lookup_section(client, "070-174 06 42")
    assert "Nobody in the directory has this number." not in section
    assert "Haninge kommun" in section and ">TiB</a>" in section
    assert "Per Ek" not in section  # the person only when the setting allows
    assert "Privat mobil" not in section and 'href="tel:' not in section
    # Not listed anywhere else: the actor page and a name search keep it hidden.
    for url in ("/actors/haninge-kommun", "/search?q=per+ek"):
        assert "070-174 06 42" not in client.get(url).get_data(as_text=True)


def test_the_setting_lets_the_lookup_name_the_person(client, login_as, tib_calls):
    from directory.core.settings import LOOKUP_NAMES_PERSON, set_setting

    set_setting(LOOKUP_NAMES_PERSON, True)
    db.session.commit()
    login_as(UserRole.VIEWER)
    section = _lookup_section(client, "0701740642")
    assert "Per Ek" in section and "Haninge kommun" in section
    assert "070-174 06 42" not in client.get("/actors/haninge-kommun").get_data(as_text=True)


def test_an_admin_turns_on_naming_the_person(client, login_as, tib_calls):
    from directory.core.settings import LOOKUP_NAMES_PERSON, get_setting

    login_as(UserRole.ADMIN)
    token = Auth(client).csrf_token("/admin/settings")
    client.post("/admin/settings", data={"csrf_token": token, "lookup_names_person": "y"})
    assert get_setting(LOOKUP_NAMES_PERSON) is True


def test_the_api_lookup_names_the_caller_without_the_path(client, login_as, tib_calls):
    login_as(UserRole.VIEWER)
    body = client.get("/api/v1/lookup?number=070-174%2006%2042").get_json()
    assert body["results"] == []
    (caller,) = body["callers"]
    assert caller["actor"]["name"] == "Haninge kommun"
    assert [r["name"] for r in caller["roles"]] == ["Tjänsteman i beredskap"]
    assert caller["person"] is None
    assert "Privat mobil" not in json.dumps(body)


@pytest.mark.parametrize("typed, name", [
    ("112", "112 – emergency number (SOS Alarm)"),
    ("114 14", "114 14 – the Police, non-emergency"),
    ("11414", "114 14 – the Police, non-emergency"),
    ("113 13", "113 13 – information number for serious accidents and crises"),
    ("1177", "1177 – healthcare advice (Vårdguiden)"),
])
def test_national_numbers_are_recognised_by_name(client, login_as, typed, name):
    login_as(UserRole.VIEWER)
    section = _lookup_section(client, typed.replace(" ", "+"))
    assert name in section and "Nobody in the directory has this number." not in section
    body = client.get(f"/api/v1/lookup?number={typed}").get_json()
    assert body["national"] == name


def test_national_numbers_are_named_in_swedish(client, login_as):
    login_as(UserRole.VIEWER)
    token = Auth(client).csrf_token("/")
    client.post("/language", data={"locale": "sv", "csrf_token": token})
    assert "Polisen" in _lookup_section(client, "114+14")


def test_the_ways_in_of_many_actors_are_each_actors_own(app):
    """`ways_in` reads only the phones of many actors' live roles and their own
    phones; each answer is the one `way_in` gives from the actor's whole
    entries, for each reader and each mode. Each actor has a rule that
    decides it: roles by name (Alfa, Zeta, Åsa-rollen), a role whose phone is only for
    activated mode, a confidential number and a deleted one, an address
    before the phone, and the switchboard when no role has a phone."""
    from flask_login import login_user

    from directory.core.modes import mode_states, switch_mode
    from directory.lookup.views import way_in, ways_in
    from tests.conftest import make_user

    actors = []
    for i in range(4):
        actor = make_actor(f"Kommun {i}")
        actors.append(actor)
        zeta, aring, alfa = (make_role(actor, name, "") for name in ("Zeta", "Åsa-rollen", "Alfa"))
        make_contact(aring, f"+467017406{i}1")
        make_contact(zeta, f"+467017406{i}2")
        make_contact(alfa, f"larm{i}@kommun.example", kind="email", priority=1)
        make_contact(actor, f"+467017406{i}3", kind="switchboard", label="Växel")
        if i == 1:  # Alfa, first by name, has a phone only for activated mode
            make_contact(alfa, f"+467017406{i}4", mode=PathMode.ACTIVATED, priority=2)
        if i == 2:  # Alfa's phone is confidential; Zeta's is deleted
            make_contact(alfa, f"+467017406{i}5", confidential=True, priority=2)
            zeta.contact_points[0].deleted_at = zeta.created_at
        if i == 3:  # no live role with a phone: the switchboard
            for role in (zeta, aring):
                role.deleted_at = role.created_at
    coordinator = make_user("samordnare@example.org", UserRole.ADMIN)
    viewer = make_user("lasare@example.org", UserRole.VIEWER)
    db.session.commit()

    answers = {}
    for mode in (Mode.ORDINARY, Mode.ACTIVATED):
        if mode is Mode.ACTIVATED:
            switch_mode(None, mode, reason="Prov", user=coordinator)
            db.session.commit()
        for user in (viewer, coordinator):
            with app.test_request_context():
                login_user(user)
                expected = {actor.id: way_in(actor, mode) for actor in actors}
                db.session.expire_all()  # ways_in reads what it needs itself
                found = ways_in(actors, mode_states())
                assert found == expected, (user.role, mode)
                answers[user.role, mode] = [(w["label"], w["point"].value) for w in
                                            (found[actor.id] for actor in actors)]
    assert answers[UserRole.VIEWER, Mode.ORDINARY] == [
        ("Zeta", "+46701740602"), ("Zeta", "+46701740612"),
        ("Åsa-rollen", "+46701740621"), ("Växel", "+46701740633")]
    assert answers[UserRole.VIEWER, Mode.ACTIVATED][1] == ("Alfa", "+46701740614")
    assert answers[UserRole.ADMIN, Mode.ORDINARY][2] == ("Alfa", "+46701740625")
