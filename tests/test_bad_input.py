"""Bad input gets a clear answer and writes nothing; never a 500.

Each test here is something a careless user or an attacker sent that once
answered 500 or wrote what it should not: NUL bytes and text-direction
overrides, dates in year 1, ids beyond what a database stores, bodies of
150 MB, JSON nested a hundred thousand deep, and the odd restore.
"""

import inspect
import json
import os
import stat
from datetime import date

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from directory.calltrees import rules as calltrees
from directory.core import entries as services
from directory.core.extensions import db
from directory.core.forms import Form
from directory.core.models import (
    Actor,
    CallTree,
    CallTreeNode,
    CollaborationPattern,
    Mode,
    Override,
    PathMode,
    Person,
    Scenario,
    Shift,
    UserRole,
)
from directory.core.patterns import next_occurrence
from directory.operations.backup import RestoreError, dump, load
from tests.conftest import Auth, make_actor, make_contact, make_person, make_role


def post(client, url, **data):
    return client.post(url, data={**data, "csrf_token": Auth(client).csrf_token("/")})


@pytest.fixture
def haninge(app):
    actor = make_actor("Haninge kommun")
    role = make_role(actor)
    make_contact(role, "+46701740608")
    make_person(actor, "Åsa Öberg")
    db.session.commit()
    return actor


@pytest.fixture
def editor(haninge, login_as):
    return login_as(UserRole.EDITOR, actors=[haninge])


# --- Text: control characters and direction overrides, in one place ----------


@pytest.mark.parametrize("name, code", [("Åsa\x00Öberg", "U+0000"),
                                        ("Åsa \u202eGREBÖ", "U+202E"),
                                        ("Åsa\x07", "U+0007"),
                                        ("Åsa\nÖberg", "U+000A")])
def test_a_name_with_an_invisible_character_is_refused_with_the_reason(
        client, haninge, editor, name, code):
    response = post(client, "/actors/haninge-kommun/persons/new", name=name, title="")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f"Contains an invisible character ({code})" in page
    assert db.session.scalar(select(func.count(Person.id))) == 1  # nothing written


def test_notes_keep_their_line_breaks_and_tabs(client, haninge, editor):
    response = post(client, "/actors/haninge-kommun/persons/new", name="Bo Ek",
                    notes="Rad ett\r\n\tRad två")
    assert response.status_code == 302
    assert db.session.scalar(select(Person.notes).where(Person.name == "Bo Ek")) \
        == "Rad ett\r\n\tRad två"


def test_a_nul_byte_in_the_sign_in_form_is_no_500(client, haninge):
    response = client.post("/login", data={"email": "a\x00@example.org", "password": "x\x00",
                                           "csrf_token": Auth(client).csrf_token()})
    assert response.status_code in (401, 422)
    assert "invisible character" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/search?q=hanin%00ge", "/search?q=%E2%80%AEegninah",
                                 "/actors/haninge%00", "/roles/1?at=2026-12-24%00"])
def test_an_address_with_an_invisible_character_is_a_400_with_the_reason(
        client, haninge, editor, url):
    response = client.get(url)
    assert response.status_code == 400
    assert "invisible character" in response.get_data(as_text=True)


def test_every_form_of_the_app_inherits_the_checks():
    import directory

    for module in _app_modules(directory):
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, FlaskForm) and cls.__module__.startswith("directory"):
                assert issubclass(cls, Form), f"{cls.__module__}.{cls.__name__} skips forms.Form"


def _app_modules(package):
    import importlib
    import pkgutil

    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        yield importlib.import_module(info.name)


# --- Dates within 2000-2100 --------------------------------------------------


@pytest.mark.parametrize("kind", ["shifts", "overrides"])
def test_a_period_in_year_one_is_refused_on_the_form(client, haninge, editor, kind):
    role_id = haninge.roles[0].id
    person_id = haninge.persons[0].id
    response = post(client, f"/roles/{role_id}/{kind}/new", person_id=person_id,
                    starts_at="0001-01-01T08:00", ends_at="0001-01-02T08:00")
    assert response.status_code == 422
    assert "Give a date between 2000 and 2100." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(
        Shift if kind == "shifts" else Override)) == 0


@pytest.mark.parametrize("at", ["0001-01-01T03:00", "9999-12-31", "not-a-date"])
def test_an_out_of_range_moment_is_a_400_on_every_page_that_takes_one(
        client, haninge, editor, at):
    tree = CallTree(name="Larmkedja", mode=Mode.ORDINARY, actor=haninge,
                    valid_from=date(2026, 12, 1))
    db.session.add(tree)
    db.session.commit()
    for url in (f"/roles/{haninge.roles[0].id}", f"/calltrees/{tree.id}",
                f"/calltrees/{tree.id}/print", f"/calltrees/{tree.id}.pdf",
                "/binder.pdf", "/actors/haninge-kommun/print", "/print/directory"):
        response = client.get(f"{url}?at={at}")
        assert response.status_code == 400, url
        text = response.get_data(as_text=True)
        assert "2026-12-24" in text or "between 2000 and 2100" in text, url


