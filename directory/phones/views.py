"""Phones and calendars: vCard and CSV export, import with preview, iCalendar feeds, QR codes.

The work is done in `vcards`, `imports` and `calendars`; here are the
routes, the CSV writers and the forms. Every export shows what the reader
may see (`security.visible`) in the mode in force for each actor.

CSV files are RFC 4180 (comma, UTF-8, CRLF); `?format=excel` gives what
Excel in Swedish opens directly: `;` between cells, a BOM, a decimal comma.
A cell that a spreadsheet would read as a formula (starting with `=`, `+`,
`-`, `@`, tab or CR) gets a leading `'`. Phone numbers therefore come in two
columns: `value` in the national form people read (`070-174 06 05`, never a
leading `+` for Swedish numbers; foreign ones keep `+` and so get the `'`)
and `tel`, the exact E.164 number as an RFC 3966 URI (`tel:+46701740605`),
which starts with a letter and needs no protection.
"""

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError
from wtforms.fields.choices import SelectChoice

from directory.calltrees.rules import load_tree, tree_entries
from directory.core.extensions import db, limiter
from directory.core.forms import KIND_LABELS
from directory.core.models import (
    AccessToken,
    Actor,
    CallTree,
    ContactPoint,
    Person,
    Role,
    TokenKind,
    UserRole,
    utcnow,
)
from directory.core.moments import in_range, out_of_range_message
from directory.core.numbers import display_phone, tel_uri
from directory.core.pages import actor_for_edit
from directory.core.schedules import timelines
from directory.core.security import (
    Reader,
    editable_actor_ids,
    get_or_404,
    is_admin,
    reader_of,
    visible,
)
from directory.core.text import csv_cell, slugify, swedish_sort_key
from directory.phones import calendars, card_cache, card_exports, imports, reading, vcards
from directory.phones.forms import FeedForm, ImportForm

bp = Blueprint("phones", __name__)


@bp.record_once
def _setup(state) -> None:
    """Keep the rendered vCards current on every flush (like the search index)."""
    card_cache.init_app(state.app)


# --- Small helpers ---------------------------------------------------------------


def _version() -> str:
    """`?version=4.0` (or 4) gives vCard 4.0; 3.0 otherwise."""
    asked = request.args.get("version", "3.0").strip()
    if asked in ("", "3", "3.0"):
        return "3.0"
    if asked in ("4", "4.0"):
        return "4.0"
    abort(400)


_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f"/\\:*?<>|]+')


def _attachment(body, mimetype: str, filename: str, *, stream: bool = False,
                display: str = "") -> Response:
    """A download named `filename` (ASCII); `display`, the name as people write it
    ("Дмитрий Орлов.vcf"), goes beside it as RFC 6266's `filename*` where it is
    not ASCII, which browsers prefer."""
    response = Response(stream_with_context(body) if stream else body, mimetype=mimetype)
    disposition = f'attachment; filename="{filename}"'
    display = " ".join(_UNSAFE_IN_NAME.sub(" ", display).split())
    if display and not display.isascii():
        disposition += f"; filename*=UTF-8''{quote(display, safe='')}"
    response.headers["Content-Disposition"] = disposition
    return response


def _vcf(cards: Iterable, filename: str, *, stream: bool = False,
         display: str = "") -> Response:
    return _attachment(card_exports.vcf_stream(cards), "text/vcard", f"{filename}.vcf",
                       stream=stream, display=f"{display}.vcf" if display else "")


def _zip(cards: Iterable, filename: str, *, stream: bool = False,
         display: str = "") -> Response:
    return _attachment(card_exports.zip_stream(cards, datetime.now(_tz())), "application/zip",
                       f"{filename}.zip", stream=stream,
                       display=f"{display}.zip" if display else "")  # fmt: skip


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _live_actor(slug: str, *, with_entries: bool = True) -> Actor:
    """A live actor, with its roles, persons and all their paths when asked; or 404."""
    query = select(Actor).where(Actor.slug == slug, Actor.deleted_at.is_(None))
    if with_entries:
        query = query.options(
            selectinload(Actor.contact_points),
            selectinload(Actor.roles).selectinload(Role.contact_points),
            selectinload(Actor.persons).selectinload(Person.contact_points),
        )
    actor = db.session.scalar(query)
    if actor is None:
        abort(404)
    return actor


