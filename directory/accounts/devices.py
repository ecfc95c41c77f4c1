"""Device passwords: what a phone's address-book app signs in to CardDAV with.

A phone never holds the user's own password: the user makes one password per
device ("iPhone jobb"), types or pastes it once into the phone, and can
revoke it alone when the phone is lost. It is shown once and stored as a
salted scrypt hash, like a user's password (`security.hash_password`).

A device password is 20 letters and digits in groups of four (about 100
bits, no look-alike characters), so it needs no strength check; a guesser is
slowed by the same throttling as the sign-in form (`check_throttle`), and
each guess costs a hash. Only the user's live passwords are tried, and a
password that matched is remembered in this process (a hash of it, per
device), so a phone's many requests cost one scrypt each, not one per
request; whether the device is live is still read from the database on every
request, so a revoke or a deactivation is felt at once by every app server.
"""

import hashlib
import hmac
import secrets
import threading
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import lazy_gettext as _l
from limits import parse
from sqlalchemy import select, update
from werkzeug.security import check_password_hash

from directory.core.extensions import db, limiter
from directory.core.models import DevicePassword, User, utcnow
from directory.core.security import hash_password, verify_password

# No 0/o, 1/l/i: read off a screen and typed into a phone.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
GROUPS, GROUP_LENGTH = 5, 4
MAX_DEVICES_PER_USER = 20
MAX_NAME_LENGTH = 200
# `last_used_at` is written at most this often, so a sync's requests stay reads.
LAST_USED_GRANULARITY = timedelta(minutes=1)


class DeviceError(ValueError):
    """A device password that cannot be made; the message says why."""


def new_device_secret() -> str:
    groups = ("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH))
              for _ in range(GROUPS))  # fmt: skip
    return "-".join(groups)


def device_passwords(user: User) -> list[DevicePassword]:
    """A user's device passwords, newest first, revoked ones included."""
    return db.session.scalars(
        select(DevicePassword)
        .where(DevicePassword.user_id == user.id)
        .order_by(DevicePassword.created_at.desc(), DevicePassword.id.desc())
    ).all()


def live_device_passwords(user_id: int) -> list[DevicePassword]:
    return db.session.scalars(
        select(DevicePassword).where(
            DevicePassword.user_id == user_id, DevicePassword.revoked_at.is_(None)
        ).order_by(DevicePassword.id)
    ).all()


def create_device_password(user: User, name: str) -> tuple[DevicePassword, str]:
    """Make a device password for `user`; returns it and the secret (never stored)."""
    name = " ".join((name or "").split())
    if not name:
        raise DeviceError(_l("Name the device (for example “iPhone jobb”), so you know "
                             "later which one to revoke."))
    if len(name) > MAX_NAME_LENGTH:
        raise DeviceError(_l("The name may have at most %(count)d characters.",
                             count=MAX_NAME_LENGTH))
    if not user.active:
        raise DeviceError(_l("This account is deactivated."))
    if len(live_device_passwords(user.id)) >= MAX_DEVICES_PER_USER:
        raise DeviceError(_l("You have %(count)d device passwords; revoke one you no longer "
                             "use first.", count=MAX_DEVICES_PER_USER))
    secret = new_device_secret()
    device = DevicePassword(user_id=user.id, name=name, password_hash=hash_password(secret))
    db.session.add(device)
    db.session.flush()
    current_app.logger.info("Device password %s created for user %s", device.id, user.id)
    return device, secret


def revoke_device(device: DevicePassword) -> None:
    """Stop a device password from working (kept, so its owner sees when)."""
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        db.session.flush()
        current_app.logger.info("Device password %s of user %s revoked", device.id,
                                device.user_id)


