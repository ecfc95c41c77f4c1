"""The app factory, configuration and the health check."""

import pytest

from config import DevelopmentConfig, ProductionConfig, config_for_env, database_url


def test_healthz_reports_database_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "rate_limit_store": "ok"}


def test_healthz_needs_no_sign_in_but_home_does(client):
    assert client.get("/healthz").status_code == 200
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_production_refuses_to_start_without_a_real_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        ProductionConfig()
    monkeypatch.setenv("SECRET_KEY", "change-me")
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        ProductionConfig()


def test_production_starts_with_a_long_random_key(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    config = ProductionConfig()
    assert config.SESSION_COOKIE_SECURE is True
    assert config.DEMO_ALLOWED is False


def test_app_env_chooses_the_config(monkeypatch):
    monkeypatch.delenv("APP_ENV", raising=False)
    assert config_for_env() is DevelopmentConfig
    monkeypatch.setenv("APP_ENV", "production")
    assert config_for_env() is ProductionConfig
    monkeypatch.setenv("APP_ENV", "staging")
    with pytest.raises(RuntimeError, match="APP_ENV"):
        config_for_env()


def test_config_defaults(monkeypatch):
    for name in ("DATABASE_URL", "DEFAULT_REGION", "TIMEZONE", "DEFAULT_LOCALE"):
        monkeypatch.delenv(name, raising=False)
    config = DevelopmentConfig()
    assert config.SQLALCHEMY_DATABASE_URI.startswith("sqlite:///")
    assert config.SQLALCHEMY_DATABASE_URI.endswith("instance/kontaktvagar.sqlite")
    assert config.DEFAULT_REGION == "SE"
    assert config.TIMEZONE == "Europe/Stockholm"
    assert config.BABEL_DEFAULT_LOCALE == "sv"


def test_postgres_urls_use_the_psycopg_driver():
    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_foreign_keys_are_enforced(app):
    """SQLite checks foreign keys only when asked per connection; we always ask."""
    from sqlalchemy.exc import IntegrityError

    from directory.core.extensions import db
    from directory.core.models import Person

    db.session.add(Person(actor_id=999_999, name="Nobody"))
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path):
    from directory import create_app
    from tests.conftest import make_config

    unreachable = {"url": f"sqlite:///{tmp_path}/missing-dir/db.sqlite", "engine_options": {}}
    app = create_app(make_config(unreachable))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unavailable",
                                   "rate_limit_store": "ok"}


def test_home_lists_the_actors_in_swedish_order_with_links(app, client, login_as):
    from directory.core.extensions import db
    from tests.conftest import make_actor

    for name in ("Österåkers kommun", "Ängby", "Botkyrka kommun", "Åkersberga"):
        make_actor(name)
    db.session.commit()
    login_as("viewer")
    page = client.get("/").get_data(as_text=True)
    positions = [page.index(f">{name}</a>") for name in
                 ("Botkyrka kommun", "Åkersberga", "Ängby", "Österåkers kommun")]
    assert positions == sorted(positions)
    assert 'href="/actors/osterakers-kommun"' in page


def test_actor_page_shows_numbers_nationally_with_tel_links(app, client, login_as):
    from directory.core.extensions import db
    from directory.core.models import ContactKind
    from tests.conftest import make_actor, make_contact, make_role

    actor = make_actor("Haninge kommun")
    make_contact(make_role(actor), "+46701740608", label="Dygnet runt")
    make_contact(actor, "11414", kind=ContactKind.SWITCHBOARD)
    db.session.commit()
    login_as("viewer")
    page = client.get("/actors/haninge-kommun").get_data(as_text=True)
    assert 'href="tel:+46701740608"' in page and "070-174 06 08" in page
    assert 'href="tel:11414"' in page and "114 14" in page
    assert "/actors/haninge-kommun/edit" not in page  # a viewer gets no edit links


def test_deleted_actor_page_is_gone(app, client, login_as):
    from directory.core.extensions import db
    from directory.core.models import utcnow
    from tests.conftest import make_actor

    make_actor("Haninge kommun", deleted_at=utcnow())
    db.session.commit()
    login_as("viewer")
    assert client.get("/actors/haninge-kommun").status_code == 404