def _actor_entries(actor: Actor) -> list:
    """The actor, its roles, its persons: the cards of an actor, in that order."""
    roles = sorted((r for r in actor.roles if r.deleted_at is None),
                   key=lambda r: swedish_sort_key(r.name))  # fmt: skip
    persons = sorted((p for p in actor.persons if p.deleted_at is None),
                     key=lambda p: swedish_sort_key(p.name))  # fmt: skip
    return [actor, *roles, *persons]


def _live_tree(tree_id: int) -> CallTree:
    tree = load_tree(tree_id)
    if tree is None or tree.deleted_at is not None:
        abort(404)
    return tree


# --- Pages -----------------------------------------------------------------------


MAX_LISTED = 200


@bp.get("/export")
def index():
    """What can be exported and imported, and where calendar feeds are made."""
    if is_admin(current_user):  # every actor, unless there are too many to list
        query = select(Actor.name, Actor.slug).where(Actor.deleted_at.is_(None))
        importable = db.session.execute(query.limit(MAX_LISTED + 1)).all()
    else:
        importable = [(a.name, a.slug) for a in current_user.actors if a.deleted_at is None]
    too_many = len(importable) > MAX_LISTED
    importable = [] if too_many else sorted(importable, key=lambda a: swedish_sort_key(a[0]))
    start, end = _month(datetime.now(_tz()).date())
    return render_template("phones/index.html", importable=importable, too_many=too_many,
                           month_start=start, month_end=end)  # fmt: skip


# --- vCard -----------------------------------------------------------------------


@bp.get("/export/persons/<int:person_id>.vcf")
def person_vcard(person_id):
    """A person's vCard: the paths the reader may see, in the mode in force."""
    person = get_or_404(Person, person_id)
    card = vcards.render_for(person, current_user, version=_version())
    return _vcf([card_exports.Card("person", person.id, "", person.name, card)],
                slugify(person.name) or f"person-{person.id}", display=person.name)


@bp.get("/export/roles/<int:role_id>.vcf")
def role_vcard(role_id):
    """A role's functional vCard ("TiB – Haninge kommun") with its numbers."""
    role = get_or_404(Role, role_id)
    card = vcards.render_for(role, current_user, version=_version())
    name = f"{role.short_name or role.name} {role.actor.name}"
    return _vcf([card_exports.Card("role", role.id, "", name, card)],
                slugify(name) or f"role-{role.id}", display=f"{role.short_name or role.name} – "
                f"{role.actor.name}")


@bp.get("/export/actors/<slug>.vcf")
def actor_vcard(slug):
    """An actor's cards: its own, its roles' and its persons', in one file."""
    actor = _live_actor(slug)
    cards = card_exports.entry_cards(_actor_entries(actor), current_user, _version())
    return _vcf(cards, actor.slug)


@bp.get("/export/actors/<slug>.zip")
def actor_zip(slug):
    """An actor's cards, one file each (some clients read only a file's first card)."""
    actor = _live_actor(slug)
    cards = card_exports.entry_cards(_actor_entries(actor), current_user, _version())
    return _zip(cards, actor.slug)


@bp.get("/export/calltrees/<int:tree_id>.vcf")
def calltree_vcard(tree_id):
    """The cards of everyone a call tree calls, with the paths for the tree's mode."""
    tree = _live_tree(tree_id)
    cards = card_exports.entry_cards(tree_entries(tree), current_user, _version(), mode=tree.mode,
                               disclosed=True)
    return _vcf(cards, slugify(tree.name) or f"calltree-{tree.id}", display=tree.name)


