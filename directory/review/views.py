"""Review of entries: what is stale, and where the region's readiness has holes.

An actor's entries are confirmed "reviewed, still correct" by its editors;
after `review_interval_days` they are overdue, and marked for everyone. The
coordinators' page lists overdue actors and roles with nobody on call in the
next two weeks, most urgent first, and the numbers whose latest call failed
or that no call has reached for `VERIFY_AFTER_DAYS` (a setting).
"""

from itertools import groupby
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template
from flask_login import current_user
from sqlalchemy import select

from directory.core import escalations
from directory.core.extensions import db
from directory.core.forms import KIND_LABELS
from directory.core.models import Actor, utcnow
from directory.core.security import editable_actor_ids, is_admin
from directory.core.settings import VERIFY_AFTER_DAYS, get_setting
from directory.core.text import swedish_sort_key
from directory.review.rules import (
    GAP_HORIZON,
    overdue_actors,
    paths_needing_test,
    review_due_at,
    roles_with_gaps,
    trees_with_dead_ends,
)

bp = Blueprint("review", __name__)

# Stale numbers listed one by one: up to this many of an actor, and this many
# on the page. Every actor with stale numbers is named with its count; at
# national scale (99 000 never-verified numbers) listing them all made a
# 12 MB page that took 8.6 s.
STALE_PER_ACTOR, STALE_ON_PAGE = 50, 500


def stale_groups(stale: list) -> list[tuple[int, int, list]]:
    """(actor id, how many, the rows listed) per actor, in the order given."""
    groups, budget = [], STALE_ON_PAGE
    for actor_id, rows in groupby(stale, key=lambda r: r.actor_id):
        rows = list(rows)
        shown = rows[:min(STALE_PER_ACTOR, budget)]
        budget -= len(shown)
        groups.append((actor_id, len(rows), shown))
    return groups


@bp.get("/review")
def overview():
    """What needs attention: overdue reviews and holes in the on-call schedules."""
    now = utcnow()
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    verify_days = get_setting(VERIFY_AFTER_DAYS)
    failed, stale = paths_needing_test(now, verify_days)
    actors = db.session.execute(select(Actor.id, Actor.slug, Actor.name)).all()
    names = {a.id: a.name for a in actors}
    stale.sort(key=lambda r: (swedish_sort_key(names[r.actor_id]), r.actor_id))
    return render_template(
        "review/overview.html",
        now=now,
        actors=overdue_actors(now),
        review_due_at=review_due_at,
        gap_roles=roles_with_gaps(now, tz),
        horizon_days=GAP_HORIZON.days,
        dead_end_trees=trees_with_dead_ends(),
        escalation_problems=escalations.roles_with_escalation_problems(),
        verify_days=verify_days,
        failed_paths=failed,
        stale_count=len(stale),
        stale_by_actor=stale_groups(stale),
        actor_names=names,
        actor_slugs={a.id: a.slug for a in actors},
        kind_names={kind: str(label) for kind, label in KIND_LABELS.items()},  # once each
        editable=editable_actor_ids(current_user),
        is_admin=is_admin(current_user),
    )
