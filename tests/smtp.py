"""A real SMTP server in this process (aiosmtpd on 127.0.0.1), and what it received.

`SmtpServer.start()` listens on a free port; `messages` are the mails it
accepted, parsed with the standard library. `reject_after(n)` makes it
accept n mails and refuse every later one with a 451, as a full or failing
server does.
"""

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Handler:
    def __init__(self, server: "SmtpServer"):
        self.server = server

    async def handle_DATA(self, smtp_server, session, envelope):
        if self.server.accept_limit is not None and \
                len(self.server.messages) >= self.server.accept_limit:
            return "451 4.3.0 Mailbox temporarily unavailable"
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.server.messages.append(message)
        self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


class SmtpServer:
    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple] = []
        self.accept_limit: int | None = None
        self.port = free_port()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> "SmtpServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def reject_after(self, count: int) -> None:
        self.accept_limit = count

    def to(self, email: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == email]


def parts(message: EmailMessage) -> tuple[str, str]:
    """(plain text, HTML) of a multipart/alternative mail."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html
