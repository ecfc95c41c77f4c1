"""Kontaktvägar: who to call, on which number, right now, and who next."""

from pathlib import Path

from flask import Flask

from config import Config, config_for_env

from .visibility import GatedEnvironment

ROOT = Path(__file__).resolve().parent.parent


class KontaktvagarApp(Flask):
    """Flask, with templates that read contact paths through the visibility gate."""

    jinja_environment = GatedEnvironment


def create_app(config_class: type[Config] | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, error handlers, commands."""
    app = KontaktvagarApp(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_object((config_class or config_for_env())())
    trust_proxies(app)
    register_request_limits(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXY_HOPS proxies, take the client's address and scheme
    from their X-Forwarded-* headers (the last N entries, which they set)."""
    hops = app.config.get("TRUSTED_PROXY_HOPS", 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def register_request_limits(app: Flask) -> None:
    """Before any route exists: ids in URLs are bounded, addresses checked."""
    from . import limits

    limits.init_app(app)


def register_extensions(app: Flask) -> None:
    from . import audit, database, i18n, search, security
    from .extensions import csrf, db, migrate

    db.init_app(app)
    database.init_app(app)
    audit.init_app(app)
    search.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    i18n.init_app(app)
    security.init_app(app)


def register_blueprints(app: Flask) -> None:
    from . import admin, api, auth, coordination, edit, exports, printing, review, trees, views

    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(edit.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(trees.bp)
    app.register_blueprint(coordination.bp)
    app.register_blueprint(exports.bp)
    app.register_blueprint(printing.bp)
    app.register_blueprint(api.bp)


def register_errorhandlers(app: Flask) -> None:
    from . import errors

    errors.init_app(app)


def register_commands(app: Flask) -> None:
    from . import backup, demo, users

    backup.init_app(app)
    demo.init_app(app)
    users.init_app(app)
