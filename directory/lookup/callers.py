"""Reverse lookup names the caller (DESIGN: "Reverse lookup names the caller").

Someone who already has a number on their display learns whose it is, even
when the number is confidential and hidden from them everywhere else: the
actor and the role; the person only when the coordinators allow it
(`LOOKUP_NAMES_PERSON`). The number itself is never listed. Well-known
national numbers (112, 114 14, 113 13, 1177) are recognised by name.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from directory.core.extensions import db
from directory.core.models import (
    Actor,
    CollaborationPattern,
    ContactPoint,
    Override,
    Person,
    Role,
    Rotation,
    RotationMember,
    Shift,
    utcnow,
)
from directory.core.settings import LOOKUP_NAMES_PERSON, get_setting

NATIONAL_NUMBERS = {
    "112": _l("112 – emergency number (SOS Alarm)"),
    "11414": _l("114 14 – the Police, non-emergency"),
    "11313": _l("113 13 – information number for serious accidents and crises"),
    "1177": _l("1177 – healthcare advice (Vårdguiden)"),
}


def national_name(number: str | None) -> str | None:
    """The name of a well-known national number (E.164 or short), if it is one."""
    if not number:
        return None
    return str(NATIONAL_NUMBERS[number]) if number in NATIONAL_NUMBERS else None


@dataclass
class Caller:
    """Whose hidden number it is, as much as this reader may learn."""

    actor: Actor | None
    roles: list[Role] = field(default_factory=list)
    person: Person | None = None  # only when the setting allows
    pattern: CollaborationPattern | None = None


def _roles_of(person: Person) -> list[Role]:
    """The live roles a person staffs: rotation member, or a shift/override around now."""
    now = utcnow()
    role_ids = set(db.session.scalars(
        select(Rotation.role_id).join(RotationMember, RotationMember.rotation_id == Rotation.id)
        .where(RotationMember.person_id == person.id, Rotation.deleted_at.is_(None))
    ))
    for model in (Shift, Override):
        role_ids |= set(db.session.scalars(
            select(model.role_id).where(model.person_id == person.id,
                                        model.deleted_at.is_(None),
                                        model.starts_at < now + timedelta(days=1),
                                        model.ends_at > now - timedelta(days=1))))
    roles = [db.session.get(Role, ident) for ident in role_ids]
    return sorted((r for r in roles if r is not None and r.deleted_at is None),
                  key=lambda r: r.name)


def caller_of(point: ContactPoint) -> Caller:
    """Who a hidden path belongs to: actor and role; the person if the setting allows."""
    owner = point.owner
    if isinstance(owner, Role):
        return Caller(owner.actor, [owner])
    if isinstance(owner, Person):
        person = owner if get_setting(LOOKUP_NAMES_PERSON) else None
        return Caller(owner.actor, _roles_of(owner), person)
    if isinstance(owner, CollaborationPattern):
        return Caller(owner.convener_actor, pattern=owner)
    return Caller(owner if isinstance(owner, Actor) else None)
