"""The pages every signed-in user sees, and the health check."""

from flask import Blueprint, jsonify, render_template
from sqlalchemy import select, text

from .extensions import db
from .models import Actor
from .text import swedish_sort_key

bp = Blueprint("views", __name__)


@bp.get("/healthz")
def healthz():
    """Report whether the app and its database answer (for monitoring)."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database is "down"
        db.session.rollback()
        return jsonify(status="error", database="unavailable"), 503
    return jsonify(status="ok", database="ok")


@bp.get("/")
def home():
    """The start page: the search box and the actors of the region."""
    actors = db.session.scalars(select(Actor).where(Actor.deleted_at.is_(None))).all()
    actors.sort(key=lambda a: swedish_sort_key(a.name))
    return render_template("views/home.html", actors=actors)
