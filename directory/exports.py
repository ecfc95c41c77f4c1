"""Phones and calendars: vCard and CSV export and import, iCalendar feeds, QR codes."""

from flask import Blueprint

bp = Blueprint("exports", __name__)