def test_an_old_pattern_finds_its_next_meeting_without_expanding_centuries(app, haninge):
    # Stored before forms bounded dates; the rule repeats weekly, so the
    # meeting times are the same as if expanded from the year 1.
    pattern = CollaborationPattern(name="Samverkan", convener_actor=haninge, mode=PathMode.BOTH,
                                   starts_on=date(1, 1, 1),
                                   recurrence="FREQ=DAILY;BYHOUR=9,15;BYMINUTE=0")
    db.session.add(pattern)
    db.session.commit()
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    moment = next_occurrence(pattern, datetime(2026, 12, 2, 10, 0, tzinfo=UTC),
                             ZoneInfo("Europe/Stockholm"))
    assert moment == datetime(2026, 12, 2, 14, 0, tzinfo=UTC)  # 15:00 in Stockholm


# --- Sizes and ids ---------------------------------------------------------


def test_a_huge_body_is_refused_before_it_is_read(client):
    response = client.post("/login", data=b"x" * (5 * 1024 * 1024),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413


@pytest.mark.parametrize("url", ["/roles/99999999999999999999", "/roles/2147483648",
                                 "/persons/9223372036854775808/edit",
                                 "/history/person/99999999999999999999999"])
def test_an_id_beyond_any_database_is_a_404(client, haninge, editor, url):
    assert client.get(url).status_code == 404


def test_json_nested_too_deep_is_a_400(client, haninge, editor):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/v1/persons", data=body, content_type="application/json",
                           headers={"X-CSRFToken": Auth(client).csrf_token("/")})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


# --- Restore and back-up -----------------------------------------------------


def test_restoring_a_step_brings_back_the_steps_it_was_deleted_with(client, haninge, editor):
    tree = CallTree(name="Larmkedja", mode=Mode.ORDINARY, actor=haninge,
                    valid_from=date(2026, 12, 1))
    db.session.add(tree)
    top = calltrees.add_node(tree, haninge.roles[0])
    child = calltrees.add_node(tree, haninge.persons[0], parent=top)
    calltrees.remove(top)
    db.session.commit()
    response = post(client, f"/history/call_tree_node/{child.id}/restore")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(CallTreeNode, top.id).deleted_at is None
    assert "Åsa Öberg" in client.get(f"/calltrees/{tree.id}").get_data(as_text=True)
    response = post(client, f"/nodes/{child.id}/move", action="outdent")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(CallTreeNode, child.id).depth == 0


def test_a_backup_file_is_readable_by_its_owner_only(app, haninge, tmp_path):
    path = tmp_path / "b.json"
    path.write_text("old")
    path.chmod(0o644)
    dump(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_restore_names_the_row_it_cannot_take(app, haninge, tmp_path):
    from flask_migrate import stamp

    stamp()
    path = tmp_path / "b.json"
    dump(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    persons = document["tables"]["person"]
    persons["rows"][0][persons["columns"].index("name")] = "Åsa\x00Öberg"
    path.write_text(json.dumps(document), encoding="utf-8")
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
    with pytest.raises(RestoreError, match=r"Row 1 of table person \(id \d+\), column name"):
        load(path)


# --- Odd names ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["???", "Сценарий", "Snö"])
def test_a_scenario_is_reachable_whatever_its_name(client, haninge, login_as, name):
    db.session.add(Scenario(slug="sno", name="Snö"))
    db.session.commit()
    login_as(UserRole.ADMIN)
    response = post(client, "/scenarios/new", name=name)
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and name in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Scenario.id))) == 2


@pytest.mark.parametrize(("page", "model"), [("/scenarios/new", Scenario),
                                            ("/actors/new", Actor)])
def test_a_name_as_long_as_allowed_gets_a_slug_that_fits(client, haninge, login_as, page, model):
    """200 letters of name, 120 of slug: the slug is cut, and a second name that
    cuts to the same slug still saves (found by the fuzz run: PostgreSQL refused
    the 200-letter slug, a 500)."""
    login_as(UserRole.ADMIN)
    names = ["Översvämning i " + "Å" * 185, "Översvämning i " + "Å" * 184 + "Ä"]
    for name in names:
        fields = {"name": name} if model is Scenario else {"name": name, "kind": "municipality",
                                                          "level": "local"}
        response = post(client, page, **fields)
        assert response.status_code == 302
    slugs = db.session.scalars(select(model.slug).where(model.name.in_(names))).all()
    assert len(slugs) == 2 and len(set(slugs)) == 2
    assert all(len(slug) <= 120 and slug.startswith("oversvamning-i-aaa") for slug in slugs)
    assert client.get(response.headers["Location"]).status_code == 200


def test_unique_slugs_never_repeat(app, haninge):
    db.session.add_all([Scenario(slug="scenario", name="a"), Scenario(slug="scenario-2", name="b")])
    db.session.flush()
    assert services.unique_slug(Scenario, "!!!", "scenario") == "scenario-3"
    assert services.unique_slug(Scenario, "Ny", "scenario") == "ny"


@pytest.mark.parametrize("query", ["from=0001-01-01&to=0001-02-01",
                                   "from=9999-11-01&to=9999-12-01"])
def test_the_shifts_csv_refuses_dates_outside_the_years_it_knows(client, haninge, editor, query):
    response = client.get(f"/export/shifts.csv?{query}")
    assert response.status_code == 400
    assert "Give a date between 2000 and 2100." in response.get_data(as_text=True)