def revoke_all_devices(user: User) -> None:
    """Every device password of `user` ends (on deactivation)."""
    db.session.execute(
        update(DevicePassword)
        .where(DevicePassword.user_id == user.id, DevicePassword.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


# --- Checking a device's password --------------------------------------------

# device id -> SHA-256 of a password that matched its scrypt hash. Only a
# speed-up: the device row is read on every request all the same.
_verified: dict[int, bytes] = {}
_verified_lock = threading.Lock()


def _fingerprint(device: DevicePassword, password: str) -> bytes:
    return hashlib.sha256(f"{device.password_hash}\0{password}".encode()).digest()


def _matches(device: DevicePassword, password: str) -> bool:
    fingerprint = _fingerprint(device, password)
    known = _verified.get(device.id)
    if known is not None and hmac.compare_digest(known, fingerprint):
        return True
    if check_password_hash(device.password_hash, password):
        with _verified_lock:
            _verified[device.id] = fingerprint
        return True
    return False


def authenticate_device(email: str, password: str) -> DevicePassword | None:
    """The live device password of this account that `password` is, its use noted."""
    email = (email or "").strip().lower()[:254]
    user = db.session.scalar(select(User).where(User.email == email)) if email else None
    if user is None or not user.active or not password or len(password) > 200:
        verify_password(None, password or "")  # the same work for an unknown account
        return None
    for device in live_device_passwords(user.id):
        if _matches(device, password):
            now = utcnow()
            if device.last_used_at is None or now - device.last_used_at > LAST_USED_GRANULARITY:
                device.last_used_at = now
                db.session.commit()
            return device
    return None


# --- Throttling, as at the sign-in form ----------------------------------------


def _limits() -> list[tuple[str, object]]:
    config = current_app.config
    return [("device-account-address", parse(config["LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS"])),
            ("device-address", parse(config["LOGIN_LIMIT_PER_ADDRESS"]))]  # fmt: skip


def _keys(address: str, email: str) -> dict[str, tuple[str, ...]]:
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    email = (email or "").strip().lower()[:254]
    return {"device-account-address": (prefix, address, email),
            "device-address": (prefix, address)}  # fmt: skip


def throttled(address: str, email: str) -> bool:
    """Has this address (or this address for this account) failed too often?

    The same limits as the sign-in form (LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS,
    LOGIN_LIMIT_PER_ADDRESS), in the same store, counted apart from it.
    """
    keys = _keys(address, email)
    try:
        return not all(limiter.limiter.test(limit, scope, *keys[scope])
                       for scope, limit in _limits())  # fmt: skip
    except Exception:  # the store is down: let the hash's cost slow guessing
        current_app.logger.warning("Rate-limit store unavailable for device sign-in")
        return False


def count_failure(address: str, email: str) -> None:
    keys = _keys(address, email)
    try:
        for scope, limit in _limits():
            limiter.limiter.hit(limit, scope, *keys[scope])
    except Exception:
        current_app.logger.warning("Rate-limit store unavailable for device sign-in")


# --- flask devices --------------------------------------------------------------

devices_cli = AppGroup("devices", help="Device passwords for address-book apps (CardDAV).")


def _user_or_fail(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No user with the e-mail {email}.")
    if not user.active:
        raise click.ClickException(f"{user.email} is deactivated.")
    return user


@devices_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The device, e.g. 'iPhone jobb'.")
def create_command(email, name):
    """Make a device password and print it alone on the last line (shown once)."""
    user = _user_or_fail(email)
    try:
        device, secret = create_device_password(user, name)
    except DeviceError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Device password {device.id} “{device.name}” for {user.email}; "
               "it is not shown again. User name: the e-mail. Password:")
    click.echo(secret)


@devices_cli.command("list")
@click.argument("email")
def list_command(email):
    """List a user's device passwords (never the passwords themselves)."""
    for device in device_passwords(_user_or_fail(email)):
        state = f"revoked {device.revoked_at:%Y-%m-%d %H:%M}" if device.revoked_at else "active"
        used = f"{device.last_used_at:%Y-%m-%d %H:%M}" if device.last_used_at else "never"
        click.echo(f"{device.id}\t{device.name}\t{state}\tlast used {used}")


@devices_cli.command("revoke")
@click.argument("device_id", type=int)
def revoke_command(device_id):
    """Revoke a device password by its number (see `flask devices list`)."""
    device = db.session.get(DevicePassword, device_id)
    if device is None:
        raise click.ClickException(f"No device password {device_id}.")
    revoke_device(device)
    db.session.commit()
    click.echo(f"Revoked device password {device.id} of {device.user.email}.")
