"""Coordinators keep the register of actors: create, rename, move and retire.

In the browser and on the command line (`flask actors ...`); the rules live
in `editing.actors`, shared by both (and by the API). A fresh database with
only a coordinator offers the first actor rather than a dead end.
"""

from sqlalchemy import select

from directory.core.extensions import db
from directory.core.models import Actor, ActorKind, UserRole
from tests.conftest import Auth, make_actor


def post(client, url, **data):
    return client.post(url, data={"csrf_token": Auth(client).csrf_token("/"), **data})


def new_actor(client, name, parent="0"):
    return post(client, "/actors/new", name=name, short_name="", parent=parent,
                kind="municipality", level="regional")


def live(name):
    return db.session.scalar(select(Actor).where(Actor.name == name,
                                                 Actor.deleted_at.is_(None)))


def test_on_a_fresh_database_the_coordinator_is_offered_the_first_actor(client, login_as):
    login_as(UserRole.ADMIN)
    home = client.get("/").get_data(as_text=True)
    assert "No actors yet." in home and 'href="/actors/new"' in home
    export = client.get("/export").get_data(as_text=True)
    assert "You may not change any actor" not in export
    assert 'Create the first actor</a>' in export
    response = new_actor(client, "Haninge kommun")
    actor = live("Haninge kommun")
    assert response.status_code == 302 and response.headers["Location"] == "/actors/haninge-kommun"
    assert (actor.slug, actor.kind, actor.parent_id) == ("haninge-kommun", ActorKind.MUNICIPALITY,
                                                         None)
    assert "Haninge kommun" in client.get("/actors/haninge-kommun").get_data(as_text=True)


def test_a_name_already_taken_or_empty_is_refused_in_its_field(client, login_as):
    make_actor("Haninge kommun")
    db.session.commit()
    login_as(UserRole.ADMIN)
    taken = new_actor(client, "haninge  KOMMUN")
    assert taken.status_code == 422
    assert "Another actor is already called" in taken.get_data(as_text=True)
    # Letters beyond A-Z too, on every database (SQLite's lower() folds only A-Z).
    make_actor("Östhammars kommun")
    db.session.commit()
    assert new_actor(client, "ÖSTHAMMARS KOMMUN").status_code == 422
    assert new_actor(client, "   ").status_code == 422
    assert db.session.scalar(select(db.func.count()).select_from(Actor)) == 2


def test_a_new_actor_is_placed_under_its_parent_and_moved_but_never_under_itself(
        client, login_as):
    haninge = make_actor("Haninge kommun")
    db.session.commit()
    login_as(UserRole.ADMIN)
    new_actor(client, "FRG Haninge", parent=str(haninge.id))
    frg = live("FRG Haninge")
    assert frg.parent_id == haninge.id
    loop = post(client, f"/actors/{haninge.slug}/move", parent=str(frg.id),
                version=str(haninge.version))
    assert loop.status_code == 422
    assert "cannot be placed under itself or one of its parts" in loop.get_data(as_text=True)
    db.session.refresh(haninge)
    assert haninge.parent_id is None
    top = post(client, f"/actors/{frg.slug}/move", parent="0", version=str(frg.version))
    assert top.status_code == 302
    db.session.refresh(frg)
    assert frg.parent_id is None


def test_a_retired_actor_is_gone_from_the_list_and_can_be_restored(client, login_as):
    haninge = make_actor("Haninge kommun")
    make_actor("FRG Haninge", parent=haninge)
    db.session.commit()
    login_as(UserRole.ADMIN)
    refused = post(client, f"/actors/{haninge.slug}/retire", version=str(haninge.version))
    assert refused.status_code == 302
    assert "Move or retire its parts first: FRG Haninge." in client.get(
        refused.headers["Location"]).get_data(as_text=True)
    assert live("Haninge kommun") is not None
    frg = live("FRG Haninge")
    assert post(client, f"/actors/{frg.slug}/retire", version=str(frg.version)).status_code == 302
    assert live("FRG Haninge") is None
    listed = client.get("/").get_data(as_text=True).split('class="actor-list"', 1)[1]
    assert "Haninge kommun" in listed and "FRG Haninge" not in listed
    assert post(client, f"/history/actor/{frg.id}/restore").status_code == 302
    assert live("FRG Haninge") is not None


