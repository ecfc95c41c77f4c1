"""The reminder run: one digest per editor and coordinator, at most once a day.

`send_reminders()` reads the region once (`digest.region_findings`), then for
each person whose turn it is (daily, or weekly: seven days after their last
digest; never when they chose "off") renders their digest in their language
and hands it to the SMTP server. A `ReminderSent` row is written and
committed only after the server accepted that mail, so running twice a day
sends nothing twice, and a server that fails leaves no row for a mail that
did not leave. The first failure stops the run: the command exits non-zero
and says how many mails went out before it.
"""

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from directory.core.extensions import db
from directory.core.mail import Mail, Mailer, MailError
from directory.core.models import ReminderFrequency, ReminderSent, User, UserRole
from directory.core.settings import VERIFY_AFTER_DAYS, get_setting
from directory.reminders.digest import GAP_DAYS, KINDS, Digest, digest_for, region_findings

log = logging.getLogger(__name__)

DIGEST = "digest"


@dataclass
class RunReport:
    sent: list[str] = field(default_factory=list)
    would_send: list[str] = field(default_factory=list)
    already_sent: int = 0
    nothing_to_say: int = 0
    not_due: int = 0
    error: str | None = None


def is_due(frequency: ReminderFrequency, last_day: date | None, today: date) -> bool:
    """Daily: once a day. Weekly: seven days after the last one. Off: never."""
    if frequency is ReminderFrequency.OFF:
        return False
    if last_day is None:
        return True
    if frequency is ReminderFrequency.DAILY:
        return last_day < today
    return today - last_day >= timedelta(days=7)


def recipients() -> list[User]:
    """Active coordinators, and editors with at least one actor; never viewers."""
    users = db.session.scalars(
        select(User)
        .where(User.active.is_(True), User.role.in_([UserRole.ADMIN, UserRole.EDITOR]),
               User.reminder_frequency != ReminderFrequency.OFF)
        .options(selectinload(User.actors))
        .order_by(User.id)
    ).all()
    return [u for u in users if u.role == UserRole.ADMIN or u.actors]


def render_digest(digest: Digest) -> Mail:
    """The digest as a mail in the person's language, plain text and HTML."""
    with force_locale(digest.locale):
        total = sum(digest.counts.values())
        subject = _("Kontaktvägar: %(count)d things to look at", count=total)
        context = {
            "digest": digest,
            "kinds": KINDS,
            "link": lambda item: url_for(item.endpoint, **dict(item.args), _external=True),
            "review_url": url_for("review.overview", _external=True),
            "account_url": url_for("reminders.account", _external=True),
            "gap_days": GAP_DAYS,
            "verify_days": get_setting(VERIFY_AFTER_DAYS),
        }
        return Mail(
            to=digest.email,
            subject=subject,
            text=render_template("reminders/digest.txt", **context),
            html=render_template("reminders/digest.html", **context),
        )


def send_reminders(today: date, now: datetime, *, dry_run: bool = False,
                   mailer_factory=Mailer) -> RunReport:
    """Send today's digests. Needs a request context on the base URL (for links)."""
    report = RunReport()
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    findings = region_findings(now, tz, get_setting(VERIFY_AFTER_DAYS))
    last_sent = dict(db.session.execute(
        select(ReminderSent.user_id, func.max(ReminderSent.day))
        .where(ReminderSent.kind == DIGEST).group_by(ReminderSent.user_id)
    ).all())
    default_locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    due = []
    for user in recipients():
        last = last_sent.get(user.id)
        if last == today:
            report.already_sent += 1
            continue
        if not is_due(ReminderFrequency(user.reminder_frequency), last, today):
            report.not_due += 1
            continue
        actor_ids = None if user.role == UserRole.ADMIN else [a.id for a in user.actors]
        digest = digest_for(user, actor_ids, findings, user.locale or default_locale)
        if digest.empty:
            report.nothing_to_say += 1
            continue
        due.append(digest)
    if dry_run:
        report.would_send = [f"{d.email}: {sum(d.counts.values())} items" for d in due]
        return report
    if not due:
        return report
    try:
        with mailer_factory() as mailer:
            for digest in due:
                mailer.send(render_digest(digest))
                db.session.add(ReminderSent(user_id=digest.user_id, kind=DIGEST, day=today,
                                            sent_at=now))
                db.session.commit()
                report.sent.append(digest.email)
    except MailError as error:
        db.session.rollback()
        report.error = str(error)
        log.error("Reminder run stopped after %d of %d mails: %s",
                  len(report.sent), len(due), error)
    return report
