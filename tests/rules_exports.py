"""Who may import contacts and make, revoke or renew calendar feeds (merged into
`test_permissions.RULES`).

Importing into an actor and managing the feeds of its persons and roles is
for its editors and the coordinators; viewers and other actors' editors get
403. The calendar feed URL itself is a GET, read without a session. An
uploaded preview waits in the database (pending_import), nowhere on disk.
"""

import io

from directory.core.extensions import db
from directory.core.models import AccessToken, TokenKind
from directory.phones.calendars import hash_token

CSV = "namn;mobil\r\nNy Person;070-174 06 44\r\n".encode("cp1252")


def _import_url(w) -> str:
    return f"/actors/{w.own.slug}/import"


def _feed(w) -> int:
    """A feed of the owning actor's role, made by someone else."""
    token = AccessToken(user_id=w.user.id, kind=TokenKind.CALENDAR, role_id=w.role.id,
                        token_hash=hash_token(f"feed-{w.role.id}-{w.user.id}"), name="Jour")
    db.session.add(token)
    db.session.commit()
    return token.id


RULES = {
    "phones.import_upload": (lambda w: f"/actors/{w.own.slug}/import",
                              lambda w: {"file": (io.BytesIO(CSV), "kontakter.csv"),
                                         "confidential_mobiles": "y"},
                              True, {"success": (200,)}),
    # Without a preview in the session there is nothing to commit: back to the form.
    "phones.import_commit": (lambda w: f"/actors/{w.own.slug}/import/commit",
                              lambda w: {}, True),
    "phones.feed_create": (lambda w: "/calendars/feeds",
                            lambda w: {"subject": f"role-{w.role.id}", "name": "Jour"},
                            True, {"success": (201,)}),
    "phones.feed_revoke": (lambda w: f"/calendars/feeds/{_feed(w)}/revoke", lambda w: {}, True),
    "phones.feed_renew": (lambda w: f"/calendars/feeds/{_feed(w)}/renew", lambda w: {}, True,
                           {"success": (201,)}),
}
