"""Keywords, synonyms, compounds, typos, partial matches and ranking (issue 17)."""

import re

from directory.core.extensions import db
from directory.core.models import (
    ContactKind,
    Mode,
    ModeState,
    PathMode,
    SearchSynonym,
    SearchWord,
    UserRole,
    utcnow,
)
from directory.lookup.search import search
from tests.conftest import make_actor, make_contact, make_person, make_role


def _entries(query):
    return [hit.entry for hit in search(query)]


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


# --- 1. Keywords ------------------------------------------------------------


def test_keywords_find_an_actor_a_role_and_are_kept_current(app):
    plough = make_actor("Handens Entreprenad AB", kind="company",
                        keywords="plog, halkbekämpning")
    trv = make_actor("Trafikverket", kind="agency")
    tl = make_role(trv, "Trafikledning", "TL", keywords="TiB, jour")
    db.session.commit()
    assert _entries("plog") == [plough]
    assert _entries("halkbekampning") == [plough]
    assert _entries("tib trafikverket")[0] == tl
    plough.keywords = "sandning"
    db.session.commit()
    assert plough not in _entries("plog")
    assert _entries("sandning") == [plough]


def test_editors_keep_keywords_on_the_edit_form_and_they_are_not_printed(
        app, client, login_as):
    haninge = make_actor("Haninge kommun")
    db.session.commit()
    login_as(UserRole.ADMIN)
    page = client.get(f"/actors/{haninge.slug}/edit").get_data(as_text=True)
    assert 'name="keywords"' in page
    data = {
        "csrf_token": _csrf(page), "version": str(haninge.version),
        "name": "Haninge kommun", "short_name": "", "kind": "municipality",
        "level": haninge.level.value, "review_interval_days": "180", "notes": "",
        "keywords": "ledningsplats, krisledning",
    }
    response = client.post(f"/actors/{haninge.slug}/edit", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    assert haninge.keywords == "ledningsplats, krisledning"
    assert _entries("ledningsplats") == [haninge]
    shown = client.get(f"/actors/{haninge.slug}").get_data(as_text=True)
    assert "ledningsplats" not in shown
    results = client.get("/search?q=ledningsplats").get_data(as_text=True)
    assert "Haninge kommun" in results and "ledningsplats" not in results.split("</h2>", 1)[1]


# --- 2. Synonyms ------------------------------------------------------------


def test_synonyms_work_both_ways_and_phrases_count_as_one_word(app):
    lan = make_actor("Länsstyrelsen Stockholm", kind="county_board")
    lst_role = make_role(lan, "Tjänsteman i beredskap", "TiB")
    abbreviated = make_actor("LST Gotland", kind="county_board")
    db.session.add(SearchSynonym(terms="LST, Länsstyrelsen"))
    db.session.add(SearchSynonym(terms="TiB, tjänsteman i beredskap, jour, jourhavande"))
    db.session.commit()
    assert _entries("lst")[:2] == [abbreviated, lan] or set(_entries("lst")[:2]) == {
        abbreviated, lan}
    assert abbreviated in _entries("länsstyrelsen")
    assert _entries("jourhavande lst")[0] == lst_role
    assert _entries("tjänsteman i beredskap lst")[0] == lst_role


def test_without_synonyms_an_abbreviation_finds_nothing(app):
    make_actor("Länsstyrelsen Stockholm", kind="county_board")
    db.session.commit()
    assert _entries("lst") == []


def test_coordinators_keep_synonyms_on_a_page_and_bad_lines_are_refused(
        app, client, login_as):
    make_actor("Trafikverket", kind="agency")
    db.session.commit()
    login_as(UserRole.ADMIN)
    page = client.get("/search/synonyms").get_data(as_text=True)
    bad = client.post("/search/synonyms", data={"csrf_token": _csrf(page),
                                                 "groups": "TRV, Trafikverket\nensam"})
    assert bad.status_code == 200 and "Line 2" in bad.get_data(as_text=True)
    assert db.session.query(SearchSynonym).count() == 0  # nothing half-saved
    ok = client.post("/search/synonyms", data={"csrf_token": _csrf(page),
                                                "groups": " TRV ,Trafikverket \n\n"})
    assert ok.status_code == 302
    assert [s.terms for s in db.session.query(SearchSynonym)] == ["TRV, Trafikverket"]
    assert _entries("trv")[0].name == "Trafikverket"


def test_only_coordinators_edit_synonyms(app, client, login_as):
    login_as(UserRole.EDITOR)
    assert client.get("/search/synonyms").status_code == 403


# --- 3. Compounds -----------------------------------------------------------


def test_words_inside_compounds_are_found(app):
    plough = make_actor("Handens Snöröjning AB", kind="company")
    fire = make_actor("Storstockholms brandförsvar", kind="rescue_service")
    db.session.commit()
    assert _entries("röjning") == [plough]
    assert _entries("stockholm") == [fire]
    assert _entries("försvar") == [fire]
    assert db.session.get(SearchWord, "snorojning") is not None


# --- 4. Typos ---------------------------------------------------------------


def test_one_edit_finds_the_entry_and_says_what_was_meant(app, client, login_as):
    haninge = make_actor("Haninge kommun", short_name="Haninge")
    tib = make_role(haninge)
    db.session.commit()
    found = search("hanninge tib")
    assert found[0].entry == tib
    assert found.corrections == {"hanninge": "haninge"}
    assert found.did_you_mean("Hanninge TiB") == "haninge tib"
    assert _entries("haninhe")[0] == haninge  # a slip of the finger
    assert _entries("hxninxe") == []  # two edits in a short word: no
    login_as()
    page = client.get("/search?q=hanninge+tib").get_data(as_text=True)
    assert "Did you mean:" in page and "haninge tib" in page


def test_long_words_allow_two_edits(app):
    kbv = make_actor("Kustbevakningen", kind="agency")
    db.session.commit()
    assert _entries("kustbevaknigen") == [kbv]
    assert _entries("kustbevakinngen") == [kbv]


def test_an_exact_match_ranks_above_a_corrected_one(app):
    exact = make_actor("Haningo AB", kind="company")  # "haningo" is a word of its own
    make_actor("Haninge kommun")
    db.session.commit()
    found = search("haningo")
    assert [hit.entry for hit in found] == [exact]
    assert not found.corrections


# --- 5. Partial matches -----------------------------------------------------


def test_when_no_entry_has_every_word_those_with_most_are_shown(app, client, login_as):
    haninge = make_actor("Haninge kommun")
    tib = make_role(haninge)
    make_actor("Nynäshamns kommun")
    db.session.commit()
    found = search("tib haninge flygplats")
    assert found.partial
    assert found[0].entry == tib and all(hit.matched == 2 for hit in found)
    assert not search("tib haninge").partial
    login_as()
    page = client.get("/search?q=tib+haninge+flygplats").get_data(as_text=True)
    assert "Nothing matches all words; closest:" in page
    client.post("/language", data={"locale": "sv", "csrf_token": _csrf(page)})
    page = client.get("/search?q=tib+haninge+flygplats").get_data(as_text=True)
    assert "Inget matchar alla ord; närmast:" in page
    page = client.get("/search?q=hanninge").get_data(as_text=True)
    assert "Menade du:" in page


# --- 6. Ranking -------------------------------------------------------------


def test_an_actor_named_brings_its_roles_before_persons_and_contractors(app):
    haninge = make_actor("Haninge kommun", short_name="Haninge")
    tib = make_role(haninge)
    switchboard = make_role(haninge, "Växel", "")
    make_actor("FRG Haninge", kind="volunteer")
    make_actor("Haninge Plog AB", kind="company")
    for n in range(6):
        make_person(haninge, f"Person {n} Haningesson")
    make_contact(make_actor("Lokalpolisområde Haninge", kind="police"), "11414",
                 kind=ContactKind.SWITCHBOARD, label="Växel Haninge")
    db.session.commit()
    names = [getattr(h.entry, "name", None) for h in search("haninge")]
    assert names[:3] == ["Haninge kommun", switchboard.name, tib.name] or names[:3] == [
        "Haninge kommun", tib.name, switchboard.name]
    assert names.index("Haninge Plog AB") > 2


def test_role_name_and_place_bring_that_role_first(app):
    for town in ("Haninge", "Nynäshamn", "Tyresö"):
        make_role(make_actor(f"{town} kommun", short_name=town))
    db.session.commit()
    first = search("tib haninge")[0].entry
    assert (first.short_name, first.actor.name) == ("TiB", "Haninge kommun")


def test_the_role_in_use_in_the_mode_in_force_comes_first(app, client, login_as):
    haninge = make_actor("Haninge kommun", short_name="Haninge")
    staff = make_role(haninge, "Krisledningsstab", "Stab")  # only when activated
    make_contact(staff, "+46701740611", mode=PathMode.ACTIVATED)
    tib = make_role(haninge, "Tjänsteman i beredskap", "TiB")
    make_contact(tib, "+46701740612", mode=PathMode.BOTH)
    db.session.add(ModeState(scope="region", mode=Mode.ORDINARY, since=utcnow(),
                             reason="test"))
    db.session.commit()
    login_as()
    page = client.get("/search?q=haninge").get_data(as_text=True)
    assert page.index(f"/roles/{tib.id}") < page.index(f"/roles/{staff.id}")
