"""Call trees: building them without breaking the rules the database keeps.

A node's depth is its parent's plus one, stored with the parent reference,
so the database refuses cycles and parents from other trees; these functions
keep those columns right and give a clear error before the database has to.
"""

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from directory.core.extensions import db
from directory.core.models import (
    Actor,
    CallTree,
    CallTreeAlternate,
    CallTreeNode,
    Person,
    Role,
    utcnow,
)
from directory.review.rules import tree_target_loads


class CallTreeError(ValueError):
    """A change that would break a call tree (a cycle, a foreign parent), and the
    field it is about, so pages and the API say it where it belongs."""

    def __init__(self, message, *, field: str = "parent_id"):
        super().__init__(message)
        self.message, self.field = message, field


def _target_columns(target: Role | Person | Actor) -> dict:
    if isinstance(target, Role):
        return {"target_role": target}
    if isinstance(target, Person):
        return {"target_person": target}
    if isinstance(target, Actor):
        return {"target_actor": target}
    raise CallTreeError(_l("Choose whom to call."), field="target")


def add_node(
    tree: CallTree,
    target: Role | Person | Actor,
    *,
    parent: CallTreeNode | None = None,
    instructions: str = "",
    escalate_after_minutes: int | None = None,
    alternates: list[tuple[Role | Person | Actor, int]] = (),
    node: CallTreeNode | None = None,
) -> CallTreeNode:
    """Append a node (`node`, or a new one) under `parent` (or at the top) with
    ordered alternates."""
    if parent is not None and parent.tree is not tree:
        raise CallTreeError(_l("Choose a step of this call tree."))
    siblings = [n for n in tree.nodes if n.parent_id == (parent.id if parent else None)
                and n is not node]
    if parent is not None and parent.id is None:
        db.session.flush()  # the parent needs its id before it can be referenced
    node = node if node is not None else CallTreeNode()
    node.tree = tree
    node.parent_id = parent.id if parent else None
    node.parent_depth = parent.depth if parent else None
    node.depth = parent.depth + 1 if parent else 0
    node.position = len(siblings)
    node.instructions = instructions
    node.escalate_after_minutes = escalate_after_minutes
    for key, value in _target_columns(target).items():
        setattr(node, key, value)
    for position, (alternate, minutes) in enumerate(alternates):
        node.alternates.append(
            CallTreeAlternate(
                position=position,
                escalate_after_minutes=minutes,
                **_target_columns(alternate),
            )
        )
    db.session.add(node)
    db.session.flush()
    return node


# --- Changing a tree's shape ----------------------------------------------


def live_children(tree: CallTree, parent: CallTreeNode | None) -> list[CallTreeNode]:
    parent_id = parent.id if parent else None
    return sorted(
        (n for n in tree.nodes if n.parent_id == parent_id and n.deleted_at is None),
        key=lambda n: (n.position, n.id),
    )


def tree_entries(tree: CallTree) -> list:
    """A call tree's targets and alternates in calling order, each once
    (what the tree's vCard export and its CardDAV book hold, in that order)."""
    found, seen = [], set()

    def visit(node) -> None:
        for target in (node.target, *(a.target for a in node.alternates)):
            key = (type(target), target.id)
            if key not in seen and target.deleted_at is None:
                seen.add(key)
                found.append(target)
        for child in live_children(tree, node):
            visit(child)

    for top in live_children(tree, None):
        visit(top)
    return found


def subtree(node: CallTreeNode) -> list[CallTreeNode]:
    """The node and everything under it, parents before children."""
    found = [node]
    for child in live_children(node.tree, node):
        found += subtree(child)
    return found


def _renumber(siblings: list[CallTreeNode]) -> None:
    for position, sibling in enumerate(siblings):
        if sibling.position != position:
            sibling.position = position


