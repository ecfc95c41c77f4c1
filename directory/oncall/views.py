"""The on-call board (`/oncall`) and the communications list (`/oncall.pdf`, print view)."""

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user

from directory.core import pagecache
from directory.core.limits import number_from_text
from directory.core.models import ActorKind, utcnow
from directory.core.modes import region_mode
from directory.core.pagecache import Page
from directory.oncall import board, comms

bp = Blueprint("oncall", __name__)

# Seconds between refreshes of the board's rows (fetched, not reloaded).
REFRESH_SECONDS = 60

def kind_choices() -> list[tuple[str, str]]:
    names = {
        "municipality": _("Municipality"),
        "municipal_administration": _("Municipal administration"),
        "county_board": _("County administrative board"), "police": _("Police"),
        "armed_forces": _("Armed forces"), "rescue_service": _("Rescue service"),
        "region": _("Region"), "agency": _("Agency"),
        "emergency_centre": _("Emergency centre"), "company": _("Company"),
        "volunteer": _("Volunteer organisation"), "other": _("Other"),
    }  # fmt: skip
    return [(kind.value, names.get(kind.value, kind.value)) for kind in ActorKind]


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _filters() -> board.Filters:
    try:
        return board.read_filters(request.args)
    except board.FilterError as error:
        abort(400, _("“%(kind)s” is not a kind of actor. Choose one from the list.",
                     kind=str(error)[:40]))


def _board(filters: board.Filters, number: int, template: str, layout: bool) -> Page:
    """The board's page `number`, kept until any row would read differently: the
    next change of who is on call for its roles (or of who comes next, as the
    window moves on); any write is a new data version."""
    now, tz = utcnow(), _tz()
    page = board.board_page(filters, now, tz, number, current_app.config["ONCALL_PAGE_SIZE"])
    # The page's own address for its refresh: the filters, and the page past the first.
    here = {**filters.args, **({"page": page.number} if page.number > 1 else {})}
    context = {"rows": page.rows, "page": page, "filters": filters, "here": here, "now": now,
               "gaps": sum(1 for r in page.rows if r.is_gap),
               "refresh_seconds": REFRESH_SECONDS}
    if layout:
        context["kinds"] = kind_choices()
    return Page(template, context, layout=layout, valid_until=page.unchanged_until)


def _kept_board(name: str, template: str, layout: bool) -> str:
    filters = _filters()  # a kind that is not one: 400 before anything is kept
    number = number_from_text(request.args.get("page")) or 1  # not a number: the first page
    return pagecache.render((name, tuple(sorted(filters.args.items())), number),
                            lambda: _board(filters, number, template, layout))


@bp.get("/oncall")
def index():
    """Every actor's duty roles: who is on call now, the number, until when, who next."""
    return _kept_board("oncall", "oncall/board.html", layout=True)


@bp.get("/oncall/rows")
def rows():
    """The board's table body alone, for the page's periodic refresh."""
    return _kept_board("oncall-rows", "oncall/_rows.html", layout=False)


def _local(moment) -> str:
    return format_datetime(moment, "yyyy-MM-dd HH:mm")


def _comms_data() -> dict:
    """Rows and conferences for the mode in force, and what header and footer say."""
    filters = _filters()
    now = utcnow()
    state = region_mode()
    rows = board.board_rows(filters, now, _tz())
    patterns = comms.live_patterns(state.mode)
    revision = comms.revision_of(rows, patterns)
    meta = {
        "title": _("Communications list (ICS 205A)"),
        "scope": _("Region – all actors"),
        "mode_text": _("Activated mode") if state.is_activated else _("Ordinary mode"),
        "scenario": state.scenario.name if state.scenario else None,
        "revision": _("Revision %(when)s", when=_local(revision) if revision else "–"),
        "date": _local(now),
        "printed_at": _local(now),
        "printed_by": (current_user.name or current_user.email),
        "marking": current_app.config["SENSITIVITY_MARKING"],
    }
    return {"rows": rows, "patterns": [comms.pattern_lines(p) for p in patterns],
            "raw_patterns": patterns, "meta": meta, "state": state}


@bp.get("/oncall/print")
def print_view():
    """The communications list for paper: duty roles, numbers, talk groups, bridges."""
    data = _comms_data()
    return render_template("oncall/print.html",
                           on_call_text=comms.on_call_text, until_text=comms.until_text,
                           number_text=comms.number_text, **data)


@bp.get("/oncall.pdf")
def comms_pdf():
    """The communications list as a landscape A4 PDF for the wall and the binder."""
    data = _comms_data()
    content = comms.render_comms_pdf(data["rows"], data["raw_patterns"], data["meta"])
    return current_app.response_class(
        content, mimetype="application/pdf",
        headers={"Content-Disposition": 'inline; filename="kommunikationslista.pdf"'},
    )
