"""Search and reverse lookup: what a duty officer types, and what it finds.

Every searchable entry has its words in the `search_term` index, every word
indexed once in `search_word` (both kept by `directory.lookup.index`). Case
and diacritics do not matter. Each word of the query is
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

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from sqlalchemy import (
    and_,
    bindparam,
    case,
    column,
    false,
    func,
    literal,
    or_,
    select,
    table,
    union_all,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from directory.core.database import among_param, listed
from directory.core.extensions import db
from directory.core.models import (
    Actor,
    ActorKind,
    CollaborationPattern,
    ContactPoint,
    Person,
    Role,
    SearchTerm,
    SearchWord,
)
from directory.core.models.accounts import SEARCH_WORD_TRIGRAM
from directory.core.text import fold, swedish_sort_key
from directory.lookup.index import CONTEXT_WEIGHT, OWN_WEIGHT, SEARCHED
from directory.lookup.synonyms import Slot, slots_of, synonym_groups

MAX_TOKENS = 6
MIN_PREFIX = 2  # shorter words must match a whole word
MAX_RESULTS = 50
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


# Statements are built once per shape. Building one (SQLAlchemy's expression
# objects, then the key it is compiled under) cost more than running it: at
# 50 000 persons on SQLite a search spent 3.6 ms of its 6.3 building the
# statements the database answered in 1.5 ms. So each statement is built for
# its *shape* (the database, the ways each word of the query matches, the way
# it is ranked), with the query's values as named parameters, and kept
# (`lru_cache`); a search only fills in the values (`SlotWays.values`). A
# shape holds no value, so nothing anyone typed is kept.


def _starts(column, name: str, dialect: str):
    """Words starting with the parameter `name` (folded: a-z and 0-9 only): an
    index range. Its values are `_start_values(name, word)`.

    On PostgreSQL as a LIKE on the byte-wise ("C") column, which the planner
    reads as the same range but estimates from the prefix; a bare range
    inside one bucket of its histogram it guesses at one row, and then walks
    every row of a common prefix once for each entry of another word."""
    if dialect == "postgresql":
        return column.like(bindparam(f"{name}_like"))
    return (column >= bindparam(name)) & (column < bindparam(f"{name}_end"))


def _start_values(name: str, word: str) -> dict[str, str]:
    return {name: word, f"{name}_end": word + "{", f"{name}_like": word + "%"}


_WORD_TRIGRAMS = table(SEARCH_WORD_TRIGRAM, column("word"))


@lru_cache(maxsize=8)
def _inside_statement(dialect: str):
    word = _WORD_TRIGRAMS.c.word if dialect == "sqlite" else SearchWord.__table__.c.word
    return (
        select(word)
        .where(word.like(bindparam("inside")), ~_starts(word, "word", dialect))
        .order_by(func.length(word), word)
        .limit(MAX_ALTERNATIVES)
    )


def _inside_words(token: str) -> list[str]:
    """Words of the list with `token` inside them, not at the start.

    Found through the word list's trigram index: on PostgreSQL the GIN
    index serves the LIKE on the list itself, on SQLite the FTS5 table does.
    """
    if len(token) < MIN_INSIDE:
        return []
    dialect = db.session.get_bind().dialect.name
    return list(db.session.scalars(
        _inside_statement(dialect), {"inside": f"%{token}%", **_start_values("word", token)}))


@lru_cache(maxsize=8)
def _known_statement(dialect: str, whole: bool):
    word = SearchWord.__table__.c.word
    starts = word == bindparam("word") if whole else _starts(word, "word", dialect)
    return select(word).where(starts).limit(1)


def _is_known(token: str) -> bool:
    statement = _known_statement(db.session.get_bind().dialect.name, len(token) < MIN_PREFIX)
    return db.session.scalar(statement, _start_values("word", token)) is not None


@lru_cache(maxsize=1)
def _near_length_statement():
    word = SearchWord.__table__.c.word
    return select(word).where(func.length(word).between(bindparam("shortest"),
                                                       bindparam("longest")))


def _corrections(token: str) -> list[str]:
    """Words of the list one edit from `token` (two for 8 letters or more).

    Only words of a near length are read; rapidfuzz measures them.
    """
    if len(token) < MIN_TYPO:
        return []
    edits = 2 if len(token) >= 8 else 1
    candidates = db.session.scalars(
        _near_length_statement(),
        {"shortest": len(token) - edits, "longest": len(token) + edits},
    ).all()
    found = process.extract(
        token, candidates, scorer=Levenshtein.distance, score_cutoff=edits,
        limit=MAX_ALTERNATIVES,
    )
    return [w for w, _distance, _index in sorted(found, key=lambda f: (f[1], f[0]))]


@dataclass(frozen=True)
class Shape:
    """The ways one slot matches an index row: what a statement's structure
    depends on, and none of the words."""

    start: str | None  # "range": words starting with it; "whole": too short; None: a phrase
    synonyms: bool = False
    inside: bool = False
    corrected: bool = False

    @property
    def ways(self) -> int:
        """How many conditions `_kinds` makes (a slot matching nothing has one)."""
        return max(1, (self.start is not None) + self.synonyms + self.inside + self.corrected)


@dataclass
class SlotWays:
    """Each slot's shape, and the values its statements are run with."""

    dialect: str
    shapes: tuple[Shape, ...]
    values: dict