def test_the_actor_page_offers_move_and_retire_to_coordinators_only(client, login_as):
    haninge = make_actor("Haninge kommun")
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[haninge])
    page = client.get("/actors/haninge-kommun").get_data(as_text=True)
    assert "/actors/haninge-kommun/move" not in page and "Retire actor" not in page
    assert 'href="/actors/new"' not in client.get("/").get_data(as_text=True)


def test_the_command_line_creates_renames_moves_and_retires(app, runner):
    created = runner.invoke(args=["actors", "create", "Haninge kommun", "--kind",
                                  "municipality"])
    assert created.exit_code == 0, created.output
    assert created.output.strip() == "haninge-kommun"
    runner.invoke(args=["actors", "create", "FRG Haninge", "--parent", "haninge-kommun"])
    assert live("FRG Haninge").parent.slug == "haninge-kommun"
    renamed = runner.invoke(args=["actors", "rename", "frg-haninge", "FRG Haninge–Tyresö"])
    assert renamed.exit_code == 0, renamed.output
    assert live("FRG Haninge–Tyresö").slug == "frg-haninge"  # links keep working
    loop = runner.invoke(args=["actors", "move", "haninge-kommun", "--parent", "frg-haninge"])
    assert loop.exit_code != 0 and "under itself" in loop.output
    assert runner.invoke(args=["actors", "move", "frg-haninge"]).exit_code == 0
    assert live("FRG Haninge–Tyresö").parent_id is None
    retired = runner.invoke(args=["actors", "retire", "frg-haninge"])
    assert retired.exit_code == 0 and live("FRG Haninge–Tyresö") is None
    unknown = runner.invoke(args=["actors", "retire", "frg-haninge"])
    assert unknown.exit_code != 0 and "no live actor has the slug" in unknown.output


def test_an_actor_named_new_gets_a_slug_its_page_can_be_opened_by(client, login_as):
    login_as(UserRole.ADMIN)
    new_actor(client, "New")
    actor = live("New")
    assert actor.slug == "new-2"  # /actors/new is the page that creates an actor
    page = client.get(f"/actors/{actor.slug}")
    assert page.status_code == 200 and "<h1>New" in page.get_data(as_text=True)


def test_renaming_on_the_edit_page_keeps_the_slug_and_refuses_a_taken_name(client, login_as):
    """Issue 15, item 12: the edit page renames (the slug and every link stay); another
    actor's name, in any case, is refused in its field, as when creating."""
    make_actor("Haninge kommun")
    other = make_actor("Nynäshamns kommun")
    db.session.commit()
    login_as(UserRole.ADMIN)
    fields = {"short_name": "", "kind": "municipality", "level": "regional",
              "review_interval_days": "180", "notes": "", "keywords": ""}
    taken = post(client, "/actors/nynashamns-kommun/edit", name="HANINGE kommun",
                 version=str(other.version), **fields)
    assert taken.status_code == 422
    assert "Another actor is already called" in taken.get_data(as_text=True)
    own = post(client, "/actors/nynashamns-kommun/edit", name="NYNÄSHAMNS KOMMUN",
               version=str(other.version), **fields)
    assert own.status_code == 302  # its own name, in another case, is no clash
    db.session.expire_all()
    renamed = post(client, "/actors/nynashamns-kommun/edit", name="Nynäshamns stad",
                   version=str(db.session.get(Actor, other.id).version), **fields)
    assert renamed.status_code == 302
    assert renamed.headers["Location"] == "/actors/nynashamns-kommun"
    db.session.expire_all()
    assert (db.session.get(Actor, other.id).name, db.session.get(Actor, other.id).slug) == (
        "Nynäshamns stad", "nynashamns-kommun")
