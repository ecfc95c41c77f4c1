"""`flask reminders send`: the command a timer runs once a day."""

import click
from flask import current_app
from flask.cli import AppGroup

from directory.core.models import utcnow
from directory.core.moments import region_tz
from directory.reminders.send import send_reminders

reminders_cli = AppGroup("reminders", help="Reminder mails to editors and coordinators.")


@reminders_cli.command("send")
@click.option("--dry-run", is_flag=True, help="Say who would get a digest; send nothing.")
def send_command(dry_run):
    """Send today's reminder digests (at most one per person a day)."""
    app = current_app._get_current_object()
    now = utcnow()
    with app.test_request_context(base_url=app.config["BASE_URL"]):
        report = send_reminders(now.astimezone(region_tz()).date(), now, dry_run=dry_run)
    for line in report.would_send:
        click.echo(f"would send to {line}")
    for email in report.sent:
        click.echo(f"sent to {email}")
    click.echo(
        f"{len(report.sent)} sent, {report.already_sent} already sent today, "
        f"{report.not_due} not due, {report.nothing_to_say} with nothing to report"
        + (f", {len(report.would_send)} would be sent (dry run)" if dry_run else "")
    )
    if report.error:
        raise click.ClickException(
            f"{report.error}. {len(report.sent)} mails were sent before it; "
            "run the command again to send the rest (nobody gets one twice)."
        )


def init_app(app) -> None:
    app.cli.add_command(reminders_cli)
