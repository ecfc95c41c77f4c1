"""The one gate between a contact path's number and whoever reads a page.

The rule itself is `security.may_see`: a confidential path is shown to
admins, to the owning actor's editors, and to viewers only when the
coordinators allow it. This module makes the rule impossible to forget in a
template: the app's Jinja environment hands a template a path's `value` or
`pin` only when `shown()` says so, and otherwise a `HiddenValue` that prints
as "hidden". A template that renders a path without thinking about
confidentiality therefore leaks nothing; the macros in `_macros.html` then
say honestly that the number is hidden instead of printing a placeholder.

Call trees are the deliberate exception (DESIGN: "Call trees are
need-to-know lists"): a page that shows a tree first calls `disclose()` with
the paths placed in it, and for the rest of that request those paths are
shown to whoever may read the tree.

Code that writes files, feeds and JSON does not render ContactPoints through
Jinja; it filters with `security.visible()` and is checked, like every page,
by the crawl in `tests/test_confidential_crawl.py`.
"""

from flask import g, has_request_context
from flask.templating import Environment
from flask_babel import gettext as _
from flask_login import current_user
from jinja2 import pass_environment
from jinja2.filters import do_attr

from directory.core.models import ContactPoint
from directory.core.security import may_see

GUARDED_ATTRIBUTES = frozenset({"value", "pin"})


class HiddenValue(str):
    """A path's value or PIN as a template sees it when the reader may not.

    A `str`, so any template that prints it prints only the word "hidden";
    the `phone` and `tel` filters pass it through untouched.
    """

    __slots__ = ()


def _disclosed() -> set[int]:
    return g.setdefault("_disclosed_paths", set()) if has_request_context() else set()


def disclose(points) -> None:
    """Show these paths to this request's reader, confidential or not (call trees)."""
    if has_request_context():
        _disclosed().update(p.id for p in points if p.id is not None)


def shown(point: ContactPoint, user=None) -> bool:
    """May this reader (the signed-in user by default) see this path's number?"""
    if not point.confidential:
        return True
    if point.id is not None and point.id in _disclosed():
        return True
    # the user itself, not the proxy: may_see reads several of its attributes
    return may_see(current_user._get_current_object() if user is None else user, point)


def hidden_value() -> HiddenValue:
    return HiddenValue(_("hidden"))


def _gated(obj, attribute: str, value):
    if (
        attribute in GUARDED_ATTRIBUTES
        and isinstance(obj, ContactPoint)
        and value
        and not shown(obj)
    ):
        return hidden_value()
    return value


@pass_environment
def _gated_attr(environment, obj, name):
    """The `attr` filter, which reads attributes without `getattr` above."""
    return _gated(obj, str(name), do_attr(environment, obj, name))


class GatedEnvironment(Environment):
    """Flask's Jinja environment, with contact paths read through `shown()`.

    Jinja compiles `point.value` and `point["value"]` into calls of these
    two methods, and the filters that take an attribute name (`map`,
    `sort`, `selectattr`...) use `getitem`; `attr` is replaced below.
    """

    def __init__(self, app, **options):
        super().__init__(app, **options)
        self.filters["attr"] = _gated_attr
        self.tests["hidden"] = lambda value: isinstance(value, HiddenValue)

    def getattr(self, obj, attribute):
        return _gated(obj, attribute, super().getattr(obj, attribute))

    def getitem(self, obj, argument):
        value = super().getitem(obj, argument)
        return _gated(obj, argument, value) if isinstance(argument, str) else value


# --- Recorded values: history and printed revisions -------------------------

CONFIDENTIAL_FIELDS = ("value", "pin")


class _Recorded:
    """What `may_see` reads of a path as it was when a change was recorded."""

    def __init__(self, confidential: bool, owning_actor_id: int | None):
        self.confidential = confidential
        self.owning_actor_id = owning_actor_id


def mask_path_history(events, user=None, point=None) -> list[dict]:
    """A contact path's recorded changes, newest first, as this reader may see them.

    A value that was confidential when it was recorded stays hidden from
    those who may not see confidential numbers, even after the path was
    given a new number and un-marked: the old number is still someone's
    private mobile. Each change is read with the flag as it stood before
    and after it, replaying the record from the oldest change. While the
    path (`point`) is confidential now, every value it ever held is hidden
    too: it was recorded open, but it is the same private phone.
    """
    user = current_user if user is None else user
    hidden_now = point is not None and point.confidential and not may_see(user, point)
    confidential = False
    shown_events = []
    for event in sorted(events, key=lambda e: e.id):
        before = dict(event.before) if event.before is not None else None
        after = dict(event.after) if event.after is not None else None
        was = confidential
        if after is not None and "confidential" in after:
            confidential = bool(after["confidential"])
        for values, flag in ((before, was or hidden_now), (after, confidential or hidden_now)):
            if values is None or not flag:
                continue
            if may_see(user, _Recorded(True, event.actor_id)):
                continue
            for key in CONFIDENTIAL_FIELDS:
                if values.get(key):
                    values[key] = hidden_value()
        shown_events.append({"event": event, "before": before, "after": after})
    shown_events.reverse()
    return shown_events


# --- Hidden is not missing ---------------------------------------------------


class ModePaths(tuple):
    """(applies, others) for a mode as this reader sees them, like `paths_for_mode`.

    `hidden` holds the paths for the mode that exist but are hidden from the
    reader, so a page can say "protected – reach via ..." instead of
    claiming there is no path at all (DESIGN: hidden is not missing).
    """

    hidden: list

    def __new__(cls, applies, others, hidden):
        made = super().__new__(cls, (applies, others))
        made.hidden = hidden
        return made


def paths_seen(points, mode, user=None) -> ModePaths:
    """The paths for `mode` this reader may see, then the others, and those hidden."""
    from directory.core.modes import paths_for_mode

    applies, others = paths_for_mode(points, mode)
    return ModePaths([p for p in applies if shown(p, user)],
                     [p for p in others if shown(p, user)],
                     [p for p in applies if not shown(p, user)])
