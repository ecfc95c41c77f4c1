"""Reminder digests and mode notices, sent to a real SMTP server and read back.

The server is aiosmtpd on 127.0.0.1 in this process (tests/smtp.py); the
command is run as a timer would run it (`flask reminders send`), and every
link in a mail is followed with the test client as its recipient.
"""

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from directory.core.extensions import db
from directory.core.models import (
    CheckSource,
    ContactPoint,
    ModeState,
    ReminderFrequency,
    ReminderSent,
    User,
    UserRole,
    utcnow,
)
from directory.core.numbers import display_phone
from directory.core.verification import record_call
from directory.operations.demo import load_demo
from directory.reminders.send import is_due
from tests.conftest import TODAY, Auth, make_actor, make_contact, make_role, make_user
from tests.smtp import SmtpServer, free_port, parts

BASE = "https://kontakt.example.se"


@pytest.fixture
def smtp(app):
    server = SmtpServer().start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_USE_TLS=False,
                      MAIL_FROM="kontaktvagar@example.se", BASE_URL=BASE)
    yield server
    server.stop()


@pytest.fixture
def region(app):
    """Two municipalities, each with a gap, an unreviewed actor and paths to test."""
    haninge = make_actor("Haninge kommun")
    nynashamn = make_actor("Nynäshamns kommun")
    tib = make_role(haninge, "Tjänsteman i beredskap", "TiB")  # no rotation: a gap
    working = make_contact(tib, "+46701740610")
    failing = make_contact(tib, "+46701740611", priority=2, label="Reservmobil")
    make_contact(haninge, "+46701740612", label="Växel Haninge")  # never verified
    vb = make_role(nynashamn, "Vakthavande befäl", "VB")
    make_contact(vb, "+46701740613", label="VB-mobil Nynäshamn")
    record_call(working, True, source=CheckSource.DRILL)
    record_call(failing, False, source=CheckSource.EDITOR, note="Ingen signal")
    editor = make_user("editor@haninge.example.se", role=UserRole.EDITOR, actors=[haninge],
                       name="Eva Editor", reminder_frequency=ReminderFrequency.DAILY)
    swede = make_user("redaktor@nynashamn.example.se", role=UserRole.EDITOR,
                      actors=[nynashamn], locale="sv", name="Sven Redaktör",
                      reminder_frequency=ReminderFrequency.DAILY)
    admin = make_user("samordnare@example.se", role=UserRole.ADMIN, name="Sara Samordnare",
                      reminder_frequency=ReminderFrequency.DAILY)
    viewer = make_user("tib@example.se", role=UserRole.VIEWER)
    db.session.commit()
    return {"haninge": haninge.id, "nynashamn": nynashamn.id, "failing": failing.id,
            "editor": editor.email, "swede": swede.email, "admin": admin.email,
            "viewer": viewer.email}


def send(runner, *args):
    return runner.invoke(args=["reminders", "send", *args])


def sent_rows() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(ReminderSent))


def links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


# --- Digests ------------------------------------------------------------------


def test_editor_gets_one_digest_of_their_own_actors(region, smtp, runner):
    result = send(runner)
    assert result.exit_code == 0, result.output
    [mail] = smtp.to(region["editor"])
    text, html = parts(mail)
    assert mail["From"].addresses[0].addr_spec == "kontaktvagar@example.se"
    assert "Hello Eva Editor" in text
    assert "Review overdue (1)" in text and "Haninge kommun" in text
    assert "Nobody on call in the next 14 days (1)" in text and "TiB" in text
    assert "Numbers whose latest call failed (1)" in text and "Reservmobil" in text
    assert "Växel Haninge" in text  # never verified
    assert "Nynäshamn" not in text + html  # another actor's business
    assert "Reservmobil" in html and "<ul>" in html


def test_every_link_in_a_digest_opens_the_page_that_fixes_it(region, smtp, runner, client):
    assert send(runner).exit_code == 0
    [mail] = smtp.to(region["editor"])
    text, html = parts(mail)
    found = links(html)
    assert found and all(url.startswith(BASE + "/") for url in found)
    assert set(re.findall(rf"{re.escape(BASE)}/\S+", text)) == set(found)
    assert f"{BASE}/contacts/{region['failing']}/edit" in found
    Auth(client).login(region["editor"])
    for url in set(found):
        response = client.get(urlsplit(url).path)
        assert response.status_code == 200, url


