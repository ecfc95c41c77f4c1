"""Kontaktvägar: who to call, on which number, right now, and who next.

The app is one package per thing a user does (lookup, editing, review,
calltrees, coordination, phones, printing, api, accounts, operations,
carddav) over a shared `core`. Each feature package opens with a docstring
saying what it owns; `create_app` below is the only place that knows them all.
"""

from pathlib import Path

from flask import Flask

from config import Config, config_for_env
from directory.core.visibility import GatedEnvironment

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
    from directory.accounts.sessions import DeviceSessionInterface

    app.session_interface = DeviceSessionInterface()
    trust_proxies(app)
    register_request_limits(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_carddav(app)
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
    from directory.core import limits

    limits.init_app(app)


def register_extensions(app: Flask) -> None:
    from directory.core import audit, database, i18n, pagecache, pages, security, verification
    from directory.core.extensions import csrf, db, migrate
    from directory.lookup import index

    db.init_app(app)
    database.init_app(app)
    audit.init_app(app)
    index.init_app(app)
    pagecache.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    verification.init_app(app)
    pages.init_app(app)


def register_blueprints(app: Flask) -> None:
    from directory.accounts import admin, auth, device_pages, tokens
    from directory.api import views as api_pages
    from directory.api import writes as _api_writes  # noqa: F401 (its routes join the API's)
    from directory.callouts import views as callout_pages
    from directory.calltrees import views as calltree_pages
    from directory.carddav import views as carddav_pages
    from directory.coordination import views as coordination_pages
    from directory.editing import views as editing_pages
    from directory.lookup import views as lookup_pages
    from directory.oncall import views as oncall_pages
    from directory.phones import views as phone_pages
    from directory.printing import views as printing_pages
    from directory.reminders import views as reminder_pages
    from directory.review import views as review_pages

    for pages in (auth, lookup_pages, editing_pages, admin, tokens, review_pages,
                  calltree_pages, coordination_pages, phone_pages, printing_pages, api_pages,
                  oncall_pages, device_pages, carddav_pages, callout_pages, reminder_pages):
        app.register_blueprint(pages.bp)


def register_errorhandlers(app: Flask) -> None:
    from directory.core import errors

    errors.init_app(app)


def register_commands(app: Flask) -> None:
    from directory.accounts import devices, tokens, users
    from directory.editing import actors
    from directory.operations import backup, demo
    from directory.phones import restore
    from directory.printing import jobs as print_jobs
    from directory.reminders import commands as reminder_commands

    actors.init_app(app)
    backup.init_app(app)
    reminder_commands.init_app(app)
    demo.init_app(app)
    print_jobs.init_app(app)
    restore.init_app(app)
    users.init_app(app)
    app.cli.add_command(tokens.tokens_cli)
    app.cli.add_command(devices.devices_cli)


def register_carddav(app: Flask) -> None:
    """Phones' address books (CardDAV) under /dav/, beside the app."""
    from directory.carddav import mount

    mount.init_app(app)


def warm_up(app: Flask) -> int:
    """Make a serving process ready before its first request; returns the objects frozen.

    Every template is compiled and every mapper configured now rather than
    on some user's first request, and then everything the process holds is
    moved out of the garbage collector's reach (`gc.freeze`). Without that,
    each full collection walks the ~230 000 objects of the loaded app and
    its libraries (~120 ms on this project's 2-core machine), and under load
    one request in twenty paid for it: the on-call board's p95 was three
    times its median (bench/oncall.py, issue 21). What requests create
    after this is collected as before. Called by gunicorn in each worker
    (gunicorn.conf.py, `post_worker_init`) and by the benchmarks; not by
    the tests, whose processes build and drop an app per test.
    """
    import gc

    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    with app.app_context():
        for name in app.jinja_env.list_templates(extensions=("html", "txt")):
            app.jinja_env.get_template(name)
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