@bp.get("/export/calltrees/<int:tree_id>.zip")
def calltree_zip(tree_id):
    """A call tree's cards, one file each."""
    tree = _live_tree(tree_id)
    cards = card_exports.entry_cards(tree_entries(tree), current_user, _version(), mode=tree.mode,
                               disclosed=True)
    return _zip(cards, slugify(tree.name) or f"calltree-{tree.id}", display=tree.name)


@bp.get("/export/directory.vcf")
def directory_vcard():
    """Every actor's, role's and person's card, streamed (from the rendered-card cache)."""
    cards = card_exports.directory_cards(reader_of(current_user), _version())
    return _vcf(cards, "kontaktvagar", stream=True)


@bp.get("/export/directory.zip")
def directory_zip():
    """The whole directory, one .vcf file per card, streamed."""
    cards = card_exports.directory_cards(reader_of(current_user), _version())
    return _zip(cards, "kontaktvagar", stream=True)


@bp.get("/export/persons/<int:person_id>/qr.svg")
def person_qr(person_id):
    """A QR code of a person's vCard, for a phone's camera."""
    person = get_or_404(Person, person_id)
    svg = vcards.qr_svg(person, current_user, _("vCard of %(name)s", name=person.name))
    return Response(svg, mimetype="image/svg+xml")


@bp.get("/export/roles/<int:role_id>/qr.svg")
def role_qr(role_id):
    """A QR code of a role's vCard, for a phone's camera."""
    role = get_or_404(Role, role_id)
    name = f"{role.short_name or role.name} – {role.actor.name}"
    return Response(vcards.qr_svg(role, current_user, _("vCard of %(name)s", name=name)),
                    mimetype="image/svg+xml")  # fmt: skip


# --- CSV -------------------------------------------------------------------------

class CsvFormat(NamedTuple):
    delimiter: str
    bom: bool
    decimal: str


def _csv_format() -> CsvFormat:
    if request.args.get("format") == "excel":
        return CsvFormat(";", True, ",")
    return CsvFormat(",", False, ".")


