"""What each person's reminder digest holds: the region read once, split per actor.

`region_findings()` reads everything the digests need in a fixed number of
queries, as plain values keyed by actor id (no ORM objects kept), so the
whole region at 50 000 persons is read once per run in flat memory. Each
digest is then a selection: an editor's for the actors assigned to them, a
coordinator's for the whole region. No item holds a number: a path is named
by its owner and label, so a mail can never carry a confidential number.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from directory.core.extensions import db
from directory.core.models import Actor, CallTree, Role, User
from directory.core.verification import all_statuses
from directory.review.rules import (
    GAP_HORIZON,
    dead_ends,
    paths_needing_test,
    review_due_at,
    roles_with_gaps,
    tree_target_loads,
)

# A review falling due within this is announced before it is overdue.
REVIEW_NOTICE = timedelta(days=14)
# At most this many items of one kind per actor are listed; the rest are counted.
LISTED = 10


@dataclass(frozen=True)
class Item:
    """One thing to fix: what it is, and the page (endpoint, args) that fixes it."""

    kind: str  # review_due, review_overdue, gap, dead_end, failed_path, stale_path
    actor_id: int
    title: str
    detail: str
    endpoint: str
    args: tuple


@dataclass
class Findings:
    """The region's items, by actor; and the actors' names."""

    by_actor: dict[int, list[Item]] = field(default_factory=lambda: defaultdict(list))
    actor_names: dict[int, str] = field(default_factory=dict)
    actor_slugs: dict[int, str] = field(default_factory=dict)
    verify_days: int = 180

    def for_actors(self, actor_ids) -> list[Item]:
        items = []
        for actor_id in sorted(actor_ids, key=lambda i: self.actor_names.get(i, "")):
            items += self.by_actor.get(actor_id, [])
        return items

    def everything(self) -> list[Item]:
        return self.for_actors(self.by_actor.keys())


def region_findings(now: datetime, tz: ZoneInfo, verify_days: int) -> Findings:
    """Every reminder item of the region, read once."""
    found = Findings(verify_days=verify_days)
    actors = db.session.scalars(select(Actor).where(Actor.deleted_at.is_(None))).all()
    for actor in actors:
        found.actor_names[actor.id] = actor.name
        found.actor_slugs[actor.id] = actor.slug
        due = review_due_at(actor)
        if due is None or due <= now:
            found.by_actor[actor.id].append(Item(
                "review_overdue", actor.id, actor.name,
                due.date().isoformat() if due else "", "lookup.actor", (("slug", actor.slug),)))
        elif due <= now + REVIEW_NOTICE:
            found.by_actor[actor.id].append(Item(
                "review_due", actor.id, actor.name, due.date().isoformat(),
                "lookup.actor", (("slug", actor.slug),)))
    db.session.expunge_all()  # the actors are read: keep the session small

    for role, holes in roles_with_gaps(now, tz):
        found.by_actor[role.actor_id].append(Item(
            "gap", role.actor_id, role.short_name or role.name,
            holes[0].starts_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            "lookup.role", (("role_id", role.id),)))
    db.session.expunge_all()

    trees = db.session.scalars(
        select(CallTree).where(CallTree.deleted_at.is_(None)).options(*tree_target_loads())
    ).all()
    for tree in trees:
        for _node, target in dead_ends(tree):
            actor_id = tree.actor_id if tree.actor_id is not None else (
                target.id if isinstance(target, Actor) else target.actor_id)
            found.by_actor[actor_id].append(Item(
                "dead_end", actor_id, tree.name,
                target.short_name or target.name if isinstance(target, Role) else target.name,
                "calltrees.show", (("tree_id", tree.id),)))
    db.session.expunge_all()

    failed, stale = paths_needing_test(now, verify_days, known=all_statuses())
    for row in failed:
        found.by_actor[row.actor_id].append(Item(
            "failed_path", row.actor_id, row.owner, row.label or row.kind.value,
            "editing.contact_edit", (("point_id", row.id),)))
    for row in stale:
        found.by_actor[row.actor_id].append(Item(
            "stale_path", row.actor_id, row.owner, row.label or row.kind.value,
            "editing.contact_edit", (("point_id", row.id),)))
    return found


@dataclass
class Digest:
    """One person's digest: their items grouped by kind, with counts."""

    user_id: int
    email: str
    name: str
    locale: str
    regional: bool
    groups: dict[str, list[Item]]
    counts: dict[str, int]

    @property
    def empty(self) -> bool:
        return not any(self.counts.values())


KINDS = ("review_overdue", "review_due", "gap", "dead_end", "failed_path", "stale_path")


def digest_for(user: User, actor_ids, findings: Findings, locale: str) -> Digest:
    """The digest of one editor (their actors) or coordinator (the region)."""
    regional = actor_ids is None
    items = findings.everything() if regional else findings.for_actors(actor_ids)
    groups: dict[str, list[Item]] = {kind: [] for kind in KINDS}
    counts = dict.fromkeys(KINDS, 0)
    listed_per_actor: dict[tuple, int] = defaultdict(int)
    for item in items:
        counts[item.kind] += 1
        key = (item.kind, item.actor_id)
        # Stale paths are many: a few per actor, the count says the rest.
        if item.kind == "stale_path" and listed_per_actor[key] >= (3 if regional else LISTED):
            continue
        if regional and len(groups[item.kind]) >= 50:
            continue
        listed_per_actor[key] += 1
        groups[item.kind].append(item)
    return Digest(user.id, user.email, user.name or user.email, locale, regional, groups, counts)


GAP_DAYS = GAP_HORIZON.days
