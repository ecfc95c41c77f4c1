"""Search and reverse lookup, as a duty officer types them."""

import pytest

from directory.core.extensions import db
from directory.core.models import CollaborationPattern, ContactKind, utcnow
from directory.lookup.numbers import lookup_number
from directory.lookup.search import search
from tests.conftest import TODAY, make_actor, make_contact, make_person, make_role


@pytest.fixture
def region(app):
    haninge = make_actor("Haninge kommun", short_name="Haninge")
    tib = make_role(haninge)
    make_contact(tib, "+46701740608", label="Dygnet runt")
    lan = make_actor("Länsstyrelsen Stockholm", short_name="Länsstyrelsen",
                     kind="county_board")
    make_role(lan)
    nynas = make_actor("Nynäshamns kommun")
    make_role(nynas)
    asa = make_person(haninge, "Åsa Öberg", title="Beredskapssamordnare")
    make_contact(asa, "+46701740675")
    make_contact(make_actor("Polismyndigheten", kind="police"), "11414",
                 kind=ContactKind.SWITCHBOARD, label="Polisens växel")
    db.session.add(CollaborationPattern(name="Regional samverkanskonferens",
                                        convener_actor=lan, starts_on=TODAY))
    db.session.commit()
    return {"haninge": haninge, "tib": tib, "asa": asa, "lan": lan}


def names(hits):
    return [getattr(h.entry, "name", None) or h.entry.label for h in hits]


def test_several_words_narrow_to_the_role_named(region):
    hits = search("haninge tib")
    assert hits[0].entry == region["tib"]
    assert all(h.entry != region["haninge"] for h in hits)  # the actor lacks "tib"


def test_word_order_does_not_matter(region):
    assert search("tib haninge")[0].entry == region["tib"]


def test_prefixes_match(region):
    assert search("hani ti")[0].entry == region["tib"]


def test_case_and_diacritics_do_not_matter(region):
    assert search("asa oberg")[0].entry == region["asa"]
    assert search("ÅSA ÖBERG")[0].entry == region["asa"]
    assert search("lansstyrelsen")[0].entry == region["lan"]


def test_the_actor_named_comes_before_its_entries(region):
    hits = search("haninge")
    assert hits[0].entry == region["haninge"]
    assert region["tib"] in [h.entry for h in hits]  # its role is found too


def test_contact_labels_and_patterns_are_found(region):
    assert "Polisens växel" in names(search("vaxel"))
    assert "Regional samverkanskonferens" in names(search("samverkan"))


def test_deleted_entries_are_not_found_and_come_back_when_restored(region):
    region["asa"].deleted_at = utcnow()
    db.session.commit()
    assert search("asa oberg") == []
    region["asa"].deleted_at = None
    db.session.commit()
    assert search("asa oberg")[0].entry == region["asa"]


def test_renaming_an_actor_renames_what_its_roles_are_found_by(region):
    region["haninge"].name = "Södertörns kommun"
    region["haninge"].short_name = ""
    db.session.commit()
    assert search("sodertorn tib")[0].entry == region["tib"]
    stale = search("haninge tib")  # nothing has both words now; TiB only half
    assert stale.partial and all(hit.matched == 1 for hit in stale)


def test_nothing_typed_finds_nothing(region):
    assert search("   ") == []


@pytest.mark.parametrize(
    "typed",
    ["070-174 06 08", "0701740608", "+46 70 174 06 08", "0046701740608", "70 174 06 08"],
)
def test_reverse_lookup_understands_every_common_form(region, typed):
    result = lookup_number(typed)
    assert result.number == "+46701740608"
    assert [p.role for p in result.points] == [region["tib"]]


@pytest.mark.parametrize("typed", ["114 14", "11414"])
def test_reverse_lookup_recognises_short_numbers(region, typed):
    result = lookup_number(typed)
    assert result.is_short and result.number == "11414"
    assert result.points[0].label == "Polisens växel"


def test_reverse_lookup_of_112_says_it_is_a_short_number_even_if_unknown(region):
    result = lookup_number("112")
    assert result.is_short and result.points == []


def test_reverse_lookup_of_nonsense_says_why(region):
    assert "too short" in lookup_number("070-17").error


def test_deleting_an_actor_hides_its_roles_and_numbers_from_search(region):
    region["haninge"].deleted_at = utcnow()
    db.session.commit()
    assert search("haninge") == []
    assert search("dygnet runt") == []


def test_reindex_all_rebuilds_the_same_index(region):
    from sqlalchemy import select

    from directory.core.models import SearchTerm
    from directory.lookup.index import reindex_all

    before = set(db.session.execute(select(SearchTerm.__table__)).all())
    reindex_all()
    assert set(db.session.execute(select(SearchTerm.__table__)).all()) == before


def test_entries_made_with_ids_only_are_found_by_their_actor_too(app):
    from directory.core.models import Role

    haninge = make_actor("Haninge kommun")
    db.session.commit()
    db.session.add(Role(actor_id=haninge.id, name="Tjänsteman i beredskap", short_name="TiB"))
    db.session.commit()
    assert search("haninge tib")[0].entry.actor_id == haninge.id


def test_a_path_is_shown_inside_its_owner_when_the_owner_is_found(region):
    hits = search("haninge tib")
    assert [h.entity_type for h in hits] == ["role"]
    assert [h.entity_type for h in search("dygnet")] == ["contact_point"]


