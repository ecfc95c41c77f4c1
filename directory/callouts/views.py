"""Call-out pages: start one from a tree, mark its steps, read and print its log.

Anyone signed in sees the call-outs under way (a banner on every page,
kept current by `static/callouts.js` polling `/callouts/open.json`) and may
read a call-out; whoever may change the tree (`security.can_edit`) starts,
marks and closes it. The marking forms work without script; the page's
script only refreshes outcomes and escalation timers in place.
"""

from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from directory.callouts import log as callout_log
from directory.callouts import rules as callouts
from directory.callouts.forms import StartForm
from directory.core.extensions import db
from directory.core.forms import ConfirmForm
from directory.core.limits import id_from_text
from directory.core.models import (
    CallOut,
    CallOutKind,
    CallTree,
    CallTreeNode,
    ContactPoint,
    StepOutcome,
)
from directory.core.security import can_run_callout, get_for_edit
from directory.core.text import unsafe_character

bp = Blueprint("callouts", __name__)

# Seconds between refreshes of a call-out's page and of the banner.
REFRESH_SECONDS = 5


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def outcome_names() -> dict[StepOutcome, str]:
    return {
        StepOutcome.NOT_CALLED: _("Not called"),
        StepOutcome.NO_ANSWER: _("No answer"),
        StepOutcome.REACHED: _("Reached"),
        StepOutcome.MESSAGE_LEFT: _("Message left"),
    }


@bp.app_context_processor
def _open_callouts():
    """The call-outs under way, for the banner on every page."""
    if not current_user.is_authenticated:
        return {"open_callouts": []}
    try:
        return {"open_callouts": callouts.open_callouts()}
    except SQLAlchemyError:  # the 503 page must render without the database
        db.session.rollback()
        return {"open_callouts": []}


def _callout_or_404(callout_id: int) -> CallOut:
    callout = callouts.load_callout(callout_id)
    if callout is None:
        abort(404)
    return callout


def _callout_for_marking(callout_id: int) -> CallOut:
    callout = _callout_or_404(callout_id)
    if not can_run_callout(current_user, callout):
        abort(403)
    return callout


@bp.get("/callouts")
def index():
    """Call-outs under way and those closed, newest first."""
    rows = db.session.scalars(
        select(CallOut).options(selectinload(CallOut.call_tree))
        .order_by(CallOut.started_at.desc(), CallOut.id.desc()).limit(200)).all()
    return render_template("callouts/index.html", rows=rows)


@bp.get("/callouts/open.json")
def open_json():
    """The call-outs under way, for the banner every signed-in page shows."""
    return jsonify([{
        "id": c.id, "title": c.title, "kind": c.kind.value, "tree": c.call_tree.name,
        "started_at": c.started_at.isoformat(),
        "url": url_for("callouts.show", callout_id=c.id),
    } for c in callouts.open_callouts()])


@bp.route("/calltrees/<int:tree_id>/callouts/new", methods=["GET", "POST"])
def start(tree_id):
    """Start a call-out (or a drill) of this call tree, under a title."""
    tree = get_for_edit(CallTree, tree_id)
    form = StartForm()
    if request.method == "GET":
        form.kind.data = request.args.get("kind") if request.args.get("kind") in (
            "real", "drill") else "real"
    if form.validate_on_submit():
        callout = callouts.start_callout(tree, current_user, title=form.title.data,
                                         kind=CallOutKind(form.kind.data))
        db.session.commit()
        return redirect(url_for("callouts.show", callout_id=callout.id))
    status = 422 if request.method == "POST" else 200
    return render_template("callouts/start.html", form=form, tree=tree), status


def _page_context(callout: CallOut) -> dict:
    tz = _tz()
    states = callouts.step_states(callout, tz)
    at = callouts.now()
    return {"callout": callout, "tree": callout.call_tree, "states": states, "at": at,
            "report": callouts.report(callout, states),
            "log": callouts.log_rows(callout, states, tz),
            "names": outcome_names(),
            "names_json": {k.value: v for k, v in outcome_names().items()},
            "outcomes": list(StepOutcome),
            "duration": callouts.duration_text}