def reparent(node: CallTreeNode, new_parent: CallTreeNode | None, position: int) -> None:
    """Move a node (with its subtree) under another parent of the same tree."""
    if new_parent is not None:
        if new_parent.tree_id != node.tree_id:
            raise CallTreeError(_l("Choose a step of this call tree."))
        if new_parent in subtree(node):
            raise CallTreeError(_l("A step cannot be placed under itself or a step below"
                                   " it: that would make a cycle."))
    tree = node.tree
    old_siblings = [n for n in live_children(tree, _parent(node)) if n is not node]
    _renumber(old_siblings)
    new_siblings = [n for n in live_children(tree, new_parent) if n is not node]
    new_siblings.insert(max(0, min(position, len(new_siblings))), node)
    shift = (new_parent.depth + 1 if new_parent else 0) - node.depth
    members = subtree(node)
    node.parent_id = new_parent.id if new_parent else None
    node.parent_depth = new_parent.depth if new_parent else None
    for member in members:
        member.depth += shift
        if member is not node:
            member.parent_depth += shift
    _renumber(new_siblings)
    db.session.flush()


def _parent(node: CallTreeNode) -> CallTreeNode | None:
    if node.parent_id is None:
        return None
    return next(n for n in node.tree.nodes if n.id == node.parent_id)


def move(node: CallTreeNode, action: str) -> None:
    """Keyboard-sized moves: up, down, indent (under the one above), outdent."""
    parent = _parent(node)
    siblings = live_children(node.tree, parent)
    index = siblings.index(node)
    if action == "up" and index > 0:
        siblings[index - 1], siblings[index] = siblings[index], siblings[index - 1]
        _renumber(siblings)
    elif action == "down" and index < len(siblings) - 1:
        siblings[index + 1], siblings[index] = siblings[index], siblings[index + 1]
        _renumber(siblings)
    elif action == "indent" and index > 0:
        above = siblings[index - 1]
        reparent(node, above, len(live_children(node.tree, above)))
    elif action == "outdent" and parent is not None:
        grandparent = _parent(parent)
        reparent(node, grandparent, live_children(node.tree, grandparent).index(parent) + 1)
    db.session.flush()


def remove(node: CallTreeNode) -> None:
    """Delete a node and its subtree (restorable from their histories)."""
    now = utcnow()
    for member in subtree(node):
        member.deleted_at = now
    _renumber([n for n in live_children(node.tree, _parent(node)) if n is not node])
    db.session.flush()


def set_alternates(node: CallTreeNode, alternates: list[tuple]) -> None:
    """Replace a node's ordered alternates: (target, minutes) pairs."""
    existing = list(node.alternates)
    for position, (target, minutes) in enumerate(alternates):
        columns = {"target_role": None, "target_person": None, "target_actor": None,
                   **_target_columns(target)}
        if position < len(existing):
            alternate = existing[position]
        else:
            alternate = CallTreeAlternate(position=position)
            node.alternates.append(alternate)
        for key, value in columns.items():
            setattr(alternate, key, value)
        alternate.escalate_after_minutes = minutes
    for extra in existing[len(alternates):]:
        node.alternates.remove(extra)
    db.session.flush()


# --- Reading a tree as the duty officer needs it --------------------------


@dataclass
class Reach:
    """A target resolved: who it is, who is on call, the paths for the mode."""

    target: object
    label: str
    on_call: object | None  # schedules.OnCall for roles
    paths: list
    escalate_after_minutes: int | None = None


@dataclass
class ResolvedNode:
    node: CallTreeNode
    depth: int
    reach: Reach
    alternates: list[Reach] = field(default_factory=list)
    children: list["ResolvedNode"] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def target_label(target) -> str:
    if isinstance(target, Role):
        return f"{target.short_name or target.name} – {target.actor.name}"
    if isinstance(target, Person):
        return f"{target.name} ({target.actor.name})"
    return target.name


def _actor_of(target) -> Actor:
    return target if isinstance(target, Actor) else target.actor


