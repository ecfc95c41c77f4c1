"""The words a native writes (#16 item 12): what was odd Swedish, and US-style dates."""

from datetime import UTC, datetime

from flask import render_template_string
from flask_babel import force_locale, gettext, ngettext

from directory.core.extensions import db
from directory.core.models import ContactKind, UserRole
from directory.core.numbers import region_name
from tests.conftest import Auth, make_actor, make_contact, make_role


def test_the_swedish_reads_as_a_native_writes_it(app):
    with app.test_request_context(), force_locale("sv"):
        assert ngettext("%(num)d alternate", "%(num)d alternates", 4) == "Fler vägar (4)"
        assert gettext("then after %(min)d min:", min=5) == \
            "inget svar inom 5 min? Ring sedan:"
        assert gettext("Add override") == "Lägg till ersättare"
        assert gettext("Overrides") == "Ersättare"
        assert gettext("Needs attention") == "Att åtgärda"
        assert gettext("Scenario directions") == "Inriktning per scenario"
        assert gettext("This is not a valid number in %(region)s.",
                       region=region_name("SE")) == "Det här är inte ett giltigt nummer i Sverige."


def test_english_short_dates_are_iso_8601(app):
    moment = datetime(2026, 12, 2, 1, 5, tzinfo=UTC)
    with app.test_request_context(), force_locale("en"):
        assert render_template_string('{{ m|datetimeformat("short") }}', m=moment) == \
            "2026-12-02 02:05"  # Stockholm time, not "12/2/26, 2:05 AM"
        assert render_template_string('{{ m|dateformat("short") }}', m=moment) == "2026-12-02"


def test_a_label_that_only_repeats_the_kind_is_not_said_twice(client, login_as):
    haninge = make_actor("Haninge kommun")
    make_contact(make_role(haninge), "RSTH HAN-1", kind=ContactKind.RAKEL_GROUP,
                 label="Rakel talgrupp")
    db.session.commit()
    login_as(UserRole.VIEWER)
    client.post("/language", data={"locale": "sv", "csrf_token": Auth(client).csrf_token("/")})
    page = client.get("/actors/haninge-kommun").get_data(as_text=True)
    assert "Rakel talgrupp" in page and "Rakel-talgrupp" not in page


def test_daily_reads_as_its_context_says(app):
    """A rotation is "Dygnsvis" (one day at a time); a mail comes "Dagligen"."""
    from directory.editing.forms import ROTATION_KIND_LABELS
    from directory.reminders.forms import MailPreferencesForm

    with app.test_request_context(), force_locale("sv"):
        field = MailPreferencesForm(meta={"csrf": False}).reminder_frequency
        choices = {choice.value: choice.label for choice in field.choices}
        assert str(choices["daily"]) == "Dagligen"
        assert "Dygnsvis" in {str(label) for label in ROTATION_KIND_LABELS.values()}


def test_template_labels_follow_the_language_when_it_changes_within_a_request(app):
    """Templates find the catalogue once per request (not anew for every label):
    a forced language (mails in the reader's language) and a change of language
    in the middle of a request (`refresh()`) are still followed at once."""
    from flask import session
    from flask_babel import refresh

    def label():
        return render_template_string(
            "{{ _('Search') }}|{{ ngettext('%(num)d alternate', '%(num)d alternates', 3) }}"
            "|{{ kind_name('satellite') }}")

    swedish, english = "Sök|Fler vägar (3)|Satellittelefon", "Search|3 alternates|Satellite phone"
    with app.test_request_context():
        session["locale"] = "sv"
        assert label() == swedish
        with force_locale("en"):
            assert label() == english
            with force_locale("sv"):
                assert label() == swedish
            assert label() == english
        assert label() == swedish
        session["locale"] = "en"
        assert label() == swedish  # Flask-Babel keeps the request's language...
        refresh()
        assert label() == english  # ...until told it changed