@bp.get("/callouts/<int:callout_id>")
def show(callout_id):
    """A call-out: each step's outcome and timers, the marking forms, the log."""
    callout = _callout_or_404(callout_id)
    return render_template("callouts/show.html", form=ConfirmForm(),
                           may_mark=can_run_callout(current_user, callout) and callout.is_open,
                           refresh_seconds=REFRESH_SECONDS, **_page_context(callout))


@bp.get("/callouts/<int:callout_id>/state.json")
def state(callout_id):
    """Each step's outcome and escalation timers as of the app's clock, for the page."""
    callout = _callout_or_404(callout_id)
    states = callouts.step_states(callout, _tz())
    return jsonify(callouts.state_json(callout, states, callouts.now()))


@bp.post("/callouts/<int:callout_id>/steps/<int:node_id>")
def mark(callout_id, node_id):
    """Record what came of calling a step: outcome, the path used, now."""
    callout = _callout_for_marking(callout_id)
    node = db.session.get(CallTreeNode, node_id)
    if node is None or node.tree_id != callout.call_tree_id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    anchor = url_for("callouts.show", callout_id=callout.id) + f"#step-{node.id}"
    try:
        outcome = StepOutcome(request.form.get("outcome", ""))
    except ValueError:
        flash(_("Choose what came of the call."), "error")
        return redirect(anchor)
    path = None
    if (path_id := id_from_text(request.form.get("path"))) is not None:
        path = db.session.get(ContactPoint, path_id)
    if path is None and outcome is not StepOutcome.NOT_CALLED:
        flash(_("Choose the number or path you used."), "error")
        return redirect(anchor)
    if outcome is StepOutcome.NOT_CALLED:
        path = None
    note = request.form.get("note", "")[:300]
    if (code := unsafe_character(note, multiline=True)) is not None:
        flash(_("The note contains an invisible character (%(code)s) that cannot be stored. "
                "Type it again.", code=code), "error")
        return redirect(anchor)
    try:
        callouts.record_step_outcome(callout, node, outcome, path, None, current_user,
                                     note=note)
    except callouts.CallOutError:
        db.session.rollback()
        flash(_("That mark could not be recorded: the call-out is closed or the path is "
                "not one of this step's."), "error")
        return redirect(anchor)
    db.session.commit()
    return redirect(anchor)


@bp.post("/callouts/<int:callout_id>/close")
def close(callout_id):
    """Close the call-out; its log is kept as the record."""
    callout = _callout_for_marking(callout_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    callouts.close_callout(callout, current_user)
    db.session.commit()
    return redirect(url_for("callouts.show", callout_id=callout.id))


@bp.get("/callouts/<int:callout_id>/print")
def print_view(callout_id):
    """The call-out's log for paper: every mark, to the second, with who marked it."""
    callout = _callout_or_404(callout_id)
    return render_template("callouts/print.html", **_page_context(callout))


@bp.get("/callouts/<int:callout_id>/log.csv")
def log_csv(callout_id):
    """The call-out's log as CSV (cells protected from spreadsheet formulas)."""
    callout = _callout_or_404(callout_id)
    context = _page_context(callout)
    content = callout_log.log_csv(context["log"], context["names"])
    return current_app.response_class(
        content, mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="utlarmning-{callout.id}.csv"'})


@bp.get("/callouts/<int:callout_id>/log.pdf")
def log_pdf(callout_id):
    """The call-out's log as an A4 PDF, the record of who was reached when."""
    callout = _callout_or_404(callout_id)
    context = _page_context(callout)
    content = callout_log.log_pdf(callout, context, {
        "printed_by": current_user.name or current_user.email,
        "marking": current_app.config["SENSITIVITY_MARKING"]})
    return current_app.response_class(
        content, mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="utlarmning-{callout.id}.pdf"'})

