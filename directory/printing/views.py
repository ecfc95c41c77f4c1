"""Printable call trees and the binder: print views, PDF, revisions.

Paper carries what screens forget: when power or the network is gone, the
binder on the shelf is the directory. Everything printed is first built as a
*document*: plain data (dicts, lists, strings) made from one data load, with
confidential numbers already left out by `security.visible`. The HTML print
views and the PDF layout (`pdf`) both render documents, so screen and paper
say the same, and a document can be stored as it was printed.

Revisions. Downloading a binder (`GET /binder.pdf`) is a preview and records
nothing: a GET that writes would make every reload, prefetch or link checker
a new revision. Recording is a POST ("print a new revision"): coordinators
record the regional binder, an actor's editors their actor's binder. It
stores the document (its entries, keyed stably `point:12`, `node:7`, ...
with their values, are worked out from it) and the pages of each section as
a `PrintRevision`, then redirects to that revision's PDF. A recorded
revision is always rendered from its snapshot, so revision N prints the same
pages today and in a year, and the next revision opens with what changed
since: entries changed, added and removed, and which sections to replace.

Documents are built in `documents`, revisions and their changes are kept in
`binder`; this module holds the pages.
"""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask import Response as FlaskResponse
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer, selectinload

from directory.calltrees import rules as calltrees
from directory.core.extensions import db
from directory.core.models import (
    Actor,
    CallTree,
    Person,
    PrintRevision,
    utcnow,
)
from directory.core.modes import region_mode
from directory.core.security import can_edit, is_admin
from directory.core.text import slugify, swedish_sort_key
from directory.printing import jobs, pdf
from directory.printing.binder import (
    record_revision,
    render_preview,
    render_revision,
    user_name,
)
from directory.printing.documents import (
    REGIONAL_SCOPE,
    Builder,
    binder_scope,
    load_actors,
    local_today,
    parse_at,
    parse_mode,
)
from directory.printing.forms import PreviewForm, RevisionForm

bp = Blueprint("printing", __name__)

# --- Views --------------------------------------------------------------------------


