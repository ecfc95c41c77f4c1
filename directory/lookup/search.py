"""Search and reverse lookup: what a duty officer types, and what it finds.

Every searchable entry has its words in the `search_term` index, kept
current by a flush hook; every word indexed is also kept once in
`search_word`. Case and diacritics do not matter. Each word of the query is
found, best first, as:

- the start of an entry's word ("hani ti" finds the TiB role of Haninge);
- a synonym the coordinators keep ("lst" finds Länsstyrelsen, "jour" TiB);
- a part inside a compound ("röjning" finds "Snöröjning"), sought in the
  word list, not the index;
- one edit away (two for words of 8 letters or more), only when the word is
  found no other way, so an exact match always ranks above a corrected one;
  the correction is offered as "did you mean".

Editors' keywords count as an entry's own words. Entries matching every word
come first; when none does, those matching most words are shown, marked as
partial. Entries rank by how much of the query names them rather than what
they belong to; an actor named brings its roles right after it, before
persons and other actors' entries.

A query that looks like a phone number is looked up as one instead
(`directory.lookup.numbers`).
"""

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

import click
from flask.cli import AppGroup
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from sqlalchemy import (
    and_,
    case,
    column,
    delete,
    event,
    false,
    func,
    insert,
    inspect,
    literal,
    or_,
    select,
    table,
    union_all,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, joinedload, selectinload

from directory.core.database import among, live_id_chunks, vacuum_analyze
from directory.core.extensions import db
from directory.core.models import (
    Actor,
    ActorKind,
    CollaborationPattern,
    ContactPoint,
    Person,
    Role,
    Searchable,
    SearchTerm,
    SearchWord,
    related,
)
from directory.core.models.accounts import SEARCH_WORD_TRIGRAM
from directory.core.text import fold, swedish_sort_key
from directory.lookup.synonyms import Slot, slots_of, synonym_groups

MAX_TOKENS = 6
MIN_PREFIX = 2  # shorter words must match a whole word
MAX_RESULTS = 50
OWN_WEIGHT, CONTEXT_WEIGHT = 2, 1
# How well a word of the query matched a word of the entry; times the weight.
EXACT, PREFIX, SYNONYM, COMPOUND, CORRECTED = 5, 4, 4, 2, 1
MIN_INSIDE = 3  # shorter words are not sought inside compounds
MIN_TYPO = 4  # shorter words are not corrected: one edit makes another word
MAX_ALTERNATIVES = 200  # compound words or corrections per query word
RAREST_PROBE = 2000  # index rows counted per word to find the rarest
# Rows of the rarest of several words from which its candidates are read in
# the order of their scores, not all grouped (`_tier_candidates`).
COMMON_ROWS = 10 * RAREST_PROBE
# Among equally good matches: roles and actors first, as people ask for them.
TYPE_ORDER = {"role": 0, "actor": 1, "person": 2, "collaboration_pattern": 3, "contact_point": 4}
SEARCHED = {
    "actor": Actor,
    "role": Role,
    "person": Person,
    "contact_point": ContactPoint,
    "collaboration_pattern": CollaborationPattern,
}


# --- Keeping the index current -------------------------------------------


@lru_cache(maxsize=1 << 16)
def _words(text: str | None) -> tuple[str, ...]:
    """The folded words of a text, as the index holds them.

    Cached: rebuilding the index folds each actor's and role's name once for
    every entry below it, hundreds of thousands of times at national scale.
    """
    return tuple(word[:60] for word in fold(text).split())


def terms_of(entry: Searchable) -> dict[str, int]:
    """The words an entry is found by, with their weights.

    Editors' keywords weigh as the entry's own words.
    """
    terms: dict[str, int] = {}
    for text in entry.context_text():
        for word in _words(text):
            terms[word] = CONTEXT_WEIGHT
    for text in (*entry.search_text(), getattr(entry, "keywords", "")):
        for word in _words(text or ""):
            terms[word] = OWN_WEIGHT
    return terms


def _remember_words(connection, words) -> None:
    """Add words to the word list; those already there are left alone."""
    words = sorted(set(words))
    if not words:
        return
    table = SearchWord.__table__
    insert_ = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    for start in range(0, len(words), 5000):
        connection.execute(
            insert_(table).on_conflict_do_nothing(),
            [{"word": w} for w in words[start : start + 5000]],
        )


def _name_changed(obj, *attributes) -> bool:
    state = inspect(obj)
    return any(state.attrs[a].history.has_changes() for a in attributes)


def _parents(entry) -> list:
    """What an entry belongs to: deleting any of them hides the entry too."""
    if isinstance(entry, ContactPoint):
        owner = entry.owner
        return [owner, *_parents(owner)] if owner is not None else []
    if isinstance(entry, Role | Person):
        actor = related(entry, "actor", Actor, "actor_id")
        return [actor] if actor is not None else []
    if isinstance(entry, CollaborationPattern):
        actor = related(entry, "convener_actor", Actor, "convener_actor_id")
        return [actor] if actor is not None else []
    return []


def is_hidden(entry) -> bool:
    return entry.deleted_at is not None or any(
        parent.deleted_at is not None for parent in _parents(entry)
    )


def _dependents(obj) -> list[Searchable]:
    """Entries found by `obj`'s words or hidden with it, when those changed."""
    if isinstance(obj, Actor) and _name_changed(obj, "name", "short_name", "deleted_at"):
        found = [*obj.roles, *obj.persons, *obj.contact_points]
        for owner in (*obj.roles, *obj.persons):
            found += owner.contact_points
        return found
    if isinstance(obj, Role | Person) and _name_changed(obj, "name", "deleted_at"):
        return list(obj.contact_points)
    return []


def _reindex(session: Session, flush_context) -> None:
    changed: dict[tuple[str, int], Searchable | None] = {}
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Searchable):
            for entry in (obj, *_dependents(obj)):
                if entry.__tablename__ in SEARCHED:  # scenarios are listed, not searched
                    changed[entry.__tablename__, entry.id] = entry
    for obj in session.deleted:
        if isinstance(obj, Searchable) and obj.__tablename__ in SEARCHED:
            changed[obj.__tablename__, obj.id] = None
    if not changed:
        return
    connection = session.connection()
    table = SearchTerm.__table__
    rows = []
    for (entity_type, entity_id), entry in changed.items():
        connection.execute(
            delete(table).where(
                table.c.entity_type == entity_type, table.c.entity_id == entity_id
            )
        )
        if entry is None or is_hidden(entry):
            continue  # deleted entries are not found; restoring indexes them again
        rows += [
            {"term": term, "entity_type": entity_type, "entity_id": entity_id, "weight": w}
            for term, w in terms_of(entry).items()
        ]
    if rows:
        connection.execute(insert(table), rows)
        _remember_words(connection, (row["term"] for row in rows))


