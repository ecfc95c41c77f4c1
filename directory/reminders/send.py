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
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from directory.core.extensions import db
from directory.core.mail import Mail, Mailer, MailError
from directory.core.models import ReminderFrequency, ReminderSent, User, UserRole
from directory.core.settings import VERIFY_AFTER_DAYS, get_setting
from directory.reminders.digest import GAP_DAYS, KINDS, Digest, digest_for, region_findings

log = logging.getLogger(__name__)

DIGEST = "digest"
# Sent-log rows are committed in batches: a commit per mail costs more than the mail.
COMMIT_EVERY = 100


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


def _words() -> dict:
    """The digest's words in the current language, translated once per language."""
    days = {"days": GAP_DAYS}
    verify = {"days": get_setting(VERIFY_AFTER_DAYS)}
    review = _("Check the entries, then mark them reviewed")
    return {
        "heading": {
            "review_overdue": (_l("Review overdue (%(count)d)"), {}),
            "review_due": (_l("Review due within two weeks (%(count)d)"), {}),
            "gap": (_l("Nobody on call in the next %(days)d days (%(count)d)"), days),
            "dead_end": (_l("Call-tree steps that reach no number (%(count)d)"), {}),
            "failed_path": (_l("Numbers whose latest call failed (%(count)d)"), {}),
            "stale_path": (_l("Numbers never verified or not verified in %(days)d days "
                              "(%(count)d)"), verify),
        },
        "action": {
            "review_overdue": review,
            "review_due": review,
            "gap": _("Add a shift or rotation"),
            "dead_end": _("Give the step a number or another target"),
            "failed_path": _("Correct the number, or mark it tested"),
            "stale_path": _("Call it, then mark it tested"),
        },
        "detail": {
            "review_overdue": str(_l("was due %(date)s")),
            "never_reviewed": _("never reviewed"),
            "review_due": str(_l("due %(date)s")),
            "gap": str(_l("first gap %(when)s")),
            "dead_end": str(_l("no number for %(target)s")),
        },
        "more": str(_l("and %(count)d more:")),
    }


def _detail(item, words) -> str:
    detail = words["detail"]
    if item.kind == "review_overdue":
        return detail["review_overdue"] % {"date": item.detail} if item.detail \
            else detail["never_reviewed"]
    if item.kind == "review_due":
        return detail["review_due"] % {"date": item.detail}
    if item.kind == "gap":
        return detail["gap"] % {"when": item.detail}
    if item.kind == "dead_end":
        return detail["dead_end"] % {"target": item.detail}
    return item.detail


def render_digest(digest: Digest, words: dict, review_url: str, account_url: str) -> Mail:
    """The digest as a mail in the current language (`force_locale`), text and HTML.

    Everything a section says is put together here, once, so the templates
    only lay it out: a run renders thousands of digests.
    """
    sections = []
    for kind in KINDS:
        count = digest.counts[kind]
        if not count:
            continue
        heading, extra = words["heading"][kind]
        items = [(item.title, _detail(item, words),
                  url_for(item.endpoint, **dict(item.args), _external=True))
                 for item in digest.groups[kind]]
        more = count - len(items)
        sections.append({
            "heading": str(heading) % {"count": count, **extra},
            "action": words["action"][kind],
            "items": items,
            "more": words["more"] % {"count": more} if more else "",
        })
    context = {"digest": digest, "sections": sections, "review_url": review_url,
               "account_url": account_url}
    return Mail(
        to=digest.email,
        subject=_("Kontaktvägar: %(count)d things to look at",
                  count=sum(digest.counts.values())),
        text=render_template("reminders/digest.txt", **context),
        html=render_template("reminders/digest.html", **context),
    )


def render_all(digests: list[Digest]):
    """Each digest rendered in its person's language, one language at a time."""
    review_url = url_for("review.overview", _external=True)
    account_url = url_for("reminders.account", _external=True)
    for locale in sorted({d.locale for d in digests}):
        with force_locale(locale):
            words = _words()
            for digest in digests:
                if digest.locale == locale:
                    yield digest, render_digest(digest, words, review_url, account_url)


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
            for digest, mail in render_all(due):
                mailer.send(mail)
                # Only now, once the server has it; committed in batches (below
                # and when the run stops), so a failure keeps what was accepted.
                db.session.add(ReminderSent(user_id=digest.user_id, kind=DIGEST, day=today,
                                            sent_at=now))
                report.sent.append(digest.email)
                if len(report.sent) % COMMIT_EVERY == 0:
                    db.session.commit()
    except MailError as error:
        report.error = str(error)
        log.error("Reminder run stopped after %d of %d mails: %s",
                  len(report.sent), len(due), error)
    finally:
        db.session.commit()  # the rows of every mail the server accepted
    return report
