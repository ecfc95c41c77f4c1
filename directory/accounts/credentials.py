"""API tokens: made, hashed, listed, revoked and checked."""

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from directory.core.extensions import db
from directory.core.models import AccessToken, TokenKind, User, utcnow

PREFIX = "kv_"


# `last_used_at` is written at most this often, so reads stay reads.
LAST_USED_GRANULARITY = timedelta(minutes=1)


MAX_TOKENS_PER_USER = 20


class TokenError(ValueError):
    """A token that cannot be made; the message says why."""


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_api_token(user: User, name: str) -> tuple[AccessToken, str]:
    """Make a token for `user`; returns it and the secret, which is never stored."""
    name = (name or "").strip()
    if not name:
        raise TokenError(_l("Give the token a name, so you know later what uses it."))
    if len(active_api_tokens(user)) >= MAX_TOKENS_PER_USER:
        raise TokenError(
            _l("You have %(count)d tokens; revoke one you no longer use first.",
               count=MAX_TOKENS_PER_USER)
        )
    secret = PREFIX + secrets.token_urlsafe(32)
    token = AccessToken(
        user_id=user.id, kind=TokenKind.API, name=name[:200], token_hash=hash_token(secret)
    )
    db.session.add(token)
    db.session.flush()
    current_app.logger.info("API token %s created for user %s", token.id, user.id)
    return token, secret


def revoke(token: AccessToken) -> None:
    """Stop a token from working (kept, so its owner sees when it was revoked)."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
        current_app.logger.info("API token %s of user %s revoked", token.id, token.user_id)


def api_tokens(user: User) -> list[AccessToken]:
    """A user's API tokens, newest first, revoked ones included."""
    return db.session.scalars(
        select(AccessToken)
        .where(AccessToken.user_id == user.id, AccessToken.kind == TokenKind.API)
        .order_by(AccessToken.created_at.desc(), AccessToken.id.desc())
    ).all()


def active_api_tokens(user: User) -> list[AccessToken]:
    return [t for t in api_tokens(user) if t.revoked_at is None]


def bearer_secret(header: str | None) -> str | None:
    """The secret of an `Authorization: Bearer <secret>` header, else None."""
    scheme, _sep, secret = (header or "").strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    return secret


def authenticate(header: str | None) -> AccessToken | None:
    """The live API token named by an Authorization header, its use noted."""
    secret = bearer_secret(header)
    if secret is None:
        return None
    token = db.session.scalar(
        select(AccessToken).where(
            AccessToken.token_hash == hash_token(secret), AccessToken.kind == TokenKind.API
        )
    )
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
        token.last_used_at = now
        db.session.commit()  # the start of a request: nothing else is pending
    return token
