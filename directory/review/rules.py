"""When an actor's review falls due, which roles have gaps in cover, which paths need a test."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from directory.core.extensions import db
from directory.core.models import (
    Actor,
    CallTree,
    CallTreeAlternate,
    CallTreeNode,
    ContactKind,
    ContactPoint,
    Person,
    Role,
    utcnow,
)
from directory.core.modes import paths_for_mode
from directory.core.schedules import gaps, timelines
from directory.core.verification import NEVER, PathStatus, all_statuses

GAP_HORIZON = timedelta(days=14)


def review_due_at(actor: Actor) -> datetime | None:
    """When the next review is due (None: never reviewed, so due now)."""
    if actor.last_reviewed_at is None:
        return None
    return actor.last_reviewed_at + timedelta(days=actor.review_interval_days)


def is_overdue(actor: Actor, now: datetime | None = None) -> bool:
    due = review_due_at(actor)
    return due is None or due <= (now or utcnow())


def overdue_actors(now: datetime) -> list[Actor]:
    """Overdue actors, never-reviewed first, then the longest overdue."""
    actors = db.session.scalars(select(Actor).where(Actor.deleted_at.is_(None))).all()
    overdue = [a for a in actors if is_overdue(a, now)]
    overdue.sort(key=lambda a: (review_due_at(a) is not None, review_due_at(a) or now, a.name))
    return overdue


def roles_with_gaps(now: datetime, tz: ZoneInfo) -> list[tuple[Role, list]]:
    """Roles with nobody on call somewhere in the next two weeks, soonest first."""
    roles = db.session.scalars(
        select(Role)
        .join(Role.actor)
        .where(Role.deleted_at.is_(None), Actor.deleted_at.is_(None))
        .options(selectinload(Role.actor))
    ).all()
    by_id = {role.id: role for role in roles}
    found = []
    for role_id, stretches in timelines(roles, now, now + GAP_HORIZON, tz).items():
        holes = gaps(stretches)
        if holes:
            found.append((by_id[role_id], holes))
    found.sort(key=lambda pair: (pair[1][0].starts_at, pair[0].name))
    return found


def dead_ends(tree: CallTree) -> list[tuple]:
    """(node, target) of every step or alternate with no path at all for the tree's mode.

    A target with no number, address or channel for the mode cannot be
    reached by anyone, whoever reads the tree: a real gap, not a hidden one
    (paths placed in a tree are shown to all who run it).
    """
    found = []
    for node in sorted((n for n in tree.nodes if n.deleted_at is None),
                       key=lambda n: (n.depth, n.position, n.id)):
        for target in (node.target, *(a.target for a in node.alternates)):
            if target is not None and not paths_for_mode(target.contact_points, tree.mode)[0]:
                found.append((node, target))
    return found


def tree_target_loads() -> list:
    """Options for a query of call trees: every step's and alternate's target with
    its paths and its actor, for all the trees at once. What `dead_ends` reads
    (and /review names a dead end with), and what a tree's page shows."""
    nodes = selectinload(CallTree.nodes)
    alternates = nodes.selectinload(CallTreeNode.alternates)
    found = []
    for parent, owner in ((nodes, CallTreeNode), (alternates, CallTreeAlternate)):
        role = parent.selectinload(owner.target_role)
        person = parent.selectinload(owner.target_person)
        found += [role.selectinload(Role.contact_points), role.selectinload(Role.actor),
                  person.selectinload(Person.contact_points), person.selectinload(Person.actor),
                  parent.selectinload(owner.target_actor).selectinload(Actor.contact_points)]
    return found


def trees_with_dead_ends() -> list[tuple[CallTree, list[tuple]]]:
    """Live call trees with a step or alternate that reaches no path, by name."""
    trees = db.session.scalars(
        select(CallTree).where(CallTree.deleted_at.is_(None)).options(
            selectinload(CallTree.actor), *tree_target_loads())
    ).all()
    found = [(tree, holes) for tree in trees if (holes := dead_ends(tree))]
    found.sort(key=lambda pair: pair[0].name)
    return found


# --- Contact paths: verified, stale, failed ---------------------------------


@dataclass(frozen=True)
class PathRow:
    """A live contact path as a list shows it: never its number."""

    id: int
    actor_id: int
    owner: str
    kind: ContactKind
    label: str
    status: PathStatus


def path_rows(actor_ids=None):
    """Every live path of a live owner with its actor, as plain rows (no ORM objects).

    Streams in chunks, so the whole region (a hundred thousand paths at 50 000
    persons) is read in flat memory. `actor_ids` narrows it to some actors.
    """
    owners = (
        (ContactPoint.actor_id, Actor, Actor.id, Actor.name),
        (ContactPoint.role_id, Role, Role.actor_id, Role.name),
        (ContactPoint.person_id, Person, Person.actor_id, Person.name),
    )
    for column, model, actor_column, name_column in owners:
        query = (
            select(ContactPoint.id, actor_column, name_column, ContactPoint.kind,
                   ContactPoint.label)
            .join(model, column == model.id)
            .where(ContactPoint.deleted_at.is_(None), model.deleted_at.is_(None))
            .order_by(actor_column, name_column, ContactPoint.priority, ContactPoint.id)
        )
        if model is not Actor:
            query = query.join(Actor, Actor.id == actor_column).where(Actor.deleted_at.is_(None))
        if actor_ids is not None:
            query = query.where(actor_column.in_(list(actor_ids)))
        yield from db.session.execute(query.execution_options(yield_per=2000))


def paths_needing_test(now: datetime, days: int, actor_ids=None, known=None):
    """(failed, stale): paths whose latest call failed, and paths never verified
    or not verified in `days` days, as `PathRow`s, by actor then owner."""
    known = all_statuses() if known is None else known
    failed, stale = [], []
    for point_id, actor_id, owner, kind, label in path_rows(actor_ids):
        status = known.get(point_id, NEVER)
        if status.failed:
            failed.append(PathRow(point_id, actor_id, owner, kind, label, status))
        elif status.stale(now, days):
            stale.append(PathRow(point_id, actor_id, owner, kind, label, status))
    return failed, stale