def csv_stream(header: list[str], rows: Iterable[list], fmt: CsvFormat) -> Iterator[bytes]:
    """CSV text in UTF-8, every cell protected, in chunks of some hundred lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=fmt.delimiter, lineterminator="\r\n")
    if fmt.bom:
        buffer.write("\ufeff")
    writer.writerow([csv_cell(h) for h in header])
    for count, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(value) for value in row])
        if count % 500 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


DIRECTORY_COLUMNS = reading.APP_CSV_COLUMNS


class _CsvPath(NamedTuple):  # a row as `visible()` reads a path
    row: object
    confidential: bool
    owning_actor_id: int


def _directory_rows(actor_id: int | None, reader: Reader) -> Iterator[list]:
    """One row per live contact path the reader may see, actor by actor.

    Read in a stream, after the request: `reader` was taken before it began.
    """
    owner_order = case((ContactPoint.role_id.is_not(None), 1),
                       (ContactPoint.person_id.is_not(None), 2), else_=0)  # fmt: skip
    stmt = (
        select(
            ContactPoint.kind, ContactPoint.value, ContactPoint.label, ContactPoint.pin,
            ContactPoint.mode, ContactPoint.priority, ContactPoint.confidential,
            ContactPoint.role_id, ContactPoint.person_id,
            Role.name.label("role_name"), Role.short_name.label("role_short_name"),
            Person.name.label("person_name"), Person.title.label("person_title"),
            Actor.id.label("actor_id"), Actor.parent_id, Actor.name.label("actor_name"),
            Actor.slug,
        )  # fmt: skip
        .outerjoin(Role, Role.id == ContactPoint.role_id)
        .outerjoin(Person, Person.id == ContactPoint.person_id)
        .join(Actor, Actor.id == func.coalesce(ContactPoint.actor_id, Role.actor_id,
                                               Person.actor_id))  # fmt: skip
        .where(
            ContactPoint.deleted_at.is_(None),
            ContactPoint.pattern_id.is_(None),
            Actor.deleted_at.is_(None),
            or_(Role.id.is_(None), Role.deleted_at.is_(None)),
            or_(Person.id.is_(None), Person.deleted_at.is_(None)),
        )
        .order_by(Actor.name, Actor.id, owner_order,
                  func.coalesce(Role.name, Person.name), ContactPoint.role_id,
                  ContactPoint.person_id, ContactPoint.priority, ContactPoint.id)  # fmt: skip
    )
    if actor_id is not None:
        stmt = stmt.where(Actor.id == actor_id)
    reading = card_exports.Reading(reader)
    region = current_app.config["DEFAULT_REGION"]
    batch: list[_CsvPath] = []
    rows = db.session.execute(stmt.execution_options(yield_per=1000))
    for row in rows:
        batch.append(_CsvPath(row, row.confidential, row.actor_id))
        if len(batch) >= 1000:
            yield from _directory_lines(visible(batch, reader), reading, region)
            batch = []
    yield from _directory_lines(visible(batch, reader), reading, region)


def _directory_lines(paths: list[_CsvPath], reading, region: str) -> Iterator[list]:
    for path in paths:
        row = path.row
        if row.role_id is not None:
            owner_type, owner, title = "role", row.role_short_name or row.role_name, row.role_name
        elif row.person_id is not None:
            owner_type, owner, title = "person", row.person_name, row.person_title
        else:
            owner_type, owner, title = "actor", row.actor_name, ""
        is_phone = row.kind.is_phone
        in_force = row.mode.applies_in(reading.mode(row.actor_id, row.parent_id))
        yield [
            row.actor_name, row.slug, owner_type, owner, title, row.kind.value,
            display_phone(row.value, region) if is_phone else row.value,
            tel_uri(row.value) if is_phone else "", row.label, row.pin, row.mode.value,
            row.priority, "yes" if row.confidential else "no", "yes" if in_force else "no",
        ]  # fmt: skip


@bp.get("/export/directory.csv")
def directory_csv():
    """Every contact path the reader may see, one per line (both modes, marked)."""
    fmt = _csv_format()
    rows = _directory_rows(None, reader_of(current_user))
    return _attachment(csv_stream(DIRECTORY_COLUMNS, rows, fmt), "text/csv",
                       "kontaktvagar.csv", stream=True)  # fmt: skip


@bp.get("/export/actors/<slug>.csv")
def actor_csv(slug):
    """An actor's contact paths (its own, its roles' and persons'), one per line."""
    actor = _live_actor(slug, with_entries=False)
    fmt = _csv_format()
    rows = _directory_rows(actor.id, reader_of(current_user))
    return _attachment(csv_stream(DIRECTORY_COLUMNS, rows, fmt),
                       "text/csv", f"{actor.slug}.csv", stream=True)  # fmt: skip


SHIFT_COLUMNS = ["actor", "role", "person", "source", "starts", "ends", "hours"]
MAX_SHIFT_DAYS = 400
ROLE_CHUNK = 200


def _month(day: date) -> tuple[date, date]:
    start = day.replace(day=1)
    return start, (start + timedelta(days=32)).replace(day=1)


def _period() -> tuple[date, date]:
    """`?from=` and `?to=` (local dates, `to` not included); this month by default."""
    default_start, default_end = _month(datetime.now(_tz()).date())
    try:
        start = date.fromisoformat(request.args.get("from") or default_start.isoformat())
        end = date.fromisoformat(request.args.get("to") or default_end.isoformat())
    except ValueError:
        abort(400, _("Give dates as YYYY-MM-DD."))
    if not (in_range(start) and in_range(end)):
        abort(400, out_of_range_message())
    if not start < end or (end - start).days > MAX_SHIFT_DAYS:
        abort(400, _("The period must end after it starts and be at most %(days)d days.",
                     days=MAX_SHIFT_DAYS))
    return start, end


