"""Reverse lookup: who has the number typed in (any common way of writing it).

The search box hands a query that looks like a phone number here instead of
to the word search (`directory.lookup.search`).
"""

import re
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from directory.core.extensions import db
from directory.core.models import ContactPoint
from directory.core.numbers import PhoneNumberError, normalise_phone
from directory.lookup.search import _LOADERS

_PHONE_LIKE = re.compile(r"^[\d\s()+\-./]{3,}$")


@dataclass
class NumberLookup:
    """What a number typed in was taken as, and who has it."""

    typed: str
    number: str | None = None
    is_short: bool = False
    error: str | None = None
    points: list[ContactPoint] = field(default_factory=list)


def looks_like_number(query: str) -> bool:
    return bool(_PHONE_LIKE.match(query.strip())) and sum(c.isdigit() for c in query) >= 3


def lookup_number(typed: str) -> NumberLookup:
    """Who has this number? Any common way of writing it is understood."""
    result = NumberLookup(typed=typed)
    try:
        result.number = normalise_phone(typed, current_app.config["DEFAULT_REGION"])
    except PhoneNumberError as error:
        result.error = str(error)
        return result
    result.is_short = result.number.isdigit()
    result.points = db.session.scalars(
        select(ContactPoint)
        .where(ContactPoint.value == result.number, ContactPoint.deleted_at.is_(None))
        .options(*_LOADERS["contact_point"])
        .order_by(ContactPoint.id)
    ).all()
    return result