def _slot_ways(slots: list[Slot], dialect: str, corrections: dict[str, str]) -> SlotWays:
    """How each slot matches, its word lists sought once, here: words inside
    compounds always, corrections only when the word is found no other way."""
    shapes, values = [], {}
    for i, slot in enumerate(slots):
        prefix = slot.typed[0] if len(slot.typed) == 1 else None
        synonyms = sorted(slot.synonyms)
        inside, corrected = [], []
        if prefix is not None:
            values.update(_start_values(f"w{i}", prefix))
            inside = _inside_words(prefix)
            if not inside and not synonyms and not _is_known(prefix):
                corrected = _corrections(prefix)
                if corrected:
                    corrections[prefix] = corrected[0]
        for name, words in ((f"syn{i}", synonyms), (f"in{i}", inside), (f"fix{i}", corrected)):
            if words:
                values[name] = listed(words, dialect)
        start = None if prefix is None else "whole" if len(prefix) < MIN_PREFIX else "range"
        shapes.append(Shape(start, bool(synonyms), bool(inside), bool(corrected)))
    return SlotWays(dialect, tuple(shapes), values)


def _kinds(term, i: int, shape: Shape, dialect: str) -> list:
    """Slot i's ways of matching a row of the index (any alias of it), as
    (condition, how well), best first: each is its own index scan (a prefix
    range or a list of whole words), and where one row meets two of them the
    first is the best."""
    found = []
    if shape.start is not None:
        word = bindparam(f"w{i}")
        how = case((term.term == word, EXACT), else_=PREFIX)
        starts = term.term == word if shape.start == "whole" else _starts(term.term, f"w{i}",
                                                                          dialect)
        found.append((starts, how))
    if shape.synonyms:
        found.append((among_param(term.term, f"syn{i}", dialect), SYNONYM))
    if shape.inside:
        found.append((among_param(term.term, f"in{i}", dialect), COMPOUND))
    if shape.corrected:
        found.append((among_param(term.term, f"fix{i}", dialect), CORRECTED))
    return found or [(false(), EXACT)]


def _kinds_per_slot(term, dialect: str, shapes: tuple[Shape, ...]) -> list[list]:
    return [_kinds(term, i, shape, dialect) for i, shape in enumerate(shapes)]


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


@lru_cache(maxsize=512)
def _sizes_statement(dialect: str, shapes: tuple[Shape, ...], cap: int):
    term = SearchTerm.__table__.c
    return select(*(
        select(func.count())
        .select_from(select(term.entity_id).where(condition).limit(cap).subquery())
        .scalar_subquery()
        for kinds in _kinds_per_slot(term, dialect, shapes)
        for condition, _how in kinds
    ))


def _sizes(ways: SlotWays, cap: int = RAREST_PROBE) -> list[int]:
    """How many index rows each slot matches, counted up to `cap` a way."""
    statement = _sizes_statement(ways.dialect, ways.shapes, cap)
    counts = iter(db.session.execute(statement, ways.values).one())
    return [sum(next(counts) for _ in range(shape.ways)) for shape in ways.shapes]


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


