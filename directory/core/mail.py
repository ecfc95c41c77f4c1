"""Sending mail: the standard library's `email` and `smtplib`, nothing more.

The app sends few mails (a daily digest per editor, a notice per mode
switch), so a Flask mail extension would add a dependency for what
`smtplib` does in a few lines. Configuration comes from the environment
(`MAIL_SERVER`, `MAIL_PORT`, `MAIL_USE_TLS`, `MAIL_USERNAME`,
`MAIL_PASSWORD`, `MAIL_FROM`; see config.py). Without `MAIL_SERVER`, in
development, each mail is printed to the console instead; in production
that is an error, so a mail is never silently dropped.

A `Mailer` holds one connection for a run. `send()` returns only once the
server has accepted the message, and raises `MailError` otherwise: callers
record a mail as sent after `send()` returned, never before.
"""

import smtplib
import ssl
import sys
from dataclasses import dataclass
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, make_msgid

from flask import current_app


class MailError(RuntimeError):
    """The mail could not be handed to the SMTP server."""


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str


def build_message(mail: Mail, sender: str) -> MIMEMultipart:
    """A multipart/alternative message: plain text first, HTML second.

    Built with the `compat32` classes (`email.mime`): the same MIME as
    `EmailMessage`, at a fraction of the cost of its header parsing, which
    counts when a run sends thousands of digests.
    """
    message = MIMEMultipart("alternative")
    message["From"] = formataddr(("Kontaktvägar", sender), charset="utf-8")
    message["To"] = mail.to
    message["Subject"] = Header(mail.subject, "utf-8")
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    message.attach(MIMEText(mail.text, "plain", "utf-8"))
    message.attach(MIMEText(mail.html, "html", "utf-8"))
    return message


class Mailer:
    """One SMTP connection (or the console) for a run of mails: `with Mailer() as m`."""

    def __init__(self, config=None, console=None):
        self.config = config or current_app.config
        self.console = console or sys.stdout
        self.smtp: smtplib.SMTP | None = None

    @property
    def server(self) -> str:
        return f"{self.config['MAIL_SERVER']}:{self.config['MAIL_PORT']}"

    def __enter__(self) -> "Mailer":
        host = self.config.get("MAIL_SERVER")
        if not host:
            if self.config.get("APP_ENV") == "production":
                raise MailError("MAIL_SERVER is not set: no mail can be sent.")
            return self
        port = self.config["MAIL_PORT"]
        try:
            if port == 465:  # implicit TLS (SMTPS)
                self.smtp = smtplib.SMTP_SSL(host, port, timeout=30,
                                             context=ssl.create_default_context())
            else:
                self.smtp = smtplib.SMTP(host, port, timeout=30)
                if self.config.get("MAIL_USE_TLS"):
                    self.smtp.starttls(context=ssl.create_default_context())
            if self.config.get("MAIL_USERNAME"):
                self.smtp.login(self.config["MAIL_USERNAME"], self.config["MAIL_PASSWORD"])
        except (OSError, smtplib.SMTPException) as error:
            self.smtp = None
            raise MailError(f"cannot connect to the SMTP server {self.server}: {error}") from error
        return self

    def __exit__(self, *exc) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None

    def send(self, mail: Mail) -> None:
        """Hand one mail to the server; returns only when it was accepted."""
        if self.smtp is None:  # development without MAIL_SERVER: the console
            print(f"To: {mail.to}\nSubject: {mail.subject}\n\n{mail.text}\n{'-' * 72}",
                  file=self.console)
            return
        message = build_message(mail, self.config["MAIL_FROM"])
        try:
            refused = self.smtp.sendmail(self.config["MAIL_FROM"], [mail.to],
                                         message.as_string())
        except (OSError, smtplib.SMTPException) as error:
            raise MailError(f"the SMTP server {self.server} did not accept the mail: "
                            f"{error}") from error
        if refused:
            raise MailError(f"the SMTP server {self.server} refused the recipient")