# What reindexing needs to know of each kind: only the words' owners.
_INDEX_LOADERS = {
    "actor": [],
    "role": [selectinload(Role.actor)],
    "person": [selectinload(Person.actor)],
    "contact_point": [
        selectinload(ContactPoint.actor),
        selectinload(ContactPoint.role).selectinload(Role.actor),
        selectinload(ContactPoint.person).selectinload(Person.actor),
        selectinload(ContactPoint.pattern).selectinload(CollaborationPattern.convener_actor),
    ],
    "collaboration_pattern": [selectinload(CollaborationPattern.convener_actor)],
}
REINDEX_CHUNK = 5000


def reindex_all() -> int:
    """Rebuild the whole index (after a bulk load or a restore); returns rows.

    Works through each kind in chunks of ids, so memory stays bounded at
    national scale.
    """
    table = SearchTerm.__table__
    db.session.execute(delete(table))
    count = 0
    for entity_type, model in SEARCHED.items():
        for chunk in live_id_chunks(model, REINDEX_CHUNK):
            entries = db.session.scalars(
                select(model).where(model.id.in_(chunk)).options(*_INDEX_LOADERS[entity_type])
            ).all()
            rows = [
                (t, entity_type, entry.id, w)
                for entry in entries
                if not is_hidden(entry)
                for t, w in terms_of(entry).items()
            ]
            if rows:
                _insert_terms(db.session.connection(), rows)
                _remember_words(db.session.connection(), {row[0] for row in rows})
            count += len(rows)
            db.session.expunge_all()
    return count


