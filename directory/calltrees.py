"""Call trees: building them without breaking the rules the database keeps.

A node's depth is its parent's plus one, stored with the parent reference,
so the database refuses cycles and parents from other trees; these functions
keep those columns right and give a clear error before the database has to.
"""

from .extensions import db
from .models import Actor, CallTree, CallTreeAlternate, CallTreeNode, Person, Role


class CallTreeError(ValueError):
    """A change that would break a call tree (a cycle, a foreign parent)."""


def _target_columns(target: Role | Person | Actor) -> dict:
    if isinstance(target, Role):
        return {"target_role": target}
    if isinstance(target, Person):
        return {"target_person": target}
    if isinstance(target, Actor):
        return {"target_actor": target}
    raise CallTreeError(f"a call tree cannot target {type(target).__name__}")


def add_node(
    tree: CallTree,
    target: Role | Person | Actor,
    *,
    parent: CallTreeNode | None = None,
    instructions: str = "",
    escalate_after_minutes: int | None = None,
    alternates: list[tuple[Role | Person | Actor, int]] = (),
) -> CallTreeNode:
    """Append a node under `parent` (or at the top) with ordered alternates."""
    if parent is not None and parent.tree is not tree:
        raise CallTreeError("the parent node belongs to another call tree")
    siblings = [n for n in tree.nodes if n.parent_id == (parent.id if parent else None)]
    if parent is not None and parent.id is None:
        db.session.flush()  # the parent needs its id before it can be referenced
    node = CallTreeNode(
        tree=tree,
        parent_id=parent.id if parent else None,
        parent_depth=parent.depth if parent else None,
        depth=parent.depth + 1 if parent else 0,
        position=len(siblings),
        instructions=instructions,
        escalate_after_minutes=escalate_after_minutes,
        **_target_columns(target),
    )
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
