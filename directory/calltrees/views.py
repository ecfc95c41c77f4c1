"""Call-tree pages: the resolved view and the builder (call-outs and drills: `callouts`).

The resolved view answers "who do I call, on which number, in this tree's
mode, right now (or at ?at=)" with escalation delays and warnings. The
builder works with plain forms and buttons (up, down, indent, outdent), so a
keyboard is enough. Changing a tree is for the owning actor's editors (or
coordinators for regional trees); anyone signed in may read it.
"""

from datetime import date
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from directory.calltrees import operations
from directory.calltrees import rules as calltrees
from directory.calltrees.forms import NodeForm, TreeForm, scenario_choices, target_choices
from directory.core import pagecache, targets
from directory.core.extensions import db
from directory.core.forms import ConfirmForm, editable_actor_choices
from directory.core.limits import id_from_text
from directory.core.models import Actor, CallOut, CallTree, CallTreeNode, utcnow
from directory.core.modes import mode_states
from directory.core.moments import at_argument
from directory.core.pagecache import Page
from directory.core.pages import delete_entry
from directory.core.security import (
    can_edit,
    get_for_edit,
    may_create_anything,
    require_may_place_under,
)
from directory.core.targets import Targets
from directory.core.text import swedish_sort_key

bp = Blueprint("calltrees", __name__)


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


# --- Forms -------------------------------------------------------------------


def _tree_form(tree: CallTree | None) -> TreeForm:
    form = TreeForm(obj=None if request.method == "POST" else tree)
    form.owner.choices = editable_actor_choices(current_user)
    if current_user.role.value == "admin":
        form.owner.choices.insert(0, SelectChoice(0, _("Regional (coordinators)")))
    form.scenario_id.choices = scenario_choices()
    if request.method == "GET":
        if tree is not None:
            form.owner.data = tree.actor_id or 0
            form.scenario_id.data = tree.scenario_id or 0
            form.mode.data = tree.mode.value
        else:
            form.valid_from.data = date.today()
    return form


# --- Reading -----------------------------------------------------------------


@bp.get("/calltrees")
def index():
    """All call trees, regional first."""
    trees = db.session.scalars(
        select(CallTree)
        .where(CallTree.deleted_at.is_(None))
        .options(selectinload(CallTree.actor), selectinload(CallTree.scenario))
    ).all()
    trees.sort(key=lambda t: (t.actor is not None, swedish_sort_key(t.actor.name if t.actor
                                                                     else ""), t.name))
    states = mode_states()
    applies = {t.id for t in trees if t.mode == calltrees.mode_now_for(t, states)}
    return render_template("calltrees/index.html", trees=trees, applies=applies,
                           may_create=may_create_anything(current_user))


@bp.get("/calltrees/<int:tree_id>")
def show(tree_id):
    """A call tree resolved: who is on call and which number, for the tree's mode."""
    asked = at_argument(request.args.get("at"))
    if asked is not None:  # another moment: asked for now and then, not kept
        return pagecache.render_now(_tree_page(tree_id, asked, request.args["at"]))
    return pagecache.render(("calltree", tree_id), lambda: _tree_page(tree_id, utcnow()))


def _tree_page(tree_id: int, at, asked_at: str | None = None) -> Page:
    tree = calltrees.load_tree(tree_id)
    if tree is None or tree.deleted_at is not None:
        abort(404)
    resolved = calltrees.resolve_tree(tree, at, _tz())
    states = mode_states()
    mode_now = calltrees.mode_now_for(tree, states)
    instead = None
    if mode_now != tree.mode:
        instead = calltrees.tree_that_applies(tree, db.session.scalars(
            select(CallTree).where(
                CallTree.deleted_at.is_(None),
                CallTree.actor_id.is_(None) if tree.actor_id is None
                else CallTree.actor_id == tree.actor_id)).all(), states)
    return Page("calltrees/show.html", dict(
        tree=tree,
        mode_now=mode_now,
        instead=instead,
        resolved=resolved,
        at=at,
        asked_at=asked_at,
        may_edit=can_edit(current_user, tree),
        callouts=db.session.scalars(
            select(CallOut).where(CallOut.call_tree_id == tree.id)
            .order_by(CallOut.started_at.desc(), CallOut.id.desc())
        ).all(),
        form=ConfirmForm(),
    ), valid_until=calltrees.resolved_until(tree, at, _tz()))


# --- Building ----------------------------------------------------------------


def _save_tree(tree: CallTree, form: TreeForm) -> None:
    owner = db.session.get(Actor, form.owner.data) if form.owner.data else None
    operations.save_tree(tree, form.values(), owner.id if owner else None)