def _insert_terms(connection, rows: list[tuple[str, str, int, int]]) -> None:
    """Bulk insert of index rows: PostgreSQL's COPY, else one executemany.

    A million rows at national scale: COPY is several times as fast as
    INSERT there.
    """
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(
            "COPY search_term (term, entity_type, entity_id, weight) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        return
    connection.exec_driver_sql(
        "INSERT INTO search_term (term, entity_type, entity_id, weight) VALUES (?, ?, ?, ?)",
        rows,
    )


search_cli = AppGroup("search", help="The search index.")


@search_cli.command("reindex")
def reindex_command():
    """Rebuild the search index from the directory."""
    count = reindex_all()
    db.session.commit()
    vacuum_analyze([SearchTerm.__table__, "search_word"])
    click.echo(f"Indexed {count} words.")


def init_app(app) -> None:
    """Keep the search index current on every flush; add `flask search`."""
    if not event.contains(Session, "after_flush", _reindex):
        event.listen(Session, "after_flush", _reindex)
    app.cli.add_command(search_cli)


# --- Searching -----------------------------------------------------------


@dataclass
class Hit:
    entity_type: str
    entry: object
    score: int
    matched: int = 0  # how many of the query's words it matched


class Results(list):
    """Hits best first, with what the search made of the query."""

    def __init__(self) -> None:
        super().__init__()
        self.corrections: dict[str, str] = {}  # typed -> meant
        self.partial = False  # no entry matches every word; these match most

    def did_you_mean(self, query: str) -> str:
        """The query with each corrected word replaced by the word meant."""
        return " ".join(self.corrections.get(w, w) for w in fold(query).split())


# --- Searching -----------------------------------------------------------


def _prefix(column, token: str):
    """Words starting with `token` (folded: a-z and 0-9 only): an index range.

    On PostgreSQL as a LIKE on the byte-wise ("C") column, which the planner
    reads as the same range but estimates from the prefix; a bare range
    inside one bucket of its histogram it guesses at one row, and then walks
    every row of a common prefix once for each entry of another word."""
    if len(token) < MIN_PREFIX:
        return column == token
    if db.session.get_bind().dialect.name == "postgresql":
        return column.like(token + "%")
    return (column >= token) & (column < token + "{")


_WORD_TRIGRAMS = table(SEARCH_WORD_TRIGRAM, column("word"))


def _inside_words(token: str) -> list[str]:
    """Words of the list with `token` inside them, not at the start.

    Found through the word list's trigram index: on PostgreSQL the GIN
    index serves the LIKE on the list itself, on SQLite the FTS5 table does.
    """
    if len(token) < MIN_INSIDE:
        return []
    if db.session.get_bind().dialect.name == "sqlite":
        word = _WORD_TRIGRAMS.c.word
    else:
        word = SearchWord.__table__.c.word
    return list(
        db.session.scalars(
            select(word)
            .where(word.like(f"%{token}%"), ~_prefix(word, token))
            .order_by(func.length(word), word)
            .limit(MAX_ALTERNATIVES)
        )
    )


def _is_known(token: str) -> bool:
    word = SearchWord.__table__.c.word
    return db.session.scalar(select(word).where(_prefix(word, token)).limit(1)) is not None


def _corrections(token: str) -> list[str]:
    """Words of the list one edit from `token` (two for 8 letters or more).

    Only words of a near length are read; rapidfuzz measures them.
    """
    if len(token) < MIN_TYPO:
        return []
    edits = 2 if len(token) >= 8 else 1
    word = SearchWord.__table__.c.word
    candidates = db.session.scalars(
        select(word).where(func.length(word).between(len(token) - edits, len(token) + edits))
    ).all()
    found = process.extract(
        token, candidates, scorer=Levenshtein.distance, score_cutoff=edits,
        limit=MAX_ALTERNATIVES,
    )
    return [w for w, _distance, _index in sorted(found, key=lambda f: (f[1], f[0]))]


def _slot_matcher(slot: Slot, corrections: dict[str, str]):
    """The ways a slot matches an index row, for any alias of the index.

    Returns a function of the index's columns giving (condition, how well),
    best first: each is its own index scan (a prefix range or a list of
    whole words), and where one row meets two of them the first is the
    best. The word lists are sought once, here.
    """
    prefix = slot.typed[0] if len(slot.typed) == 1 else None
    synonyms = sorted(slot.synonyms)
    inside, corrected = [], []
    if prefix is not None:
        inside = _inside_words(prefix)
        if not inside and not synonyms and not _is_known(prefix):
            corrected = _corrections(prefix)
            if corrected:
                corrections[prefix] = corrected[0]

    def kinds(term) -> list:
        found = []
        if prefix is not None:
            how = case((term.term == prefix, EXACT), else_=PREFIX)
            found.append((_prefix(term.term, prefix), how))
        if synonyms:
            found.append((among(term.term, synonyms), SYNONYM))
        if inside:
            found.append((among(term.term, inside), COMPOUND))
        if corrected:
            found.append((among(term.term, corrected), CORRECTED))
        return found or [(false(), EXACT)]

    return kinds


def _slot_query(term, index: int, kinds: list):
    """Entries matching a slot, with the best score of how they match it.

    The ways of matching are put together with UNION ALL: an OR of them
    would make SQLite read the whole index.
    """
    rows = union_all(
        *(
            select(
                term.entity_type,
                term.entity_id,
                term.term,
                (term.weight * how_well).label("score"),
            ).where(condition)
            for condition, how_well in kinds
        )
    ).subquery()
    return (
        select(
            rows.c.entity_type,
            rows.c.entity_id,
            # the best match, and one more for each further word matched:
            # "jour" finds TiB (tib, tjansteman, beredskap) before RCB (beredskap)
            (func.max(rows.c.score) + func.count(rows.c.term.distinct()) - 1).label("score"),
            literal(index).label("slot"),
        )
        .group_by(rows.c.entity_type, rows.c.entity_id)
    )


def _type_order(column):
    return case(
        *((column == kind, rank) for kind, rank in TYPE_ORDER.items()), else_=len(TYPE_ORDER)
    )


def _sizes(term, kinds_per_slot: list[list], cap: int = RAREST_PROBE) -> list[int]:
    """How many index rows each slot matches, counted up to `cap` a way."""
    probes = [
        select(func.count())
        .select_from(select(term.entity_id).where(condition).limit(cap).subquery())
        .scalar_subquery()
        for kinds in kinds_per_slot
        for condition, _how in kinds
    ]
    counts = iter(db.session.execute(select(*probes)).one())
    return [sum(next(counts) for _ in kinds) for kinds in kinds_per_slot]


def _slot_score(term, kinds: list):
    """A slot's part of an entry's score, from the entry's own index rows: the
    best match (weight times how well), and one more for each further word
    matched; NULL when no row matches the slot."""
    best = func.max(case(*((cond, term.weight * how) for cond, how in kinds)))
    words = func.count(case((or_(*(cond for cond, _how in kinds)), term.term)).distinct())
    return best + words - 1


def _score(term, kinds_per_slot: list[list]):
    """An entry's score over every slot (each matched)."""
    slot_scores = [_slot_score(term, kinds) for kinds in kinds_per_slot]
    return sum(slot_scores[1:], slot_scores[0]).label("score")


def _also_matching(matchers: list, skip: int, entity) -> list:
    """For each slot but `skip`: EXISTS an index row of `entity` (a row with
    entity_type and entity_id columns) that matches it, through the entity index."""
    table = SearchTerm.__table__
    found = []
    for i, matcher in enumerate(matchers):
        if i == skip:
            continue
        other = table.alias(f"slot{i}")
        found.append(
            select(literal(1))
            .where(other.c.entity_type == entity.c.entity_type,
                   other.c.entity_id == entity.c.entity_id,
                   or_(*(cond for cond, _how in matcher(other.c))))
            .exists()
        )
    return found


def _rank_every_word(term, slots: list[Slot], matchers: list, sizes: list[int],
                     limit: int) -> list:
    """Entries matching every slot, best first.

    Grouping every match of every word ("tib" is in every municipality's
    duty role) grows with the region. When one word is rare, an entry
    matching every word is among that word's entries: those are kept that
    have a row for each other slot too (looked up through the entity index),
    and only they are scored. When every word is common, candidates are read
    in the order scores mostly follow (`_tier_candidates`). How many rows
    each slot has is counted only up to `RAREST_PROBE`, which is enough to
    choose. A single rare word: [] (`_rank_most_words` groups its matches).
    """
    kinds_per_slot = [matcher(term) for matcher in matchers]
    if min(sizes) == 0:
        return []
    if len(slots) > 1 and min(sizes) >= RAREST_PROBE:
        # Every word is common: counted further, to be driven by the rarest
        # ("holm tib" driven by "holm", in the names of most places, read
        # every candidate that lacked "tib": 130 ms at 200 000 persons).
        sizes = _sizes(term, kinds_per_slot, COMMON_ROWS)
    if min(sizes) >= (RAREST_PROBE if len(slots) == 1 else COMMON_ROWS):
        driving = min(range(len(slots)), key=lambda i: (sizes[i], i))
        found = _tier_candidates(matchers, driving, limit * 4, every=True)
        return _rank_candidates(term, kinds_per_slot, found, limit)
    if len(matchers) == 1:
        return []
    rarest = sizes.index(min(sizes))
    table = SearchTerm.__table__
    driving = union_all(
        *(select(term.entity_type, term.entity_id).where(cond)
          for cond, _how in kinds_per_slot[rarest])
    ).subquery()
    also = _also_matching(matchers, rarest, driving)
    found = (
        select(driving.c.entity_type, driving.c.entity_id).where(*also).distinct().subquery()
    )
    score = _score(term, kinds_per_slot)
    return db.session.execute(
        select(term.entity_type, term.entity_id, score, literal(len(matchers)).label("matched"))
        .select_from(
            table.join(
                found,
                and_(term.entity_type == found.c.entity_type,
                     term.entity_id == found.c.entity_id),
            )
        )
        .group_by(term.entity_type, term.entity_id)
        .order_by(score.desc(), _type_order(term.entity_type))
        .limit(limit * 4)
    ).all()


def _tier_candidates(matchers: list, driving: int, wanted: int,
                     every: bool) -> list[tuple[str, int]]:
    """Up to `wanted` entries matching a common word, in the order scores mostly
    follow, without reading every row that shares the word ("ha", as the
    type-ahead starts: 130 000 index rows at 200 000 persons).

    Scores follow the weight first (an entry's own words score 8 to 10 a
    slot, the words of what it belongs to 4 or 5), and among equal scores
    roles and actors come first (`TYPE_ORDER`). So the driving slot's rows
    are read in that order, weight by weight and kind of entry by kind, each
    a range of the index `ix_search_term_tier`; with `every`, only those of
    entries that match the other slots too. Among thousands of entries
    sharing a prefix, one that needs a second matching word to rise above
    its tier may be left out; the entries found are among the best.
    """
    table = SearchTerm.__table__
    tier = table.alias("tier")
    also = _also_matching(matchers, driving, tier) if every else []
    ranges = [
        select(tier.c.entity_type, tier.c.entity_id)
        .where(tier.c.weight == weight, tier.c.entity_type == entity_type, condition, *also)
        .limit(wanted)
        .subquery()
        for weight in (OWN_WEIGHT, CONTEXT_WEIGHT)
        for entity_type in TYPE_ORDER
        for condition, _how in matchers[driving](tier.c)
    ]
    # Read in that order, and no further than needed: both databases run the
    # parts of a UNION ALL one after the other, and stop at its LIMIT.
    rows = db.session.execute(
        union_all(*(select(r.c.entity_type, r.c.entity_id) for r in ranges)).limit(wanted * 2)
    ).all()
    return list(dict.fromkeys((entity_type, entity_id) for entity_type, entity_id in rows))[
        :wanted]


def _rank_candidates(term, kinds_per_slot: list[list], found: list[tuple[str, int]],
                     limit: int) -> list:
    """These entries scored and ranked as `_rank_most_words` ranks: most slots
    matched first, then the score.

    Their own rows are read by id through the entity index and scored as
    they match; no condition on the words, which a planner that misjudges a
    prefix's rows would answer by walking every row of the prefix.
    """
    if not found:
        return []
    ids: dict[str, list[int]] = {}
    for entity_type, entity_id in found:
        ids.setdefault(entity_type, []).append(entity_id)
    slot_scores = [_slot_score(term, kinds) for kinds in kinds_per_slot]
    scores = [func.coalesce(part, 0) for part in slot_scores]
    matched = [case((part.is_(None), 0), else_=1) for part in slot_scores]
    score = sum(scores[1:], scores[0]).label("score")
    count = sum(matched[1:], matched[0]).label("matched")
    return db.session.execute(
        select(term.entity_type, term.entity_id, score, count)
        .where(or_(*(and_(term.entity_type == entity_type, among(term.entity_id, chosen))
                     for entity_type, chosen in ids.items())))
        .group_by(term.entity_type, term.entity_id)
        .order_by(count.desc(), score.desc(), _type_order(term.entity_type))
        .limit(limit * 4)
    ).all()


def _rank_some_words(term, matchers: list, sizes: list[int], limit: int) -> list:
    """Entries matching most slots when no entry matches all and a word is
    common: each common slot's best candidates (`_tier_candidates`) and every
    entry of each rare one, scored together; not every match grouped."""
    found: dict[tuple[str, int], None] = {}
    for i, (matcher, size) in enumerate(zip(matchers, sizes, strict=True)):
        if size >= RAREST_PROBE:
            found.update(dict.fromkeys(_tier_candidates(matchers, i, limit * 4, every=False)))
        elif size:
            found.update(dict.fromkeys(db.session.execute(
                union_all(*(select(term.entity_type, term.entity_id).where(cond)
                            for cond, _how in matcher(term)))
            ).all()))
    return _rank_candidates(term, [matcher(term) for matcher in matchers], list(found), limit)


def _rank_most_words(term, kinds_per_slot: list[list], limit: int) -> list:
    """Entries matching most slots, best first: every match of every slot grouped."""
    per_slot = [_slot_query(term, i, kinds) for i, kinds in enumerate(kinds_per_slot)]
    matches = union_all(*per_slot).subquery()
    matched = func.count().label("matched")
    score = func.sum(matches.c.score).label("score")
    return db.session.execute(
        select(matches.c.entity_type, matches.c.entity_id, score, matched)
        .group_by(matches.c.entity_type, matches.c.entity_id)
        .order_by(matched.desc(), score.desc(), _type_order(matches.c.entity_type))
        .limit(limit * 4)
    ).all()


def search(query: str, limit: int = MAX_RESULTS) -> Results:
    """Entries matching the query's words, best first (see the module's doc)."""
    results = Results()
    tokens = list(dict.fromkeys(fold(query).split()))[:MAX_TOKENS]
    if not tokens:
        return results
    slots = slots_of(tokens, synonym_groups())
    if db.session.get_bind().dialect.name == "postgresql":
        # Each statement reads a few thousand index rows at most: starting
        # parallel workers for one costs more than the statement (10 ms of 15).
        db.session.execute(sql_text("SET LOCAL max_parallel_workers_per_gather = 0"))
    term = SearchTerm.__table__.c
    matchers = [_slot_matcher(slot, results.corrections) for slot in slots]
    sizes = _sizes(term, [matcher(term) for matcher in matchers])
    ranked = _rank_every_word(term, slots, matchers, sizes, limit)
    if not ranked and max(sizes) >= RAREST_PROBE:  # no entry has every word, one is common
        ranked = _rank_some_words(term, matchers, sizes, limit)
    elif not ranked:  # one rare word, or no entry has every word: those with most
        ranked = _rank_most_words(term, [matcher(term) for matcher in matchers], limit)
    if ranked:
        most = ranked[0].matched
        results.partial = most < len(slots)
        ranked = [row for row in ranked if row.matched == most]
    briefs = _briefs(ranked)
    hits = [
        Hit(entity_type, briefs[entity_type, entity_id], score, count)
        for entity_type, entity_id, score, count in ranked
        if (entity_type, entity_id) in briefs
    ]
    hits.sort(
        key=lambda h: (-h.score, TYPE_ORDER[h.entity_type], _sort_key(_name(h.entry)))
    )
    hits = _actor_first(hits, tokens)
    # A path whose owner is found too is shown inside its owner's result.
    found = {(h.entity_type, h.entry.id) for h in hits}
    hits = [
        h for h in hits
        if h.entity_type != "contact_point" or h.entry.owner_key not in found
    ][:limit]
    # Only the entries shown are loaded whole, with what a result shows.
    entries = _load(hits)
    for hit in hits:
        entry = entries.get(hit.entity_type, {}).get(hit.entry.id)
        if entry is not None:
            hit.entry = entry
            results.append(hit)
    return results


def _actor_first(hits: list[Hit], query_words: list[str]) -> list[Hit]:
    """An actor named by the query comes first, its roles right after it.

    The actors named are those found as well as the best hit (their own
    name matches as well as anything does). Among them, public actors before
    companies, then the one the query names whole ("haninge" is Haninge
    kommun's short name) and the one with the shortest name: "haninge" asks
    for the municipality before FRG Haninge or a contractor there.
    """
    if not hits:
        return hits
    best = hits[0].score
    named = [h for h in hits if h.entity_type == "actor" and h.score == best]
    words = set(query_words)

    def fit(hit: Hit):
        names = [set(fold(n).split()) for n in (hit.entry.name, hit.entry.short_name) if n]
        return (
            hit.entry.kind == ActorKind.COMPANY,
            not any(n and n <= words for n in names),
            min(len(n) for n in names),
        )

    named.sort(key=fit)
    if not named:
        return hits
    front: list[Hit] = []
    for actor_hit in named:
        front.append(actor_hit)
        front += [
            h for h in hits
            if h.entity_type == "role" and h.entry.actor_id == actor_hit.entry.id
        ]
    taken = {id(h) for h in front}
    return front + [h for h in hits if id(h) not in taken]


# Names repeat from search to search; their Swedish sort keys are kept.
_sort_key = lru_cache(maxsize=1 << 14)(swedish_sort_key)


def _name(entry) -> str:
    return getattr(entry, "name", None) or getattr(entry, "label", None) or ""


# An entry's owners (many-to-one) joined into its own statement, its paths
# (one-to-many) in one more: each statement costs more in SQLAlchemy than in
# the database (two to four times, at 50 000 persons on SQLite).
_LOADERS = {
    "actor": [selectinload(Actor.contact_points)],
    "role": [joinedload(Role.actor), selectinload(Role.contact_points)],
    "person": [joinedload(Person.actor), selectinload(Person.contact_points)],
    "contact_point": [
        joinedload(ContactPoint.actor),
        joinedload(ContactPoint.pattern).joinedload(CollaborationPattern.convener_actor),
        joinedload(ContactPoint.role).joinedload(Role.actor),
        joinedload(ContactPoint.person).joinedload(Person.actor),
    ],
    "collaboration_pattern": [
        joinedload(CollaborationPattern.convener_actor),
        selectinload(CollaborationPattern.channels),
    ],
}


@dataclass
class Brief:
    """What ranking needs of an entry: its name, kind and owners, not its paths."""

    id: int
    name: str | None = None
    short_name: str | None = None
    label: str | None = None
    kind: object = None
    actor_id: int | None = None
    owner_key: tuple[str, int] | None = None  # a contact path's owner


def _briefs(ranked) -> dict[tuple[str, int], Brief]:
    """The ranked entries' names and owners, one light query per kind.

    The ranking reads a few hundred rows; loading each whole, with its
    contact paths, would cost more than finding them.
    """
    wanted = defaultdict(set)
    for entity_type, entity_id, *_rest in ranked:
        wanted[entity_type].add(entity_id)
    briefs: dict[tuple[str, int], Brief] = {}
    for entity_type, ids in wanted.items():
        model = SEARCHED.get(entity_type)
        if model is None:  # indexed by an older version, not a kind shown
            continue
        live = (among(model.id, sorted(ids)), model.deleted_at.is_(None))
        if model is Actor:
            rows = db.session.execute(
                select(Actor.id, Actor.name, Actor.short_name, Actor.kind).where(*live)
            )
            made = (Brief(i, name=n, short_name=s, kind=k) for i, n, s, k in rows)
        elif model is Role or model is Person:
            rows = db.session.execute(select(model.id, model.name, model.actor_id).where(*live))
            made = (Brief(i, name=n, actor_id=a) for i, n, a in rows)
        elif model is ContactPoint:
            rows = db.session.execute(
                select(ContactPoint.id, ContactPoint.label, ContactPoint.actor_id,
                       ContactPoint.role_id, ContactPoint.person_id, ContactPoint.pattern_id)
                .where(*live)
            )
            made = (Brief(i, label=label, owner_key=_owner_key(owners))
                    for i, label, *owners in rows)
        else:
            rows = db.session.execute(select(model.id, model.name).where(*live))
            made = (Brief(i, name=n) for i, n in rows)
        briefs.update(((entity_type, b.id), b) for b in made)
    return briefs


_OWNER_KINDS = ("actor", "role", "person", "collaboration_pattern")  # as ContactPoint.owner


def _owner_key(owner_ids) -> tuple[str, int] | None:
    for kind, owner_id in zip(_OWNER_KINDS, owner_ids, strict=True):
        if owner_id is not None:
            return kind, owner_id
    return None


def _load(hits: list[Hit]) -> dict[str, dict[int, object]]:
    """Load the entries shown, one query per kind, with what the result shows."""
    wanted = defaultdict(set)
    for hit in hits:
        wanted[hit.entity_type].add(hit.entry.id)
    loaded: dict[str, dict[int, object]] = {}
    for entity_type, ids in wanted.items():
        model = SEARCHED[entity_type]
        rows = db.session.scalars(
            select(model)
            .where(among(model.id, sorted(ids)), model.deleted_at.is_(None))
            .options(*_LOADERS[entity_type])
        ).all()
        loaded[entity_type] = {row.id: row for row in rows}
    return loaded
