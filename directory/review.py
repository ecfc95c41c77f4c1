"""Review of entries: when an actor's entries were last confirmed correct."""

from datetime import datetime, timedelta

from .models import Actor, utcnow


def review_due_at(actor: Actor) -> datetime | None:
    """When the next review is due (None: never reviewed, so due now)."""
    if actor.last_reviewed_at is None:
        return None
    return actor.last_reviewed_at + timedelta(days=actor.review_interval_days)


def is_overdue(actor: Actor, now: datetime | None = None) -> bool:
    due = review_due_at(actor)
    return due is None or due <= (now or utcnow())
