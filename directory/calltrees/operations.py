"""Writes to call trees and their steps, shared by the builder pages and the API.

They validate what forms cannot (a parent of the same tree, no cycle),
flush, and leave the commit to the caller. A refusal is a `CallTreeError`
naming the field it is about, so a page and the API say it at that field.
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from directory.calltrees import rules
from directory.calltrees.rules import CallTreeError
from directory.core import entries as services
from directory.core.extensions import db
from directory.core.models import Actor, CallTree, CallTreeNode, Person, Role
from directory.core.modes import paths_for_mode


@dataclass(frozen=True)
class PlacingNote:
    """What placing a target in a tree means: `no_path` (a dead end: nobody running the
    tree can reach them) or `confidential_shown` (their hidden numbers are shown to all
    who may run or print the tree)."""

    target: object
    kind: str
    message: str


def save_tree(tree: CallTree, values: dict, actor_id: int | None,
              expected_version: int | None = None) -> CallTree:
    """Create or change a tree; `actor_id` None: a regional tree (the coordinators')."""
    return services.save(tree, {**values, "actor_id": actor_id}, expected_version)


def placing_notes(tree: CallTree, targets) -> list[PlacingNote]:
    """The builder's word when steps are placed: dead ends, and numbers now shown."""
    notes = []
    for target in targets:
        paths = paths_for_mode(target.contact_points, tree.mode)[0]
        label = rules.target_label(target)
        if not paths:
            notes.append(PlacingNote(target, "no_path", _l(
                "%(target)s has no contact path for this tree's mode: nobody running "
                "the tree can reach them.", target=label)))
        elif any(p.confidential for p in paths):
            notes.append(PlacingNote(target, "confidential_shown", _l(
                "%(target)s's confidential numbers are shown to everyone who may run "
                "or print this tree.", target=label)))
    return notes


def node_parent(tree: CallTree, parent_id: int | None) -> CallTreeNode | None:
    """A live step of this tree to place under (None: the top), or a refusal."""
    if parent_id is None:
        return None
    parent = db.session.get(CallTreeNode, parent_id) if 0 < parent_id < 2**31 else None
    if parent is None or parent.deleted_at is not None or parent.tree_id != tree.id:
        raise CallTreeError(_l("Choose a step of this call tree."), field="parent_id")
    return parent


def add_node(tree: CallTree, values: dict, parent: CallTreeNode | None = None, *,
             node: CallTreeNode | None = None) -> tuple[CallTreeNode, list[PlacingNote]]:
    """A new step at the end of `parent`'s children (or of the top), from `NodeForm.values()`;
    with a `position` among them, there."""
    node = rules.add_node(tree, values["target"], parent=parent, node=node)
    notes = save_node(node, values)
    if values.get("position") is not None and values["position"] != node.position:
        rules.reparent(node, parent, values["position"])
    return node, notes


def save_node(node: CallTreeNode, values: dict, expected_version: int | None = None
              ) -> list[PlacingNote]:
    """Whom a step calls, its instructions and its ordered alternates."""
    services.check_version(node, expected_version)
    target = values["target"]
    node.target_role = target if isinstance(target, Role) else None
    node.target_person = target if isinstance(target, Person) else None
    node.target_actor = target if isinstance(target, Actor) else None
    node.instructions = values["instructions"]
    node.escalate_after_minutes = values["escalate_after_minutes"]
    rules.set_alternates(node, values["alternates"])
    return placing_notes(node.tree, [target, *(a for a, _m in values["alternates"])])


def move_node(node: CallTreeNode, parent_id: int | None, position: int | None) -> None:
    """Put a step (with everything under it) under another step of its tree, or at the
    top; at `position` among its new siblings (None: last)."""
    parent = node_parent(node.tree, parent_id)
    if position is None:
        position = len(rules.live_children(node.tree, parent))
    rules.reparent(node, parent, position)


def change_node(node: CallTreeNode, values: dict, expected_version: int | None = None
                ) -> list[PlacingNote]:
    """Whom a step calls and, when `parent_id` or `position` differ, where it sits."""
    notes = save_node(node, values, expected_version)
    if (values["parent_id"], values["position"]) != (node.parent_id, node.position):
        move_node(node, values["parent_id"], values["position"])
    return notes


def remove_node(node: CallTreeNode, expected_version: int | None = None) -> None:
    """Delete a step and everything under it (restorable from their histories)."""
    services.check_version(node, expected_version)
    rules.remove(node)
