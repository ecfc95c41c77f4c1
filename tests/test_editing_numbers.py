"""An editor's numbers: shown in the edit form as everywhere else, and a number that
another actor already has is saved with a warning (shared duty phones are normal,
typing slips are not)."""

from sqlalchemy import select

from directory.core.extensions import db
from directory.core.models import ContactPoint, UserRole
from tests.conftest import Auth, make_actor, make_contact, make_role


def test_the_edit_form_shows_a_number_as_people_read_it(client, login_as):
    haninge = make_actor("Haninge kommun")
    point = make_contact(make_role(haninge), "+46701740608")
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[haninge])
    page = client.get(f"/contacts/{point.id}/edit").get_data(as_text=True)
    assert 'value="070-174 06 08"' in page and "+46701740608" not in page


def test_a_number_another_actor_has_is_saved_with_a_warning(client, login_as):
    haninge, nynashamn = make_actor("Haninge kommun"), make_actor("Nynäshamns kommun")
    make_contact(make_role(nynashamn), "+46701740615")
    role = make_role(haninge)
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[haninge])
    token = Auth(client).csrf_token("/")
    response = client.post(f"/actors/{haninge.slug}/contacts/new?owner=role-{role.id}",
                           data={"csrf_token": token, "kind": "mobile", "value": "070-174 06 15",
                                 "mode": "both", "priority": "1"})
    assert response.status_code == 302
    saved = db.session.scalars(select(ContactPoint).where(
        ContactPoint.value == "+46701740615")).all()
    assert len(saved) == 2  # warned, not blocked
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "flash-warning" in page
    assert "070-174 06 15 is also a number of Nynäshamns kommun" in page


def test_a_number_only_this_actor_has_is_saved_without_a_warning(client, login_as):
    haninge = make_actor("Haninge kommun")
    make_contact(haninge, "+46701740651")
    role = make_role(haninge)
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[haninge])
    token = Auth(client).csrf_token("/")
    response = client.post(f"/actors/{haninge.slug}/contacts/new?owner=role-{role.id}",
                           data={"csrf_token": token, "kind": "switchboard",
                                 "value": "070-174 06 51", "mode": "both", "priority": "2"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "flash-warning" not in page and "Saved." in page


def test_an_editor_lands_on_their_actors_with_what_needs_review(client, login_as):
    from directory.core.models import utcnow

    overdue = make_actor("Haninge kommun")
    current = make_actor("FRG Haninge", last_reviewed_at=utcnow())
    make_actor("Nynäshamns kommun")
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[current, overdue])
    page = client.get("/").get_data(as_text=True)
    mine = page.split('id="my-actors"', 1)[1].split("</section>", 1)[0]
    assert mine.index("Haninge kommun") < mine.index("FRG Haninge")  # overdue first
    assert "Review overdue" in mine and 'href="/actors/haninge-kommun#review"' in mine
    assert "Nynäshamns kommun" not in mine


def test_reviewed_still_correct_comes_after_the_data_it_certifies(client, login_as):
    haninge = make_actor("Haninge kommun")
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[haninge])
    page = client.get("/actors/haninge-kommun").get_data(as_text=True)
    assert page.index('id="persons"') < page.index("Reviewed, still correct")
    assert page.index('id="paths"') < page.index("Reviewed, still correct")


def test_a_sick_call_is_one_tap_from_now_replacing_whoever_is_on_call(client, login_as):
    import re
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from directory.core.models import Shift, utcnow
    from tests.conftest import make_person

    haninge = make_actor("Haninge kommun")
    role = make_role(haninge)
    sick = make_person(haninge, "Åsa Öberg")
    make_person(haninge, "Per Åkesson")  # who steps in: the editor chooses
    now = utcnow().replace(second=0, microsecond=0)
    shift_end = now + timedelta(hours=5)
    db.session.add(Shift(role=role, person=sick, starts_at=now - timedelta(hours=3),
                         ends_at=shift_end))
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[haninge])
    url = f"/roles/{role.id}/overrides/new"
    page = client.get(url).get_data(as_text=True)
    for key in ("now", "8h", "24h", "handover"):
        assert f'href="?for={key}"' in page
    assert re.search(rf'<option selected value="{sick.id}">Åsa Öberg', page)  # replaced
    stockholm = ZoneInfo("Europe/Stockholm")

    def local(moment):
        return moment.astimezone(stockholm).strftime("%Y-%m-%dT%H:%M")

    def value(page, name):
        return re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1)

    eight = client.get(url + "?for=8h").get_data(as_text=True)
    start = value(eight, "starts_at")
    assert start in (local(now), local(now + timedelta(minutes=1)))
    assert value(eight, "ends_at") in (local(now + timedelta(hours=8)),
                                       local(now + timedelta(hours=8, minutes=1)))
    handover = client.get(url + "?for=handover").get_data(as_text=True)
    assert value(handover, "ends_at") == local(shift_end)
