"""Printable call trees and the binder: print views, PDF, revisions."""

from flask import Blueprint

bp = Blueprint("printing", __name__)