def _also_matching(dialect: str, shapes: tuple[Shape, ...], skip: int, entity) -> list:
    """For each slot but `skip`: EXISTS an index row of `entity` (a row with
    entity_type and entity_id columns) that matches it, through the entity index."""
    table = SearchTerm.__table__
    found = []
    for i, shape in enumerate(shapes):
        if i == skip:
            continue
        other = table.alias(f"slot{i}")
        found.append(
            select(literal(1))
            .where(other.c.entity_type == entity.c.entity_type,
                   other.c.entity_id == entity.c.entity_id,
                   or_(*(cond for cond, _how in _kinds(other.c, i, shape, dialect))))
            .exists()
        )
    return found


def _rank_every_word(ways: SlotWays, sizes: list[int], limit: int) -> list:
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
    slots = len(ways.shapes)
    if min(sizes) == 0:
        return []
    if slots > 1 and min(sizes) >= RAREST_PROBE:
        # Every word is common: counted further, to be driven by the rarest
        # ("holm tib" driven by "holm", in the names of most places, read
        # every candidate that lacked "tib": 130 ms at 200 000 persons).
        sizes = _sizes(ways, COMMON_ROWS)
    if min(sizes) >= (RAREST_PROBE if slots == 1 else COMMON_ROWS):
        driving = min(range(slots), key=lambda i: (sizes[i], i))
        found = _tier_candidates(ways, driving, limit * 4, every=True)
        return _rank_candidates(ways, found, limit)
    if slots == 1:
        return []
    statement = _rarest_statement(ways.dialect, ways.shapes, sizes.index(min(sizes)), limit)
    return db.session.execute(statement, ways.values).all()


@lru_cache(maxsize=512)
def _rarest_statement(dialect: str, shapes: tuple[Shape, ...], rarest: int, limit: int):
    """Every word's entries among the rarest word's, scored (`_rank_every_word`)."""
    term = SearchTerm.__table__.c
    kinds_per_slot = _kinds_per_slot(term, dialect, shapes)
    table = SearchTerm.__table__
    driving = union_all(
        *(select(term.entity_type, term.entity_id).where(cond)
          for cond, _how in kinds_per_slot[rarest])
    ).subquery()
    also = _also_matching(dialect, shapes, rarest, driving)
    found = (
        select(driving.c.entity_type, driving.c.entity_id).where(*also).distinct().subquery()
    )
    score = _score(term, kinds_per_slot)
    return (
        select(term.entity_type, term.entity_id, score, literal(len(shapes)).label("matched"))
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
    )