def test_coordinator_gets_the_whole_region(region, smtp, runner):
    send(runner)
    [mail] = smtp.to(region["admin"])
    text, _html = parts(mail)
    assert "The region's directory" in text
    assert "Haninge kommun" in text and "Nynäshamns kommun" in text
    assert "Review overdue (2)" in text


def test_duty_officers_get_no_digest_and_off_means_off(region, smtp, runner):
    user = db.session.scalar(select(User).where(User.email == region["swede"]))
    user.reminder_frequency = ReminderFrequency.OFF
    db.session.commit()
    send(runner)
    assert smtp.to(region["viewer"]) == []
    assert smtp.to(region["swede"]) == []
    assert {m["To"] for m in smtp.messages} == {region["editor"], region["admin"]}


def test_digest_in_the_persons_own_language(region, smtp, runner):
    send(runner)
    [mail] = smtp.to(region["swede"])
    text, html = parts(mail)
    assert "Hej Sven Redaktör" in text
    assert "Granskning försenad (1)" in text
    assert "Kontaktvägar:" in mail["Subject"]
    assert 'lang="sv"' in html


def test_running_twice_a_day_sends_one_mail_per_person(region, smtp, runner):
    assert send(runner).exit_code == 0
    first = len(smtp.messages)
    result = send(runner)
    assert result.exit_code == 0
    assert len(smtp.messages) == first == 3
    assert "3 already sent today" in result.output
    assert sent_rows() == 3


def test_weekly_comes_seven_days_after_the_last():
    today = date(2026, 12, 2)
    assert is_due(ReminderFrequency.WEEKLY, None, today)
    assert not is_due(ReminderFrequency.WEEKLY, today - timedelta(days=6), today)
    assert is_due(ReminderFrequency.WEEKLY, today - timedelta(days=7), today)
    assert is_due(ReminderFrequency.DAILY, today - timedelta(days=1), today)
    assert not is_due(ReminderFrequency.OFF, None, today)


def test_dry_run_says_who_and_sends_nothing(region, smtp, runner):
    result = send(runner, "--dry-run")
    assert result.exit_code == 0
    assert f"would send to {region['editor']}" in result.output
    assert smtp.messages == [] and sent_rows() == 0


def test_server_refusing_everything_leaves_no_sent_rows(region, smtp, runner):
    smtp.reject_after(0)
    result = send(runner)
    assert result.exit_code != 0
    assert "did not accept the mail" in result.output
    assert "0 mails were sent" in result.output
    assert sent_rows() == 0


def test_server_that_cannot_be_reached_exits_non_zero(region, runner, app):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())  # nobody listens
    result = send(runner)
    assert result.exit_code != 0
    assert "cannot connect to the SMTP server 127.0.0.1" in result.output
    assert sent_rows() == 0


def test_a_server_failing_midway_logs_only_what_it_accepted(region, smtp, runner):
    smtp.reject_after(1)
    result = send(runner)
    assert result.exit_code != 0
    assert len(smtp.messages) == 1 and sent_rows() == 1
    db.session.rollback()
    logged = db.session.scalar(select(ReminderSent.user_id))
    assert db.session.get(User, logged).email == smtp.messages[0]["To"]
    smtp.reject_after(None)
    assert send(runner).exit_code == 0  # the rest go out; nobody twice
    assert sorted(m["To"] for m in smtp.messages) == sorted(
        [region["editor"], region["swede"], region["admin"]])


def test_without_mail_server_development_prints_the_mail(region, runner, app):
    app.config.update(MAIL_SERVER="", APP_ENV="development")
    result = send(runner)
    assert result.exit_code == 0
    assert "Subject: Kontaktv" in result.output and "To: editor@haninge.example.se" in result.output


def test_no_confidential_number_in_any_mail(app, smtp, runner):
    """The demo region with every path confidential and every PIN unique."""
    load_demo(TODAY)
    points = db.session.scalars(select(ContactPoint)).all()
    secrets = set()
    for number, point in enumerate(points):
        point.confidential = True
        if point.pin:
            point.pin = f"58{number:03d}913#"
            secrets.add(point.pin)
        secrets.add(point.value)
        if point.kind.is_phone and point.value.startswith("+"):
            secrets.add(display_phone(point.value, "SE"))
            secrets.add("0" + point.value[3:])
    for user in db.session.scalars(select(User)):
        user.reminder_frequency = ReminderFrequency.DAILY
    db.session.commit()
    assert send(runner).exit_code == 0
    assert len(smtp.messages) >= 2  # the coordinator and the editor of the demo
    for message in smtp.messages:
        text, html = parts(message)
        for secret in secrets:
            assert secret not in text and secret not in html, (message["To"], secret)
        assert "password" not in (text + html).lower()


