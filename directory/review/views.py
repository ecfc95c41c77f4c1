"""Review of entries: what is stale, and where the region's readiness has holes.

An actor's entries are confirmed "reviewed, still correct" by its editors;
after `review_interval_days` they are overdue, and marked for everyone. The
coordinators' page lists overdue actors and roles with nobody on call in the
next two weeks, most urgent first.
"""

from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template

from directory.core import escalations
from directory.core.models import utcnow
from directory.review.rules import (
    GAP_HORIZON,
    overdue_actors,
    review_due_at,
    roles_with_gaps,
    trees_with_dead_ends,
)

bp = Blueprint("review", __name__)


@bp.get("/review")
def overview():
    """What needs attention: overdue reviews and holes in the on-call schedules."""
    now = utcnow()
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    return render_template(
        "review/overview.html",
        now=now,
        actors=overdue_actors(now),
        review_due_at=review_due_at,
        gap_roles=roles_with_gaps(now, tz),
        horizon_days=GAP_HORIZON.days,
        dead_end_trees=trees_with_dead_ends(),
        escalation_problems=escalations.roles_with_escalation_problems(),
    )