def resolve_tree(tree: CallTree, at, tz) -> list[ResolvedNode]:
    """The tree as a list of top nodes, each target resolved for the tree's mode.

    Call trees are need-to-know lists (DESIGN): every path of a step or an
    alternate is shown to whoever may run or print the tree, confidential or
    not, so nobody escalates to a name without a number. The paths are
    disclosed for this request (`visibility.disclose`), which lets the pages'
    gate print them.
    """
    from directory.core.modes import paths_for_mode
    from directory.core.schedules import on_call_for_roles
    from directory.core.visibility import disclose
    from directory.review.rules import is_overdue

    nodes = [n for n in tree.nodes if n.deleted_at is None]
    targets = [n.target for n in nodes] + [a.target for n in nodes for a in n.alternates]
    roles = {t.id: t for t in targets if isinstance(t, Role)}
    on_call = on_call_for_roles(roles.values(), at, tz)

    def reach(target, minutes=None) -> Reach:
        paths, _other = paths_for_mode(target.contact_points, tree.mode)
        disclose(paths)
        return Reach(target, target_label(target),
                     on_call.get(target.id) if isinstance(target, Role) else None,
                     paths, minutes)

    def build(node: CallTreeNode, depth: int) -> ResolvedNode:
        main = reach(node.target, node.escalate_after_minutes)
        resolved = ResolvedNode(
            node, depth, main,
            [reach(a.target, a.escalate_after_minutes) for a in node.alternates],
        )
        if not main.paths:
            resolved.warnings.append("no_path")
        if any(not alternate.paths for alternate in resolved.alternates):
            resolved.warnings.append("alternate_no_path")
        if isinstance(node.target, Role) and main.on_call and main.on_call.person is None:
            resolved.warnings.append("nobody_on_call")
        if is_overdue(_actor_of(node.target)):
            resolved.warnings.append("review_overdue")
        resolved.children = [build(child, depth + 1) for child in live_children(tree, node)]
        return resolved

    return [build(top, 0) for top in live_children(tree, None)]


def resolved_until(tree: CallTree, at, tz):
    """Until when `resolve_tree(tree, at)` reads the same without a write: the next
    change of who is on call for a role in it, or a review in it falling overdue."""
    from directory.core.pagecache import ahead, earliest
    from directory.core.schedules import unchanged_until
    from directory.review.rules import review_due_at

    nodes = [n for n in tree.nodes if n.deleted_at is None]
    targets = [n.target for n in nodes] + [a.target for n in nodes for a in n.alternates]
    roles = {t.id: t for t in targets if isinstance(t, Role)}
    actors = {_actor_of(t) for t in targets}
    return earliest(at, unchanged_until(roles.values(), at, tz),
                    (ahead(at, review_due_at(actor)) for actor in actors))


def mode_now_for(tree: CallTree, states=None):
    """The mode in force where this tree applies: its actor's, or the region's."""
    from directory.core.modes import mode_for, region_mode

    return (mode_for(tree.actor, states) if tree.actor is not None
            else region_mode(states)).mode


def tree_that_applies(tree: CallTree, trees, states=None) -> CallTree | None:
    """Of the same owner's live trees, the one for the mode in force (same scenario first)."""
    mode = mode_now_for(tree, states)
    if tree.mode == mode:
        return tree
    candidates = [t for t in trees if t.deleted_at is None and t.actor_id == tree.actor_id
                  and t.mode == mode]
    candidates.sort(key=lambda t: (t.scenario_id != tree.scenario_id, t.name, t.id))
    return candidates[0] if candidates else None


def flatten(resolved: list[ResolvedNode]) -> list[ResolvedNode]:
    """Depth-first, in calling order: the order a printed list follows."""
    out = []
    for item in resolved:
        out.append(item)
        out += flatten(item.children)
    return out


def load_tree(tree_id: int) -> CallTree | None:
    """A tree with everything its resolved view shows, in a few queries."""
    return db.session.scalar(
        select(CallTree)
        .where(CallTree.id == tree_id)
        .options(
            selectinload(CallTree.actor),
            selectinload(CallTree.scenario),
            *tree_target_loads(),
        )
    )