@bp.route("/calltrees/new", methods=["GET", "POST"])
def new():
    """Create a call tree for one of your actors (or a regional one)."""
    form = _tree_form(None)
    if not form.owner.choices:
        abort(403)
    if request.method == "POST":
        require_may_place_under(id_from_text(request.form.get("owner")), regional=True)
    if form.validate_on_submit():
        tree = CallTree()
        _save_tree(tree, form)
        db.session.commit()
        return redirect(url_for("calltrees.show", tree_id=tree.id))
    status = 422 if request.method == "POST" else 200
    return render_template("calltrees/tree_form.html", form=form, tree=None), status


@bp.route("/calltrees/<int:tree_id>/edit", methods=["GET", "POST"])
def edit(tree_id):
    """Edit a call tree's name, mode, scenario, revision and dates."""
    tree = get_for_edit(CallTree, tree_id)
    form = _tree_form(tree)
    if request.method == "POST":
        require_may_place_under(id_from_text(request.form.get("owner")), regional=True)
    if form.validate_on_submit():
        _save_tree(tree, form)
        db.session.commit()
        return redirect(url_for("calltrees.show", tree_id=tree.id))
    status = 422 if request.method == "POST" else 200
    return render_template("calltrees/tree_form.html", form=form, tree=tree), status


@bp.post("/calltrees/<int:tree_id>/delete")
def delete(tree_id):
    """Delete a call tree (restorable from its history)."""
    tree = get_for_edit(CallTree, tree_id)
    return delete_entry(tree, url_for("calltrees.index"))


def _node_form(tree: CallTree, node: CallTreeNode | None) -> tuple[NodeForm, Targets]:
    """The node form, with whom it may call listed (and found, when asked)."""
    form = NodeForm()
    if request.method == "GET" and node is not None:
        form.fill(node)
    choices = target_choices(tree, form.chosen(), find=targets.sought())
    form.set_choices(choices.choices)
    return form, choices


def _say_what_placing_means(notes) -> None:
    """The builder's word when a step is placed: dead ends, and shown numbers."""
    for note in notes:
        flash(str(note.message), "warning" if note.kind == "no_path" else "info")


@bp.route("/calltrees/<int:tree_id>/nodes/new", methods=["GET", "POST"])
def node_new(tree_id):
    """Add a node at the top of a tree, or under ?parent=<node id>."""
    tree = get_for_edit(CallTree, tree_id)
    parent = None
    if request.args.get("parent"):
        parent_id = id_from_text(request.args["parent"])
        parent = db.session.get(CallTreeNode, parent_id) if parent_id else None
        if parent is None or parent.tree_id != tree.id or parent.deleted_at is not None:
            abort(404)
    form, choices = _node_form(tree, None)
    if choices.found is None and form.validate_on_submit():
        node, notes = operations.add_node(tree, form.values(), parent)
        db.session.commit()
        _say_what_placing_means(notes)
        return redirect(url_for("calltrees.show", tree_id=tree.id) + f"#node-{node.id}")
    return _node_page(form, choices, tree, None, parent)


@bp.route("/nodes/<int:node_id>/edit", methods=["GET", "POST"])
def node_edit(node_id):
    """Edit whom a node calls, its instructions and its alternates."""
    node = get_for_edit(CallTreeNode, node_id)
    form, choices = _node_form(node.tree, node)
    if choices.found is None and form.validate_on_submit():
        notes = operations.save_node(node, form.values())
        db.session.commit()
        _say_what_placing_means(notes)
        return redirect(url_for("calltrees.show", tree_id=node.tree_id) + f"#node-{node.id}")
    return _node_page(form, choices, node.tree, node, None)


def _node_page(form, choices, tree, node, parent):
    """The node form again: as asked, after a search by name, or with what to mend (422)."""
    status = 422 if request.method == "POST" and choices.found is None else 200
    return render_template("calltrees/node_form.html", form=form, tree=tree, node=node,
                           parent=parent, targets=choices), status


@bp.post("/nodes/<int:node_id>/move")
def node_move(node_id):
    """Move a node: up, down, indent (under the node above) or outdent."""
    node = get_for_edit(CallTreeNode, node_id)
    action = request.form.get("action")
    if not ConfirmForm().validate_on_submit() or action not in ("up", "down", "indent",
                                                                  "outdent"):
        abort(400)
    calltrees.move(node, action)
    db.session.commit()
    return redirect(url_for("calltrees.show", tree_id=node.tree_id) + f"#node-{node.id}")


@bp.post("/nodes/<int:node_id>/delete")
def node_delete(node_id):
    """Delete a node and everything under it."""
    node = get_for_edit(CallTreeNode, node_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    operations.remove_node(node)
    db.session.commit()
    flash(_("Deleted. It can be restored from its history."), "success")
    return redirect(url_for("calltrees.show", tree_id=node.tree_id))
