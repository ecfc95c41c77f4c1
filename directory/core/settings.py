"""Settings coordinators change at run time (deployment config is config.py)."""

from flask import g

from directory.core.extensions import db
from directory.core.models import Setting

VIEWERS_SEE_CONFIDENTIAL = "viewers_see_confidential"
# Reverse lookup of a hidden number names the person, not only actor and role.
LOOKUP_NAMES_PERSON = "lookup_names_person"
# A contact path not reached by a call for this many days is due for a test.
VERIFY_AFTER_DAYS = "verify_after_days"
DEFAULTS = {VIEWERS_SEE_CONFIDENTIAL: False, LOOKUP_NAMES_PERSON: False, VERIFY_AFTER_DAYS: 180}


def get_setting(key: str):
    """A setting's value (cached for the request)."""
    cache = g.setdefault("_settings", {})
    if key not in cache:
        row = db.session.get(Setting, key)
        cache[key] = row.value.get("value") if row else DEFAULTS[key]
    return cache[key]


def set_setting(key: str, value) -> None:
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value={"value": value}))
    else:
        row.value = {"value": value}
    g.pop("_settings", None)
    db.session.flush()
