"""The page where a user makes, sees and revokes their device passwords."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from directory.accounts.devices import (
    DeviceError,
    create_device_password,
    device_passwords,
    revoke_device,
)
from directory.accounts.forms import DeviceForm
from directory.core.extensions import db
from directory.core.forms import ConfirmForm
from directory.core.models import DevicePassword

bp = Blueprint("devices", __name__, url_prefix="/account/devices")


def _page(form: DeviceForm, secret: str | None = None, created: DevicePassword | None = None,
          status: int = 200):
    return (
        render_template("accounts/devices.html", form=form,
                        devices=device_passwords(current_user), secret=secret,
                        created=created),
        status,
    )  # fmt: skip


@bp.get("")
def index():
    """Your device passwords: create one for a phone, see when each was last used, revoke."""
    return _page(DeviceForm())


@bp.post("")
def create():
    """Create a device password and show it, this once."""
    form = DeviceForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    try:
        device, secret = create_device_password(current_user, form.name.data)
    except DeviceError as error:
        form.name.errors.append(str(error))
        return _page(form, status=422)
    db.session.commit()
    # In this answer only: never flashed, so it never sits in the session cookie.
    return _page(DeviceForm(formdata=None), secret=secret, created=device, status=201)


@bp.post("/<int:device_id>/revoke")
def revoke_own(device_id):
    """Revoke one of your device passwords: that device's address book stops syncing."""
    device = db.session.get(DevicePassword, device_id)
    # Another user's device is "not found": its existence is not theirs to learn.
    if device is None or device.user_id != current_user.id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    revoke_device(device)
    db.session.commit()
    flash(_("The device password “%(name)s” is revoked.", name=device.name), "success")
    return redirect(url_for("devices.index"))