def test_actor_page_says_who_is_on_call_now_or_that_nobody_is(app, client, login_as):
    from datetime import timedelta

    from directory.core.extensions import db
    from directory.core.models import Shift, utcnow
    from tests.conftest import make_actor, make_person, make_role

    actor = make_actor("Haninge kommun")
    staffed, empty = make_role(actor), make_role(actor, name="Kommunikatör", short_name="KiB")
    db.session.add(Shift(role=staffed, person=make_person(actor, "Åsa Öberg"),
                         starts_at=utcnow() - timedelta(hours=1),
                         ends_at=utcnow() + timedelta(hours=5)))
    db.session.commit()
    login_as("viewer")
    page = client.get("/actors/haninge-kommun").get_data(as_text=True)
    assert "On call now:" in page and "<strong>Åsa Öberg</strong>" in page
    assert "Nobody is on call now" in page
    assert empty.name in page


# --- A serving process is warmed up before its first request (issue 21) -------------


def test_warm_up_compiles_every_template_and_freezes_what_the_process_holds(app):
    """Full garbage collections would otherwise walk the whole loaded app in the
    middle of some request (bench/oncall.py: the board's p95 three times its median)."""
    import gc

    from directory import warm_up

    names = app.jinja_env.list_templates(extensions=("html", "txt"))
    assert len(names) > 40
    assert len(app.jinja_env.cache) < len(names)
    try:
        frozen = warm_up(app)
        assert frozen == gc.get_freeze_count() > 10_000
        assert len(app.jinja_env.cache) >= len(names)
    finally:
        gc.unfreeze()  # this test process builds and drops an app per test


def test_each_gunicorn_worker_is_warmed_up_before_its_first_request(tmp_path):
    import re
    import signal

    from tests.test_sessions_and_passwords import _free_port, _gunicorn, _wait_for_healthz

    port = _free_port()
    process = _gunicorn(tmp_path, "--workers", "1", "--bind", f"127.0.0.1:{port}")
    try:
        _wait_for_healthz(port)
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    found = re.search(r"Worker ready: templates compiled, (\d+) objects frozen", err)
    assert found, err
    assert int(found.group(1)) > 10_000


@pytest.mark.parametrize("value", [
    "haninge-kommun", "två ord", "å/ä?ö#x", "100%", "a&b=c;d", "<script>", 42,
])
def test_url_maker_builds_the_links_url_for_builds(app, value):
    """A page of thousands of links builds the route once (`url_maker`): each
    link is the one `url_for` gives, quoting included, under a script root too."""
    from flask import url_for

    from directory.core.pages import url_maker

    for root in ("", "/kontakt"):
        with app.test_request_context("/", base_url=f"http://localhost{root}"):
            make = url_maker("lookup.actor", "slug")
            assert make(value) == url_for("lookup.actor", slug=value)
            make = url_maker("printing.actor_print", "slug", download=1)
            assert make(value) == url_for("printing.actor_print", slug=value, download=1)
            if isinstance(value, int):
                make = url_maker("lookup.role", "role_id")
                assert make(value) == url_for("lookup.role", role_id=value)


def test_url_maker_refuses_a_value_that_is_not_in_the_path(app):
    from directory.core.pages import url_maker

    with app.test_request_context("/"), pytest.raises(ValueError, match="'q'"):
        url_maker("lookup.search_page", "q")


def test_live_actor_choices_are_live_actors_by_swedish_name(app):
    from directory.core.extensions import db
    from directory.core.forms import live_actor_choices
    from directory.core.models import utcnow
    from tests.conftest import make_actor

    made = {name: make_actor(name) for name in
            ("Österåkers kommun", "Ängby", "Botkyrka kommun", "Åkersberga", "Nedlagd")}
    made["Nedlagd"].deleted_at = utcnow()
    db.session.commit()
    assert [c.label for c in live_actor_choices()] == [
        "Botkyrka kommun", "Åkersberga", "Ängby", "Österåkers kommun"]
    assert [c.value for c in live_actor_choices(leave_out=made["Ängby"].id)] == [
        made[n].id for n in ("Botkyrka kommun", "Åkersberga", "Österåkers kommun")]