def _shift_rows(actor_id: int | None, start: datetime, end: datetime, fmt: CsvFormat):
    """Who was on call, stretch by stretch, per role: what payroll counts."""
    tz = _tz()
    query = (select(Role.id).join(Actor, Actor.id == Role.actor_id)
             .where(Role.deleted_at.is_(None), Actor.deleted_at.is_(None))
             .order_by(Actor.name, Role.name, Role.id))  # fmt: skip
    if actor_id is not None:
        query = query.where(Role.actor_id == actor_id)
    role_ids = db.session.scalars(query).all()
    for first in range(0, len(role_ids), ROLE_CHUNK):
        chunk = role_ids[first:first + ROLE_CHUNK]
        roles = {r.id: r for r in db.session.scalars(
            select(Role).where(Role.id.in_(chunk)).options(selectinload(Role.actor)))}
        lines = timelines([roles[i] for i in chunk], start, end, tz)
        for role_id in chunk:
            role = roles[role_id]
            for stretch in lines[role_id]:
                if stretch.person is None:
                    continue
                hours = (stretch.ends_at - stretch.starts_at).total_seconds() / 3600
                yield [
                    role.actor.name, role.short_name or role.name, stretch.person.name,
                    stretch.source,
                    stretch.starts_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                    stretch.ends_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                    f"{hours:.2f}".replace(".", fmt.decimal),
                ]  # fmt: skip


@bp.get("/export/shifts.csv")
def shifts_csv():
    """On-call time per role and person for a period (for payroll); ?actor=, ?from=, ?to=."""
    first, last = _period()
    slug = request.args.get("actor")
    actor = _live_actor(slug, with_entries=False) if slug else None
    tz = _tz()
    start = datetime.combine(first, time(0), tzinfo=tz)
    end = datetime.combine(last, time(0), tzinfo=tz)
    fmt = _csv_format()
    name = f"{actor.slug if actor else 'pass'}-{first.isoformat()}-{last.isoformat()}.csv"
    rows = _shift_rows(actor.id if actor else None, start, end, fmt)
    return _attachment(csv_stream(SHIFT_COLUMNS, rows, fmt), "text/csv", name, stream=True)


# --- Import ----------------------------------------------------------------------


SESSION_KEY = "import_upload"


def _import_page(actor, form, problems=(), status=200):
    return render_template(
        "phones/import.html", actor=actor, form=form, problems=list(problems),
        limit=f"{imports.max_bytes() / 1_000_000:g} MB", columns=reading.COLUMNS,
        max_contacts=reading.MAX_CONTACTS,
    ), status  # fmt: skip


def _preview_page(actor, plan, filename, notice=None, status=200, choices=None):
    return render_template("phones/preview.html", actor=actor, plan=plan, filename=filename,
                           notice=notice, choices=choices or {}, kind_labels=KIND_LABELS,
                           resolutions=imports.RESOLUTIONS), status  # fmt: skip


def _conflict_choices(plan) -> dict[int, str]:
    """The preview form's choice for each conflict row (`conflict-<number>`)."""
    return {
        row.incoming.number: request.form.get(f"conflict-{row.incoming.number}", "")
        for row in plan.conflicts
    }


@bp.route("/actors/<slug>/import", methods=["GET", "POST"])
def import_upload(slug):
    """Upload a vCard or CSV file into an actor and see what importing it would do."""
    actor = actor_for_edit(slug)
    form = ImportForm()
    if request.method == "GET":
        return _import_page(actor, form)
    limit = imports.max_bytes()
    too_large = _("The file is larger than %(size)s; split it into smaller files.",
                  size=f"{limit / 1_000_000:g} MB")
    if (request.content_length or 0) > limit + 64 * 1024:
        return _import_page(actor, form, [too_large], 413)
    if not form.validate_on_submit():
        return _import_page(actor, form, status=422)
    upload = form.file.data
    data = upload.read(limit + 1)
    if len(data) > limit:
        return _import_page(actor, form, [too_large], 413)
    region = current_app.config["DEFAULT_REGION"]
    try:
        plan = imports.plan_import(actor, data, region)
    except reading.ImportProblem as problem:
        return _import_page(actor, form, [str(problem)], 422)
    filename = (upload.filename or "")[:200]
    imports.discard_upload(session.pop(SESSION_KEY, None), user_id=current_user.id)
    upload_id = imports.stash_upload(
        data, user_id=current_user.id, actor_id=actor.id, filename=filename,
        meta={"fingerprint": plan.fingerprint(),
              "confidential_mobiles": bool(form.confidential_mobiles.data)},
    )  # fmt: skip
    db.session.commit()
    session[SESSION_KEY] = upload_id
    return _preview_page(actor, plan, filename)


