"""The page that explains how to add the address books on a phone or computer."""

from flask import Blueprint, render_template, request
from flask_login import current_user

from directory.carddav.books import books_of
from directory.carddav.mount import PREFIX

bp = Blueprint("carddav", __name__)


@bp.get("/account/address-book")
def help_page():
    """How to add Kontaktvägar's address books on iPhone, Android, macOS and Thunderbird."""
    root = request.host_url.rstrip("/")
    return render_template(
        "carddav/help.html",
        server=request.host,
        server_url=f"{root}{PREFIX}/",
        principal_url=f"{root}{PREFIX}/{current_user.email}/",
        username=current_user.email,
        books=books_of(current_user),
    )
