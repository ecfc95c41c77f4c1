"""The words of printed documents: kinds of path, modes, PACE letters, the
note beside a number, on-call, escalation and review texts, in the reader's
language (cached per language where a national binder asks the same question
a hundred thousand times).
"""

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from flask import current_app
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from directory.core.forms import kind_label as kind_name
from directory.core.text import fold

GROUPS = {"trees": _l("Regional call trees"), "actors": _l("Actors")}

WARNINGS = {
    "no_path": _l("No contact path for this tree's mode."),
    "alternate_no_path": _l("An alternate has no contact path for this tree's mode."),
    "nobody_on_call": _l("Nobody is on call."),
    "review_overdue": _l("The entries' review is overdue."),
}


def mode_name(mode: str | None) -> str:
    if mode == "both":
        return _("Both modes")
    return _("Activated mode") if mode == "activated" else _("Ordinary mode")


def weekdays_text(mask: int) -> str:
    """`31` -> "Mon–Fri" in the user's language; "" for every day."""
    if not mask or mask == 127:
        return ""
    names = (get_locale() or Locale("en")).days["format"]["abbreviated"]  # Monday first
    days = [day for day in range(7) if mask & (1 << day)]
    runs, start, previous = [], days[0], days[0]
    for day in days[1:]:
        if day != previous + 1:
            runs.append((start, previous))
            start = day
        previous = day
    runs.append((start, previous))
    return ", ".join(names[a] if a == b else f"{names[a]}–{names[b]}" for a, b in runs)


def point_note(point: dict) -> str:
    """What is said beside a number: label, kind, PIN, hours, mode, confidential.

    Never the `tel:` form: on paper it is noise beside the number (the PDF
    keeps it as the number's link). Worded once per language and set of
    facts: a binder has 100 000 numbers and far fewer different notes.
    """
    return _point_note(str(get_locale()), point["label"], point["kind"], point.get("pin"),
                       point.get("hours"), point.get("days", 127), point["mode"],
                       point.get("confidential"), "verified" in point, point.get("failed"),
                       point.get("verified"))


@lru_cache(maxsize=8192)
def _point_note(_locale, label, kind, pin, hours, days, mode, confidential, has_verified,
                failed, verified) -> str:
    point = {"label": label, "kind": kind, "pin": pin, "hours": hours, "days": days,
             "mode": mode, "confidential": confidential, "failed": failed}
    if has_verified:
        point["verified"] = verified
    kind = kind_name(point["kind"])
    parts = [point["label"] or kind]
    if point["label"] and fold(point["label"]) != fold(kind):
        parts.append(kind)
    if point.get("pin"):
        parts.append(f"PIN {point['pin']}")
    hours = " ".join(filter(None, (point.get("hours"), weekdays_text(point.get("days", 127)))))
    if hours:
        parts.append(hours)
    if point["mode"] == "ordinary":
        parts.append(_("ordinary mode only"))
    elif point["mode"] == "activated":
        parts.append(_("activated mode only"))
    if point.get("confidential"):
        parts.append(_("confidential"))
    if "verified" in point:  # absent in revisions printed before verification existed
        if point.get("failed"):
            parts.append(_("latest call failed"))
        elif point["verified"]:
            parts.append(_("verified %(when)s",
                           when=format_date(date.fromisoformat(point["verified"]), "short")))
        else:
            parts.append(_("never verified"))
    return " · ".join(parts)


def pace_letter(index: int) -> str:
    """P, A, C, E for the first four paths; E2, E3 … for further emergency paths."""
    return "PACE"[index] if index < 4 else f"E{index - 2}"


def pace_legend() -> str:
    return _("P primary · A alternate · C contingency · E emergency (E2, E3 …: further "
             "emergency paths). Call in this order.")


def mode_order(points: list[dict], mode: str) -> list[dict]:
    """The paths that apply in `mode`, in its PACE order (as `core.modes.paths_for_mode`:
    at the same step a path made for the mode comes before one for both)."""
    def key(point):
        return (point["priority"], point["mode"] == "both",
                int(str(point["key"]).rpartition(":")[2] or 0))
    return sorted((p for p in points if applies_in(p, mode)), key=key)


def applies_in(point: dict, mode: str) -> bool:
    return point["mode"] in ("both", mode)


def local_moment(value: str | None) -> str:
    """An ISO moment (UTC) as local `2026-11-27 14:03`."""
    if not value:
        return "–"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def day_text(value: str | None) -> str:
    return value or "–"


def review_text(value: str | None, today: date) -> str:
    """A next-review date, marked when it has passed (no date: never reviewed)."""
    if not value:
        return _("now (never reviewed)")
    if date.fromisoformat(value) <= today:
        return _("%(date)s (overdue)", date=value)
    return value


def rotation_text(rotation: dict) -> str:
    """"Weekly TiB (every 7 days, handover 08:00): Åsa Öberg, Per Åkesson"."""
    every = _("every %(days)d days, handover %(time)s", days=rotation["days"],
              time=rotation["handover"]) if rotation["days"] != 1 else _(
        "daily, handover %(time)s", time=rotation["handover"])
    name = rotation["name"] or _("Rotation")
    members = ", ".join(rotation["members"]) or _("no members")
    return f"{name} ({every}): {members}"


def on_call_text(reach: dict, at: str | None) -> str | None:
    """Who is on call at the chosen moment, when one was chosen."""
    if at is None or "on_call" not in reach:
        return None
    person = reach["on_call"]
    if person is None:
        return _("Nobody is on call %(when)s.", when=local_moment(at))
    return _("On call %(when)s: %(name)s", when=local_moment(at), name=person)


def escalation_step_text(step: dict) -> str:
    """"No answer within 10 min → VB – Haninge kommun 070-174 06 12" (a role's own escalation)."""
    number = step["number"] or (_("hidden number") if step["hidden"] else _("no number"))
    return _("No answer within %(min)d min → %(target)s %(number)s", min=step["minutes"],
             target=step["label"], number=number)


def escalation_text(minutes: int | None) -> str:
    if minutes is None:
        return _("No answer? Call:")
    return _("No answer within %(min)d min? Call:", min=minutes)