def _tier_candidates(ways: SlotWays, driving: int, wanted: int,
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
    statement = _tier_statement(ways.dialect, ways.shapes, driving, wanted, every)
    rows = db.session.execute(statement, ways.values).all()
    return list(dict.fromkeys((entity_type, entity_id) for entity_type, entity_id in rows))[
        :wanted]


@lru_cache(maxsize=512)
def _tier_statement(dialect: str, shapes: tuple[Shape, ...], driving: int, wanted: int,
                    every: bool):
    table = SearchTerm.__table__
    tier = table.alias("tier")
    also = _also_matching(dialect, shapes, driving, tier) if every else []
    ranges = [
        select(tier.c.entity_type, tier.c.entity_id)
        .where(tier.c.weight == weight, tier.c.entity_type == entity_type, condition, *also)
        .limit(wanted)
        .subquery()
        for weight in (OWN_WEIGHT, CONTEXT_WEIGHT)
        for entity_type in TYPE_ORDER
        for condition, _how in _kinds(tier.c, driving, shapes[driving], dialect)
    ]
    # Read in that order, and no further than needed: both databases run the
    # parts of a UNION ALL one after the other, and stop at its LIMIT.
    return union_all(*(select(r.c.entity_type, r.c.entity_id) for r in ranges)).limit(wanted * 2)


def _rank_candidates(ways: SlotWays, found: list[tuple[str, int]], limit: int) -> list:
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
    kinds = tuple(sorted(ids))
    statement = _candidates_statement(ways.dialect, ways.shapes, kinds, limit)
    chosen = {f"ids_{kind}": listed(ids[kind], ways.dialect) for kind in kinds}
    return db.session.execute(statement, {**ways.values, **chosen}).all()


@lru_cache(maxsize=512)
def _candidates_statement(dialect: str, shapes: tuple[Shape, ...], kinds: tuple[str, ...],
                          limit: int):
    term = SearchTerm.__table__.c
    slot_scores = [_slot_score(term, kinds) for kinds in _kinds_per_slot(term, dialect, shapes)]
    scores = [func.coalesce(part, 0) for part in slot_scores]
    matched = [case((part.is_(None), 0), else_=1) for part in slot_scores]
    score = sum(scores[1:], scores[0]).label("score")
    count = sum(matched[1:], matched[0]).label("matched")
    return (
        select(term.entity_type, term.entity_id, score, count)
        .where(or_(*(and_(term.entity_type == kind,
                          among_param(term.entity_id, f"ids_{kind}", dialect))
                     for kind in kinds)))
        .group_by(term.entity_type, term.entity_id)
        .order_by(count.desc(), score.desc(), _type_order(term.entity_type))
        .limit(limit * 4)
    )


def _rank_some_words(ways: SlotWays, sizes: list[int], limit: int) -> list:
    """Entries matching most slots when no entry matches all and a word is
    common: each common slot's best candidates (`_tier_candidates`) and every
    entry of each rare one, scored together; not every match grouped."""
    found: dict[tuple[str, int], None] = {}
    for i, size in enumerate(sizes):
        if size >= RAREST_PROBE:
            found.update(dict.fromkeys(_tier_candidates(ways, i, limit * 4, every=False)))
        elif size:
            statement = _slot_rows_statement(ways.dialect, i, ways.shapes[i])
            found.update(dict.fromkeys(
                tuple(row) for row in db.session.execute(statement, ways.values)))
    return _rank_candidates(ways, list(found), limit)


@lru_cache(maxsize=512)
def _slot_rows_statement(dialect: str, i: int, shape: Shape):
    term = SearchTerm.__table__.c
    return union_all(*(select(term.entity_type, term.entity_id).where(cond)
                       for cond, _how in _kinds(term, i, shape, dialect)))


def _rank_most_words(ways: SlotWays, limit: int) -> list:
    """Entries matching most slots, best first: every match of every slot grouped."""
    statement = _most_words_statement(ways.dialect, ways.shapes, limit)
    return db.session.execute(statement, ways.values).all()


@lru_cache(maxsize=512)
def _most_words_statement(dialect: str, shapes: tuple[Shape, ...], limit: int):
    term = SearchTerm.__table__.c
    per_slot = [_slot_query(term, i, kinds)
                for i, kinds in enumerate(_kinds_per_slot(term, dialect, shapes))]
    matches = union_all(*per_slot).subquery()
    matched = func.count().label("matched")
    score = func.sum(matches.c.score).label("score")
    return (
        select(matches.c.entity_type, matches.c.entity_id, score, matched)
        .group_by(matches.c.entity_type, matches.c.entity_id)
        .order_by(matched.desc(), score.desc(), _type_order(matches.c.entity_type))
        .limit(limit * 4)
    )


def search(query: str, limit: int = MAX_RESULTS) -> Results:
    """Entries matching the query's words, best first (see the module's doc)."""
    results = Results()
    tokens = list(dict.fromkeys(fold(query).split()))[:MAX_TOKENS]
    if not tokens:
        return results
    slots = slots_of(tokens, synonym_groups())
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        # Each statement reads a few thousand index rows at most: starting
        # parallel workers for one costs more than the statement (10 ms of 15).
        db.session.execute(sql_text("SET LOCAL max_parallel_workers_per_gather = 0"))
    ways = _slot_ways(slots, dialect, results.corrections)
    sizes = _sizes(ways)
    ranked = _rank_every_word(ways, sizes, limit)
    if not ranked and max(sizes) >= RAREST_PROBE:  # no entry has every word, one is common
        ranked = _rank_some_words(ways, sizes, limit)
    elif not ranked:  # one rare word, or no entry has every word: those with most
        ranked = _rank_most_words(ways, limit)
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


# An entry's owners (many-to-one) joined into its own statement: each
# statement costs more in SQLAlchemy than in the database (two to four times,
# at 50 000 persons on SQLite). The paths of actors, roles and persons come
# in one more (`_load`); `_LOADERS` reads them per kind, for a few entries.
_WHOLE = {
    "actor": [],
    "role": [joinedload(Role.actor)],
    "person": [joinedload(Person.actor)],
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
_LOADERS = {
    **_WHOLE,
    "actor": [selectinload(Actor.contact_points)],
    "role": [*_WHOLE["role"], selectinload(Role.contact_points)],
    "person": [*_WHOLE["person"], selectinload(Person.contact_points)],
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
    dialect = db.session.get_bind().dialect.name
    for entity_type, ids in wanted.items():
        if entity_type not in SEARCHED:  # indexed by an older version, not a kind shown
            continue
        rows = db.session.execute(_brief_statement(dialect, entity_type),
                                  {"ids": listed(sorted(ids), dialect)})
        if entity_type == "actor":
            made = (Brief(i, name=n, short_name=s, kind=k) for i, n, s, k in rows)
        elif entity_type in ("role", "person"):
            made = (Brief(i, name=n, actor_id=a) for i, n, a in rows)
        elif entity_type == "contact_point":
            made = (Brief(i, label=label, owner_key=_owner_key(owners))
                    for i, label, *owners in rows)
        else:
            made = (Brief(i, name=n) for i, n in rows)
        briefs.update(((entity_type, b.id), b) for b in made)
    return briefs


@lru_cache(maxsize=32)
def _brief_statement(dialect: str, entity_type: str):
    model = SEARCHED[entity_type]
    if model is Actor:
        columns = (Actor.id, Actor.name, Actor.short_name, Actor.kind)
    elif model is Role or model is Person:
        columns = (model.id, model.name, model.actor_id)
    elif model is ContactPoint:
        columns = (ContactPoint.id, ContactPoint.label, ContactPoint.actor_id,
                   ContactPoint.role_id, ContactPoint.person_id, ContactPoint.pattern_id)
    else:
        columns = (model.id, model.name)
    return select(*columns).where(among_param(model.id, "ids", dialect),
                                  model.deleted_at.is_(None))


_OWNER_KINDS = ("actor", "role", "person", "collaboration_pattern")  # as ContactPoint.owner


def _owner_key(owner_ids) -> tuple[str, int] | None:
    for kind, owner_id in zip(_OWNER_KINDS, owner_ids, strict=True):
        if owner_id is not None:
            return kind, owner_id
    return None


def _load(hits: list[Hit]) -> dict[str, dict[int, object]]:
    """Load the entries shown, one query per kind, with what the result shows;
    the paths of every actor, role and person shown in one more.

    Loaded per kind (`selectinload`), the paths were a statement and a pass of
    the ORM's loader each: a third of a one-word search at 50 000 persons."""
    wanted = defaultdict(set)
    for hit in hits:
        wanted[hit.entity_type].add(hit.entry.id)
    loaded: dict[str, dict[int, object]] = {}
    dialect = db.session.get_bind().dialect.name
    for entity_type, ids in wanted.items():
        rows = db.session.scalars(_load_statement(dialect, entity_type),
                                  {"ids": listed(sorted(ids), dialect)}).all()
        loaded[entity_type] = {row.id: row for row in rows}
    owners = {kind: loaded.get(kind, {}) for kind in _PATH_OWNERS}
    if any(owners.values()):
        paths = defaultdict(list)
        values = {f"ids_{kind}": listed(sorted(found), dialect) for kind, found in owners.items()}
        for point in db.session.scalars(_paths_statement(dialect), values):
            for kind, column in _PATH_OWNERS.items():
                owner_id = getattr(point, column)
                if owner_id in owners[kind]:
                    paths[kind, owner_id].append(point)
        for kind, found in owners.items():
            for entry_id, entry in found.items():
                # as the relationship orders them (by priority; the id breaks ties)
                set_committed_value(entry, "contact_points", sorted(
                    paths[kind, entry_id], key=lambda p: (p.priority, p.id)))
    return loaded


# The kinds of entry whose paths `_load` reads together, and their column on a path.
_PATH_OWNERS = {"actor": "actor_id", "role": "role_id", "person": "person_id"}


@lru_cache(maxsize=32)
def _load_statement(dialect: str, entity_type: str):
    model = SEARCHED[entity_type]
    return (
        select(model)
        .where(among_param(model.id, "ids", dialect), model.deleted_at.is_(None))
        .options(*_WHOLE[entity_type])
    )


@lru_cache(maxsize=8)
def _paths_statement(dialect: str):
    """Every path (deleted ones too, as the relationship holds them) of the
    actors, roles and persons shown."""
    return select(ContactPoint).where(or_(*(
        among_param(getattr(ContactPoint, column), f"ids_{kind}", dialect)
        for kind, column in _PATH_OWNERS.items()
    )))