@bp.post("/actors/<slug>/import/commit")
def import_commit(slug):
    """Import the previewed file: everything in it, or (if anything changed) nothing."""
    actor = actor_for_edit(slug)
    upload_id = session.get(SESSION_KEY)
    pending = imports.load_upload(upload_id, user_id=current_user.id, actor_id=actor.id)
    if pending is None:
        flash(_("Nothing to import: upload the file again."), "error")
        return redirect(url_for("phones.import_upload", slug=actor.slug))
    data, meta, filename = pending.data, dict(pending.meta), pending.filename
    region = current_app.config["DEFAULT_REGION"]
    try:
        plan = imports.plan_import(actor, data, region)
    except reading.ImportProblem as problem:  # the rules changed under a stored file
        imports.discard_upload(session.pop(SESSION_KEY, None), user_id=current_user.id)
        db.session.commit()
        return _import_page(actor, ImportForm(), [str(problem)], 422)
    if plan.fingerprint() != meta.get("fingerprint") or not plan.can_commit:
        meta["fingerprint"] = plan.fingerprint()
        pending.meta = meta
        db.session.commit()
        notice = _("The directory changed since the preview, or the preview had problems. "
                   "Nothing was imported; this is what importing would do now.")
        return _preview_page(actor, plan, filename, notice, 409)
    choices = _conflict_choices(plan)
    unresolved = plan.resolve(choices)
    if unresolved:
        notice = _("Choose what to do with each conflict (%(numbers)s). Nothing was imported.",
                   numbers=", ".join(str(n) for n in unresolved))
        return _preview_page(actor, plan, filename, notice, 422, choices)
    try:
        counts = imports.apply_plan(plan, actor,
                                    confidential_mobiles=meta.get("confidential_mobiles", True))
        imports.discard_upload(upload_id, user_id=current_user.id)  # in the same transaction
        db.session.commit()
    except (SQLAlchemyError, StaleDataError):
        db.session.rollback()
        current_app.logger.exception("import into actor %s failed", actor.id)
        notice = _("The import failed and nothing was imported. Try again.")
        return _preview_page(actor, plan, filename, notice, 409)
    session.pop(SESSION_KEY, None)
    current_app.logger.info("user %s imported %s created, %s changed into actor %s",
                            current_user.id, counts["created"], counts["changed"], actor.id)
    flash(_("Imported: %(created)d new, %(changed)d changed.", **counts), "success")
    return redirect(url_for("lookup.actor", slug=actor.slug))


# --- Calendar feeds --------------------------------------------------------------


def _subject_label(subject) -> str:
    if subject == calendars.PATTERNS:
        return _("Collaboration meetings (all patterns in force)")
    if isinstance(subject, Role):
        return _("On-call time of %(role)s", role=f"{subject.short_name or subject.name}"
                 f" – {subject.actor.name}")
    return _("On-call time of %(person)s (%(actor)s)", person=subject.name,
             actor=subject.actor.name)


def _feed_choices(asked) -> list[SelectChoice]:
    """What this user may make feeds of: the subject asked for, their actors' roles and persons."""
    subjects = []
    if calendars.may_create(current_user, calendars.PATTERNS):
        subjects.append(calendars.PATTERNS)
    if asked is not None and asked not in subjects and calendars.may_create(current_user, asked):
        subjects.append(asked)
    actor_ids = sorted(editable_actor_ids(current_user))
    if actor_ids:
        for model in (Role, Person):
            subjects += [e for e in db.session.scalars(
                select(model).where(model.actor_id.in_(actor_ids), model.deleted_at.is_(None))
                .options(selectinload(model.actor)).order_by(model.name)
            ) if e is not asked]  # fmt: skip
    return [SelectChoice(calendars.subject_key(s), _subject_label(s)) for s in subjects]