# --- Mode switch notices ------------------------------------------------------


@pytest.fixture
def people(app):
    haninge = make_actor("Haninge kommun")
    other = make_actor("Nynäshamns kommun")
    editor = make_user("editor@haninge.example.se", role=UserRole.EDITOR, actors=[haninge])
    officer = make_user("tib@haninge.example.se", role=UserRole.VIEWER, actors=[haninge],
                        locale="sv")
    quiet = make_user("tyst@haninge.example.se", role=UserRole.EDITOR, actors=[haninge],
                      mode_notices=False)
    elsewhere = make_user("editor@nynashamn.example.se", role=UserRole.EDITOR, actors=[other])
    admin = make_user("samordnare@example.se", role=UserRole.ADMIN)
    db.session.commit()
    return {"haninge": haninge.id, "editor": editor.email, "officer": officer.email,
            "quiet": quiet.email, "elsewhere": elsewhere.email, "admin": admin.email}


def switch(client, people, scope, mode="activated"):
    auth = Auth(client)
    auth.login(people["admin"])
    token = auth.csrf_token("/mode")
    # A whole-region switch is confirmed on a page of its own; this is the confirmed post.
    return client.post("/mode", data={"csrf_token": token, "scope": str(scope), "mode": mode,
                                      "reason": "Snöoväder", "scenario": "0", "confirmed": "1"})


def test_actor_switch_mails_its_editors_and_duty_officers(people, smtp, client):
    response = switch(client, people, people["haninge"])
    assert response.status_code == 302
    assert sorted(m["To"] for m in smtp.messages) == [people["editor"], people["officer"]]
    [english] = smtp.to(people["editor"])
    text, _html = parts(english)
    assert english["Subject"] == "Activated mode: Haninge kommun"
    assert "Reason: Snöoväder" in text and f"{BASE}/mode" in text
    [swedish] = smtp.to(people["officer"])
    assert swedish["Subject"] == "Aktiverat läge: Haninge kommun"


def test_region_switch_mails_everyone_concerned_who_wants_it(people, smtp, client):
    switch(client, people, 0)
    assert sorted(m["To"] for m in smtp.messages) == sorted(
        [people["editor"], people["officer"], people["elsewhere"]])


def test_a_failing_mail_server_does_not_undo_the_switch(people, smtp, client, caplog):
    smtp.reject_after(0)
    response = switch(client, people, people["haninge"])
    assert response.status_code == 302
    db.session.rollback()
    state = db.session.scalar(select(ModeState).where(ModeState.actor_id == people["haninge"]))
    assert state is not None and state.mode.value == "activated"
    assert "notice mail stopped" in caplog.text


# --- The account page -----------------------------------------------------------


def test_account_page_sets_frequency_and_notices(app, client, login_as):
    user = login_as(UserRole.EDITOR)
    token = Auth(client).csrf_token("/account")
    response = client.post("/account", data={"csrf_token": token, "reminder_frequency": "off"})
    assert response.status_code == 302
    db.session.rollback()
    user = db.session.get(User, user.id)
    assert user.reminder_frequency is ReminderFrequency.OFF and user.mode_notices is False


def test_account_page_refuses_an_unknown_frequency_with_a_message(app, client, login_as):
    login_as(UserRole.EDITOR)
    token = Auth(client).csrf_token("/account")
    response = client.post("/account", data={"csrf_token": token,
                                             "reminder_frequency": "hourly"})
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)


def test_sent_log_written_only_once_a_day_even_by_the_database(region, app):
    user = db.session.scalar(select(User).where(User.email == region["editor"]))
    db.session.add(ReminderSent(user_id=user.id, kind="digest", day=TODAY, sent_at=utcnow()))
    db.session.commit()
    db.session.add(ReminderSent(user_id=user.id, kind="digest", day=TODAY, sent_at=utcnow()))
    with pytest.raises(Exception, match="(?i)unique"):
        db.session.commit()
    db.session.rollback()


def test_a_switch_through_the_api_mails_the_same_people_as_the_page(people, smtp, client):
    from directory.accounts.credentials import create_api_token
    from directory.accounts.users import find_user

    _token, secret = create_api_token(find_user(people["admin"]), "test")
    db.session.commit()
    response = client.post("/api/v1/mode", headers={"Authorization": f"Bearer {secret}"},
                           json={"actor_id": people["haninge"], "mode": "activated",
                                 "reason": "Snöoväder"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert sorted(m["To"] for m in smtp.messages) == [people["editor"], people["officer"]]
