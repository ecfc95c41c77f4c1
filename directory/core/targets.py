"""Whom a step may call, as an editor's form lists it: a role, a person, or an
actor (its switchboard). A role's escalation and a call tree's steps choose
from this list, and name a choice the same way (`role-3`, `person-7`,
`actor-2`) in a page's form and in an API body alike.

A region of a few hundred entries is listed whole. At national scale a list
of everyone is megabytes per select: a role's escalation page, four selects
of 55 000 choices at 50 000 persons, took 7.7 s and 17 MB. Above
`WHOLE_LIST_MAX` entries a form lists the entries of the actors near what is
being edited, the targets already chosen (or sent), and those the editor
finds by name. Any live target sent is accepted, listed or not.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import request
from sqlalchemy import case, func, intersect, select
from sqlalchemy.orm import joinedload
from wtforms.fields.choices import SelectChoice

from directory.core.extensions import db
from directory.core.limits import id_from_text
from directory.core.models import Actor, Person, Role, SearchTerm
from directory.core.text import fold, swedish_sort_key

WHOLE_LIST_MAX = 1500  # live roles, persons and actors listed whole up to this
FOUND_MAX = 40  # entries a search by name adds to the lists
KINDS = {"role": Role, "actor": Actor, "person": Person}  # in the order found ones are kept


def target_value(target) -> str:
    """`role-3`, `person-7`, `actor-2`; "" for none."""
    return f"{type(target).__name__.lower()}-{target.id}" if target is not None else ""


def parse_target(value: str | None):
    """The live role, person or actor a value names, or None (for anything else,
    however malformed: "role-²", "role-99999999999999999999")."""
    kind, _sep, ident = (value or "").partition("-")
    model, ident = KINDS.get(kind), id_from_text(ident)
    if model is None or ident is None:
        return None
    entry = db.session.get(model, ident)
    return entry if entry is not None and entry.deleted_at is None else None


def sought() -> str | None:
    """What an editor asked the lists to find (the form's "Find" button), or
    None when the form was not sent for that: then it is read as a save."""
    if request.method == "POST" and "find_targets" in request.form:
        return " ".join(request.form.get("find", "").split())[:100]
    return None


@dataclass
class Targets:
    """The choices of a form's target selects, and how they were made."""

    choices: list[SelectChoice]
    whole: bool  # every live target is listed (else: near, chosen and found)
    found: int | None = None  # how many a search by name found; None: none sought
    sought: str = ""  # what was sought, as searched
    more: bool = False  # the search found more than it added (`FOUND_MAX`)


def _live_count() -> int:
    def live(model):
        return (select(func.count()).select_from(model)
                .where(model.deleted_at.is_(None)).scalar_subquery())

    return db.session.scalar(select(live(Role) + live(Person) + live(Actor)))


def _found(text: str) -> tuple[list, bool]:
    """Live roles, persons and actors whose words (or their actor's) start with
    every word typed, through the search index: "lst tib", "anna haninge";
    roles first, then actors (switchboards), then persons, at most `FOUND_MAX`;
    and whether there were more."""
    words = list(dict.fromkeys(fold(text).split()))[:4]
    if not words:
        return [], False
    term = SearchTerm.__table__.c
    kinds = list(KINDS)
    parts = [
        select(term.entity_type, term.entity_id).where(
            term.entity_type.in_(kinds),
            (term.term >= word) & (term.term < word + "{") if len(word) > 1 else term.term == word,
        )
        for word in words
    ]
    matched = (intersect(*parts) if len(parts) > 1 else parts[0]).subquery()
    first = case(*((matched.c.entity_type == kind, rank) for rank, kind in enumerate(KINDS)))
    rows = db.session.execute(
        select(matched.c.entity_type, matched.c.entity_id)
        .order_by(first, matched.c.entity_id).limit(FOUND_MAX + 1)).all()
    wanted: dict[str, list[int]] = {}
    for kind, ident in rows[:FOUND_MAX]:
        wanted.setdefault(kind, []).append(ident)
    found = [entry for kind, ids in wanted.items() for entry in _load(KINDS[kind], ids=ids)]
    return found, len(rows) > FOUND_MAX


def _load(model, *, ids: Iterable[int] | None = None, actor_ids: Iterable[int] | None = None):
    query = select(model).where(model.deleted_at.is_(None))
    if model is not Actor:
        query = query.options(joinedload(model.actor))
        if actor_ids is not None:
            query = query.where(model.actor_id.in_(list(actor_ids)))
    elif actor_ids is not None:
        query = query.where(Actor.id.in_(list(actor_ids)))
    if ids is not None:
        query = query.where(model.id.in_(list(ids)))
    return db.session.scalars(query).all()


def target_choices(label: Callable[[object], str], groups: dict[str, str], *,
                   near_actor_ids: Iterable[int | None] = (), chosen: Iterable[str] = (),
                   find: str | None = None, leave_out: str = "") -> Targets:
    """The choices for a form's target selects: "–", then `groups` (kind ->
    its heading, in order) each in Swedish order of `label`.

    Every live target in a small region; at national scale those of
    `near_actor_ids`, the values `chosen` that name live targets, and what
    `find` finds by name (None: nothing was asked; `Targets.found` is None
    too). `leave_out` is never offered (a role does not escalate to itself).
    """
    whole = _live_count() <= WHOLE_LIST_MAX
    near = [i for i in near_actor_ids if i is not None]
    entries = [entry for kind in groups
               for entry in _load(KINDS[kind], actor_ids=None if whole else near)]
    entries += [entry for entry in map(parse_target, chosen) if entry is not None]
    found, more = None, False
    if find is not None:
        hits, more = _found(find)
        hits = [hit for hit in hits if target_value(hit) != leave_out]
        found = len(hits)
        entries += hits
    by_value = {target_value(e): e for e in entries}
    by_value.pop(leave_out, None)
    choices = [SelectChoice("", "–")]
    for kind, heading in groups.items():
        listed = [(value, label(entry)) for value, entry in by_value.items()
                  if value.startswith(kind + "-")]
        listed.sort(key=lambda item: swedish_sort_key(item[1]))
        choices += [SelectChoice(value, text, optgroup=heading) for value, text in listed]
    return Targets(choices, whole, found, sought=find or "", more=more)