def _pdf_response(content: bytes, name: str) -> FlaskResponse:
    filename = (slugify(name) or "kontaktvagar")[:80] + ".pdf"
    return current_app.response_class(
        content, mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


def _live_tree(tree_id: int) -> CallTree:
    tree = calltrees.load_tree(tree_id)
    if tree is None or tree.deleted_at is not None:
        abort(404)
    return tree


def _live_actor(slug: str) -> Actor:
    actor = db.session.scalar(select(Actor).where(Actor.slug == slug,
                                                  Actor.deleted_at.is_(None)))
    if actor is None:
        abort(404)
    return actor


def _actor_param() -> Actor | None:
    slug = request.args.get("actor", "").strip()
    return _live_actor(slug) if slug else None


def _print_context(builder: "Builder", title: str, scope: str, head: dict) -> dict:
    """What every print view's header and footer show (and the moment asked for)."""
    return {
        "title": title, "scope": scope, "head": head, "w": pdf,
        "doc": {"at": builder.at.isoformat() if builder.at else None},
        "marking": current_app.config["SENSITIVITY_MARKING"],
        "printed_at": utcnow().isoformat(), "printed_by": user_name(current_user),
        "today": local_today(),
    }


def _tree_meta(tree: dict) -> dict:
    return {
        "title": tree["name"], "scope": tree["owner"] or _("Regional"),
        "revision": _("call tree revision %(n)s", n=tree["revision"]),
        "valid_from": tree["valid_from"], "next_review": tree["next_review"],
        "printed_at": utcnow().isoformat(), "printed_by": user_name(current_user),
        "marking": current_app.config["SENSITIVITY_MARKING"],
        "today": local_today().isoformat(),
        "mode_band": tree["mode"],
    }


@bp.get("/calltrees/<int:tree_id>/print")
def tree_print(tree_id):
    """A call tree for paper: every node with its numbers and a box for the call time."""
    builder = Builder(at=parse_at(request.args.get("at")))
    tree = builder.tree_document(_live_tree(tree_id))["sections"][0]["tree"]
    head = {"mode": tree["mode"], "scenario": tree["scenario"],
            "revision": _("call tree revision %(n)s", n=tree["revision"]),
            "valid_from": tree["valid_from"], "next_review": tree["next_review"]}
    return render_template("printing/tree.html", tree=tree, tree_id=tree_id,
                           **_print_context(builder, tree["name"],
                                            tree["owner"] or _("Regional"), head))


@bp.get("/calltrees/<int:tree_id>.pdf")
def tree_pdf(tree_id):
    """A call tree as an A4 PDF (who is on call for ?at=, else the rotation members)."""
    at = parse_at(request.args.get("at"))
    doc = Builder(at=at).tree_document(_live_tree(tree_id))
    tree = doc["sections"][0]["tree"]
    content, _pages = pdf.render_pdf(doc, _tree_meta(tree))
    return _pdf_response(content, tree["name"])


@bp.get("/actors/<slug>/print")
def actor_print(slug):
    """An actor's contact sheet for paper: paths for the mode, roles, persons."""
    actor = _live_actor(slug)
    builder = Builder(at=parse_at(request.args.get("at")),
                      mode=parse_mode(request.args.get("mode")))
    (row,) = load_actors(actor.id)
    data = builder.actor(row, builder.on_call([row]))
    scenario = region_mode(builder.states).scenario
    head = {"mode": data["mode"], "scenario": scenario.name if scenario else None,
            "revision": _("contact sheet"), "valid_from": local_today().isoformat(),
            "next_review": data["review_due"]}
    return render_template("printing/actor.html", actor=data,
                           **_print_context(builder, data["name"], _("Contact sheet"), head))


@bp.get("/print/directory")
def directory_print():
    """The whole directory for paper: actors by hierarchy, their own and roles' numbers."""
    builder = Builder(at=parse_at(request.args.get("at")),
                      mode=parse_mode(request.args.get("mode")))
    actors = builder.directory()
    state = region_mode(builder.states)
    head = {"mode": builder.mode or state.mode.value,
            "scenario": state.scenario.name if state.scenario else None,
            "revision": _("directory listing"), "valid_from": local_today().isoformat(),
            "next_review": None}
    return render_template("printing/directory.html", actors=actors,
                           **_print_context(builder, _("Directory"), _("Region – all actors"),
                                            head))


@bp.get("/print/print.css")
def stylesheet():
    """The print views' style sheet (A4, black on white)."""
    return current_app.response_class(render_template("printing/print.css"),
                                      mimetype="text/css")


def may_record(actor: Actor | None) -> bool:
    """Coordinators record the regional binder; an actor's editors their actor's."""
    return is_admin(current_user) if actor is None else can_edit(current_user, actor)


@bp.get("/binder")
def binder():
    """The binder: preview it, print a new revision, or download an earlier one."""
    actor = _actor_param()
    scope = binder_scope(actor)
    revisions = db.session.scalars(
        select(PrintRevision).where(PrintRevision.scope == scope)
        .options(selectinload(PrintRevision.printed_by), defer(PrintRevision.snapshot))
        .order_by(PrintRevision.number.desc())
    ).all()
    actors = db.session.execute(
        select(Actor.name, Actor.slug).where(Actor.deleted_at.is_(None))).all()
    actors.sort(key=lambda a: swedish_sort_key(a.name))
    return render_template("printing/binder.html", actor=actor, revisions=revisions,
                           actors=actors, may_record=may_record(actor), form=RevisionForm(),
                           preview=PreviewForm(actor=actor.slug if actor else ""))


@bp.get("/binder.pdf")
def binder_pdf():
    """Preview the binder as a PDF (?actor=, ?mode=, ?at=); records nothing.

    An actor's binder, or a small region's, is laid out in the request. A
    region of more than PRINT_IN_REQUEST_PERSONS persons is not: at national
    scale it takes tens of seconds and hundreds of megabytes, which a web
    worker must not spend on a GET that any bookmark, prefetch or link
    checker can repeat, and a GET starts no print job either. The reader is
    sent to the binder page, whose "Preview PDF" (a POST) queues it."""
    actor = _actor_param()
    mode = parse_mode(request.args.get("mode"))
    at = parse_at(request.args.get("at"))
    if actor is None and _region_persons() > current_app.config["PRINT_IN_REQUEST_PERSONS"]:
        if request.method == "GET":
            flash(_("The whole region's binder is laid out by the print worker: press "
                    "“Preview PDF” below, and follow it to the download."), "info")
        return redirect(url_for("printing.binder"), 303)
    content, name = render_preview(actor, current_user, mode, at)
    return _pdf_response(content, name)


def _region_persons() -> int:
    return db.session.scalar(
        select(func.count(Person.id)).where(Person.deleted_at.is_(None))) or 0


@bp.post("/binder/previews")
def binder_preview_job():
    """Preview the binder through the print queue (the binder page's button): a
    whole region's binder is laid out by the print worker, not in the request."""
    form = PreviewForm()
    if not form.validate_on_submit():
        abort(400)
    actor = _live_actor(form.actor.data) if form.actor.data else None
    mode = parse_mode(form.mode.data)
    at = parse_at(form.at.data.isoformat() if form.at.data else None)
    return _preview_through_queue(actor, mode, at)


def _preview_through_queue(actor: Actor | None, mode, at):
    """Queue the preview and show its job (or its PDF, when it was done while we
    waited); lay it out here when the queue cannot be reached."""
    try:
        job = jobs.start(jobs.build_preview, actor, current_user, mode, at)
    except jobs.QueueUnavailable as error:
        current_app.logger.warning("print queue unavailable (%s): previewing in the request",
                                   error)
        content, name = render_preview(actor, current_user, mode, at)
        return _pdf_response(content, name)
    if jobs.progress(job)["step"] == jobs.DONE:
        return redirect(url_for("printing.print_job_pdf", job_id=job.id), 303)
    return redirect(url_for("printing.print_job", job_id=job.id), 303)


def _record(actor: Actor | None):
    if not may_record(actor):
        abort(403)
    form = RevisionForm()
    if not form.validate_on_submit():
        abort(400)
    at = parse_at(form.at.data.isoformat() if form.at.data else None)
    mode = parse_mode(form.mode.data)
    try:
        job = jobs.start(jobs.build_revision, actor, current_user, mode, at)
    except jobs.QueueUnavailable as error:
        current_app.logger.warning("print queue unavailable (%s): printing in the request",
                                   error)
        return _record_here(actor, mode, at)
    state = jobs.progress(job)
    if state["step"] == jobs.DONE:  # a small binder, done while we waited
        return redirect(url_for("printing.revision_pdf",
                                revision_id=state["outcome"]["revision_id"]), 303)
    if state["step"] == jobs.COLLIDED:
        return _collided(actor)
    return redirect(url_for("printing.print_job", job_id=job.id), 303)


def _record_here(actor: Actor | None, mode, at):
    try:
        revision = record_revision(actor, current_user, mode, at)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return _collided(actor)
    current_app.logger.info("binder %s revision %d recorded by user %s", revision.scope,
                            revision.number, current_user.id)
    return redirect(url_for("printing.revision_pdf", revision_id=revision.id), 303)


def _collided(actor: Actor | None):
    flash(_("Someone printed a revision of this binder at the same moment. "
            "Look at it below, then print again if needed."), "error")
    return redirect(url_for("printing.binder", actor=actor.slug if actor else None))


@bp.post("/binder/revisions")
def binder_record():
    """Print a new revision of the regional binder (coordinators)."""
    return _record(None)


@bp.post("/actors/<slug>/binder/revisions")
def actor_binder_record(slug):
    """Print a new revision of one actor's binder (its editors and coordinators)."""
    return _record(_live_actor(slug))


def _own_job(job_id: str):
    job = jobs.find(job_id, current_user)
    if job is None:
        abort(404)
    return job


@bp.get("/binder/jobs/<job_id>")
def print_job(job_id):
    """A binder revision being printed: what it is doing, then the download."""
    job = _own_job(job_id)
    state = jobs.progress(job)
    actor = db.session.get(Actor, job.meta["actor_id"]) if job.meta.get("actor_id") else None
    if state["step"] == jobs.COLLIDED:
        return _collided(actor)
    return render_template("printing/job.html", job=job, state=state, actor=actor,
                           steps=jobs)


@bp.get("/binder/jobs/<job_id>.pdf")
def print_job_pdf(job_id):
    """The PDF a print job made for the person who asked (kept for an hour; after
    that, the recorded revision itself)."""
    job = _own_job(job_id)
    state = jobs.progress(job)
    if state["step"] != jobs.DONE:
        return redirect(url_for("printing.print_job", job_id=job.id))
    content = jobs.pdf(job)
    if content is None and "revision_id" in state["outcome"]:  # kept an hour
        return redirect(url_for("printing.revision_pdf",
                                revision_id=state["outcome"]["revision_id"]))
    if content is None:
        abort(410)  # a preview's PDF is gone after an hour
    outcome = state["outcome"]
    return _pdf_response(content, outcome["filename"])


@bp.get("/binder/revisions/<int:revision_id>.pdf")
def revision_pdf(revision_id):
    """A recorded binder revision, exactly as printed (confidential numbers masked)."""
    revision = db.session.get(PrintRevision, revision_id)
    if revision is None or not revision.scope.startswith(REGIONAL_SCOPE):
        abort(404)
    content = render_revision(revision, current_user)
    return _pdf_response(content, f"{revision.title} {revision.number}")