def test_a_single_letter_matches_whole_words_only(region):
    from directory.core.models import Role

    make_role(region["haninge"], name="Kommunikatör i beredskap", short_name="KiB")
    db.session.commit()
    assert search("i")[0].entry.__class__ is Role  # "i" is a word of the role's name
    assert search("h") == []  # not every word starting with h


def test_scenario_words_do_not_break_search(region):
    from directory.core.models import Scenario

    db.session.add(Scenario(slug="sno", name="Trafikstörningar p.g.a. snö/halka"))
    db.session.commit()
    assert search("sno") == []  # scenarios are listed on their own page, not searched


def test_the_reindex_command_leaves_postgresql_its_visibility_map(region, runner):
    """After `flask search reindex` on PostgreSQL the index tables are vacuumed and
    analysed: index-only scans need the visibility map that VACUUM sets, or they
    visit the table for every row (3-5x slower at national scale). SQLite has
    nothing to do."""
    from sqlalchemy import text

    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    if db.engine.dialect.name != "postgresql":
        assert "Indexed" in result.output
        return
    # The server's own count of manual VACUUMs and ANALYZEs of each table (the
    # visibility map itself depends on other sessions' open transactions).
    for table in ("search_term", "search_word"):
        vacuums, analyses = db.session.execute(text(
            "SELECT vacuum_count, analyze_count FROM pg_stat_user_tables"
            " WHERE relid = to_regclass(:name)"), {"name": table}).one()
        assert vacuums >= 1 and analyses >= 1, (table, vacuums, analyses)


# --- A common word: the best, without grouping every entry that shares it ------------


@pytest.fixture
def crowded(app):
    """Hallstahammar with its TiB, and more persons whose words start with "ha"
    than a search reads candidates of (`limit * 4`)."""
    hallsta = make_actor("Hallstahammars kommun", short_name="Hallstahammar")
    make_contact(make_role(hallsta), "+46701740640")
    other = make_actor("Västerås stad", short_name="Västerås")
    for n in range(45):
        make_person(other, f"Hans Hansson {n}", title="Handläggare")
    db.session.commit()
    return hallsta


@pytest.mark.parametrize(("query", "found", "partial"), [
    ("ha", 47, False),  # the actor, its TiB and the 45 persons
    ("ha tib", 1, False),  # Hallstahammar's TiB: "ha" from its actor, "tib" its own
    ("hans ha", 45, False),  # every word common
    ("hallsta kommun", 2, False),  # the actor and its TiB ("kommun": the actor's word)
    ("ha zyxel", 47, True),  # nothing has both: those with the common one
    ("tib vasteras", 47, True),  # nothing has both: the TiB, Västerås and its persons
])
def test_common_words_rank_as_grouping_every_match_would(crowded, monkeypatch, query, found,
                                                         partial):
    """Read as common words (more rows than the probe) and as rare ones (every
    match grouped), the results are the same when the candidates cover every
    match: with every word, and with most when none has every word."""
    exact = search(query, limit=50)
    monkeypatch.setattr("directory.lookup.search.RAREST_PROBE", 5)
    monkeypatch.setattr("directory.lookup.search.COMMON_ROWS", 5)
    common = search(query, limit=50)
    assert len(exact) == found and exact.partial == partial
    assert [(h.entity_type, h.entry.id, h.score) for h in common] == [
        (h.entity_type, h.entry.id, h.score) for h in exact]
    assert common.partial == exact.partial


def test_a_common_word_shows_the_best_scored_when_it_reads_fewer_than_match(
        crowded, monkeypatch):
    """With more matches than candidates read (limit 5: 20 candidates of 47
    entries), the entries shown score as well as the best of all of them."""
    best = sorted((h.score for h in search("ha", limit=50)), reverse=True)[:5]
    monkeypatch.setattr("directory.lookup.search.RAREST_PROBE", 5)
    found = search("ha", limit=5)
    assert [h.score for h in found] == best
    # each of "Hans", "Hansson" and "Handläggare" starts with "ha": a person
    # scores above the actor, whose name has one such word
    assert all(name.startswith("Hans Hansson") for name in names(found))


def test_a_list_of_values_is_one_parameter_and_finds_what_an_in_list_finds(region):
    """`among`: the SQL's text is the same for 2 values or 300 (so it stays
    prepared, and psycopg does not parse a long statement each time), and it
    finds exactly the rows an IN list finds, on either database."""
    from sqlalchemy import select

    from directory.core.database import among
    from directory.core.models import Actor, SearchTerm
    from tests.conftest import recorded_statements

    ids = [a.id for a in db.session.scalars(select(Actor))]
    many = [*ids, *range(10_000, 10_300)]
    for values in (ids[:2], many, []):
        found = set(db.session.scalars(select(Actor.id).where(among(Actor.id, values))))
        assert found == set(db.session.scalars(select(Actor.id).where(Actor.id.in_(values))))
    term = SearchTerm.__table__.c
    words = ["haninge", "kommun", "saknas"]
    assert set(db.session.scalars(select(term.term).where(among(term.term, words)))) \
        == {"haninge", "kommun"}
    texts = set()
    for values in (ids[:2], many):
        with recorded_statements() as statements:
            db.session.scalars(select(Actor.id).where(among(Actor.id, values))).all()
        texts.update(statements)
    assert len(texts) == 1, texts