def _feed_url(secret: str) -> str:
    return url_for("phones.calendar_feed", token=secret, _external=True)


def _calendars_page(form=None, new_feed=None, status=200):
    asked = calendars.parse_subject(request.args.get("subject"))
    if form is None:
        form = FeedForm()
        if asked is not None:
            form.subject.data = calendars.subject_key(asked)
    form.subject.choices = _feed_choices(asked)
    feeds = [(t, calendars.subject_of(t)) for t in calendars.feeds_for(current_user)] \
        if current_user.role != UserRole.VIEWER else []
    # A feed whose maker may no longer make it answers 404: say so, not "active".
    paused = {t.id for t, _subject in feeds
              if t.revoked_at is None and not calendars.owner_may_serve(t)}
    return render_template(
        "phones/calendars.html", form=form, feeds=feeds, new_feed=new_feed,
        subject_label=_subject_label, paused=paused,
    ), status  # fmt: skip


@bp.get("/calendars")
def calendars_page():
    """Calendar feeds: make a secret URL, see yours, revoke or renew them."""
    return _calendars_page()


@bp.post("/calendars/feeds")
def feed_create():
    """Make a feed URL for a person, role or the meetings; it is shown once."""
    form = FeedForm()
    subject = calendars.parse_subject(form.subject.data)
    if subject is None:
        abort(404)
    if not calendars.may_create(current_user, subject):
        abort(403)
    if not form.validate_on_submit():
        return _calendars_page(form, status=422)
    token, secret = calendars.create_feed(current_user, subject, form.name.data or "")
    db.session.commit()
    return _calendars_page(new_feed=(token, _feed_url(secret), _subject_label(subject)),
                           status=201)


def _feed_for_manage(token_id: int) -> AccessToken:
    token = db.session.get(AccessToken, token_id)
    if token is None or token.kind != TokenKind.CALENDAR:
        abort(404)
    if not calendars.may_manage(current_user, token):
        abort(403)
    return token


@bp.post("/calendars/feeds/<int:token_id>/revoke")
def feed_revoke(token_id):
    """Revoke a feed URL: calendar apps polling it get 410 Gone from now on."""
    token = _feed_for_manage(token_id)
    calendars.revoke_feed(token, current_user)
    db.session.commit()
    flash(_("The feed URL is revoked."), "success")
    return redirect(url_for("phones.calendars_page"))


@bp.post("/calendars/feeds/<int:token_id>/renew")
def feed_renew(token_id):
    """Replace a feed URL with a new one (the old stops working); shown once."""
    token = _feed_for_manage(token_id)
    try:
        new, secret = calendars.renew_feed(token, current_user)
    except calendars.FeedError as error:
        flash(str(error), "error")
        return redirect(url_for("phones.calendars_page"))
    db.session.commit()
    return _calendars_page(
        new_feed=(new, _feed_url(secret), _subject_label(calendars.subject_of(new))), status=201
    )


def _feed_key() -> str:
    """A feed's own budget, keyed by its secret's hash (the secret itself is
    never written to the limiter's store)."""
    secret = (request.view_args or {}).get("token", "")
    return "feed:" + hashlib.sha256(secret.encode()).hexdigest()


@bp.get("/calendars/<token>.ics")
@limiter.limit(lambda: current_app.config["FEED_RATE_LIMIT"], key_func=_feed_key,
               scope="calendar-feed")
def calendar_feed(token):
    """A calendar feed, read without signing in: the secret in the URL is the key."""
    feed = calendars.find_feed(token)
    if feed is None:
        abort(404)
    if feed.revoked_at is not None:
        abort(410)
    if not calendars.owner_may_serve(feed):  # the owner's rights as they are now
        abort(404)
    now = utcnow()
    text = calendars.feed_text(feed, now)
    if text is None:
        abort(404)
    calendars.note_use(feed, now)
    db.session.commit()
    response = Response(text, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="kontaktvagar.ics"'
    return response

