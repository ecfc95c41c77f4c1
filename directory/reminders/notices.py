"""Mode switch notices: a short mail when the region or an actor changes mode.

Sent after the switch is committed, to the editors and duty officers of the
actors concerned (everyone's, for the region; those assigned to the actor,
for an actor) who have not turned notices off on their account page. A mail
that fails is logged and never undoes the switch: the mode in force matters
more than the mail about it.
"""

import logging

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from directory.core.extensions import db
from directory.core.mail import Mail, Mailer, MailError
from directory.core.models import Actor, ModeChange, User, UserActor, UserRole

log = logging.getLogger(__name__)


def notice_recipients(change: ModeChange) -> list[User]:
    """Who hears of a switch: editors and viewers of the actors concerned."""
    query = select(User).where(
        User.active.is_(True), User.mode_notices.is_(True),
        User.role.in_([UserRole.EDITOR, UserRole.VIEWER]),
    )
    if change.actor_id is not None:
        query = query.where(User.id.in_(
            select(UserActor.user_id).where(UserActor.actor_id == change.actor_id)))
    users = db.session.scalars(query.order_by(User.id)).all()
    return [u for u in users if u.id != change.changed_by_id]


def render_notice(change: ModeChange, actor: Actor | None, locale: str, to: str) -> Mail:
    with force_locale(locale):
        activated = change.to_mode.value == "activated"
        scope = actor.name if actor else _("The whole region")
        subject = (_("Activated mode: %(scope)s", scope=scope) if activated
                   else _("Back to ordinary mode: %(scope)s", scope=scope))
        context = {"change": change, "scope": scope, "activated": activated,
                   "mode_url": url_for("coordination.mode", _external=True),
                   "account_url": url_for("reminders.account", _external=True)}
        return Mail(to=to, subject=subject,
                    text=render_template("reminders/mode_notice.txt", **context),
                    html=render_template("reminders/mode_notice.html", **context))


def notify_mode_switch(change: ModeChange, mailer_factory=Mailer) -> int:
    """Mail the switch to those concerned; returns how many mails went out.

    Call after the commit. Failures are logged, not raised.
    """
    actor = db.session.get(Actor, change.actor_id) if change.actor_id else None
    default_locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    sent = 0
    try:
        users = notice_recipients(change)
        if not users:
            return 0
        with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
            mails = [render_notice(change, actor, u.locale or default_locale, u.email)
                     for u in users]
            with mailer_factory() as mailer:
                for mail in mails:
                    mailer.send(mail)
                    sent += 1
    except MailError as error:
        log.error("Mode switch %s: notice mail stopped after %d sent: %s",
                  change.scope, sent, error)
    except Exception:  # a notice must never turn a done switch into an error page
        log.exception("Mode switch %s: notice mail failed after %d sent", change.scope, sent)
    return sent
