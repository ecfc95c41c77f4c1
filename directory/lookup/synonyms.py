"""Synonyms and abbreviations the region shares, kept by coordinators.

Each group is a line of terms that mean the same ("TiB, tjänsteman i
beredskap, jour, beredskap"); a term may be a phrase. A query's words are
read into slots (`slots_of`): a phrase a group names is one slot, sought by
its longest word, with the group's other terms as whole words found equal.
Search (`directory.lookup.search`) seeks each slot.
"""

from dataclasses import dataclass, field

from sqlalchemy import select

from directory.core.extensions import db
from directory.core.models import SearchSynonym
from directory.core.text import fold


def parse_terms(text: str) -> list[str]:
    """The terms of one synonym group as written, separated by commas."""
    return [t.strip() for t in (text or "").split(",") if fold(t).strip()]


def saved_synonyms() -> list[str]:
    """The coordinators' groups as they wrote them, one string of terms each."""
    return list(db.session.scalars(select(SearchSynonym.terms).order_by(SearchSynonym.id)))


def save_synonyms(groups: list[str]) -> None:
    """Replace the region's synonym groups with `groups` (each "TiB, jour, ...").

    Flushes, does not commit: the page commits, so a failure writes nothing.
    """
    # Row by row, through the session: its flush hooks see the change (the
    # page cache's data version), which a bulk DELETE would slip past.
    for row in db.session.scalars(select(SearchSynonym)):
        db.session.delete(row)
    db.session.add_all(SearchSynonym(terms=terms) for terms in groups)
    db.session.flush()


def synonym_groups() -> list[list[tuple[str, ...]]]:
    """The coordinators' groups, each a list of folded terms (word tuples)."""
    groups = []
    for terms in saved_synonyms():
        group = [tuple(fold(t).split()) for t in parse_terms(terms)]
        if len(group) > 1:
            groups.append(group)
    return groups


@dataclass
class Slot:
    """One thing the query asks for: a word, or a phrase a synonym group names."""

    typed: tuple[str, ...]
    synonyms: set[str] = field(default_factory=set)  # whole words found equal


def slots_of(tokens: list[str], groups) -> list[Slot]:
    """Group the query's words into slots, longest synonym phrase first.

    A term of several words stands for its longest word ("tjänsteman i
    beredskap" is sought as "tjansteman"); the index holds single words.
    """
    slots: list[Slot] = []
    i = 0
    while i < len(tokens):
        best, best_groups = 1, []
        for group in groups:
            for term in group:
                n = len(term)
                if n >= best and tuple(tokens[i : i + n]) == term:
                    if n > best:
                        best, best_groups = n, []
                    best_groups.append(group)
        slot = Slot(tuple(tokens[i : i + best]))
        if best > 1:
            slot.synonyms.add(max(slot.typed, key=len))
        for group in best_groups:
            for term in group:
                if term != slot.typed:
                    slot.synonyms.add(max(term, key=len))
        slots.append(slot)
        i += best
    return slots
