"""Forms for the mode switch, collaboration patterns and scenarios (the last two
shared by the pages and the API)."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from directory.core.forms import Form
from directory.core.models import Mode, PathMode, Phase
from directory.core.patterns import WEEKDAYS, CadenceError, build_rrule, describe_rrule, parse_times


class PatternForm(Form):
    """A collaboration pattern: who convenes, when it meets, who takes part, why."""

    NOT_VALUES = frozenset({"submit", "csrf_token", "convener"})

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    convener = SelectField(_l("Convened by (actor)"), coerce=int)
    convener_role_id = SelectField(_l("Convening role"), coerce=int, default=0)
    mode = SelectField(
        _l("Applies in"),
        choices=[
            SelectChoice("both", _l("Both modes")),
            SelectChoice("ordinary", _l("Ordinary mode only")),
            SelectChoice("activated", _l("Activated mode only")),
        ],
    )
    scenario_id = SelectField(_l("Scenario"), coerce=int, default=0)
    frequency = RadioField(
        _l("Meets"),
        default="daily",
        choices=[
            SelectChoice("daily", _l("Every day")),
            SelectChoice("weekly", _l("Some weekdays")),
        ],
    )
    weekdays = SelectMultipleField(
        _l("Weekdays (weekly)"),
        choices=[
            SelectChoice(code, label)
            for code, label in zip(
                WEEKDAYS,
                (
                    _l("Monday"),
                    _l("Tuesday"),
                    _l("Wednesday"),
                    _l("Thursday"),
                    _l("Friday"),
                    _l("Saturday"),
                    _l("Sunday"),
                ),
                strict=True,
            )
        ],
    )
    times = StringField(_l("At (e.g. 09:00, 15:00)"), validators=[DataRequired()])
    starts_on = DateField(_l("From"), validators=[InputRequired()])
    duration_minutes = IntegerField(
        _l("Minutes"), default=30, validators=[InputRequired(), NumberRange(1, 1440)]
    )
    meeting_place = StringField(_l("Meeting place"), validators=[Length(max=300)])
    purpose = TextAreaField(_l("Purpose"), validators=[Length(max=5000)])
    mandate = TextAreaField(_l("Mandate"), validators=[Length(max=5000)])
    keywords = StringField(
        _l("Search words"),
        description=_l("Words search finds this by, separated by commas; not printed."),
        validators=[Length(max=1000)],
    )
    participants = SelectMultipleField(_l("Participants"), coerce=int)
    submit = SubmitField(_l("Save"))

    def validate_times(self, field):
        try:
            times = parse_times(field.data)
            self.rrule = build_rrule(self.frequency.data, self.weekdays.data or [], times)
        except CadenceError as error:
            raise ValidationError(str(error)) from None

    @staticmethod
    def current_values(pattern) -> dict:
        """The pattern's values under the form's names (what a change starts from)."""
        frequency, weekdays, times = describe_rrule(pattern.recurrence)
        return {"name": pattern.name, "convener_role_id": pattern.convener_role_id,
                "mode": pattern.mode, "scenario_id": pattern.scenario_id,
                "frequency": frequency, "weekdays": weekdays, "times": times,
                "starts_on": pattern.starts_on, "duration_minutes": pattern.duration_minutes,
                "meeting_place": pattern.meeting_place, "purpose": pattern.purpose,
                "mandate": pattern.mandate, "keywords": pattern.keywords,
                "participants": [p.actor_id for p in pattern.participants]}

    def values(self) -> dict:
        """What `operations.save_pattern` takes (the convener is the caller's)."""
        return {
            "name": self.name.data,
            "convener_role_id": self.convener_role_id.data or None,
            "mode": PathMode(self.mode.data),
            "scenario_id": self.scenario_id.data or None,
            "recurrence": self.rrule,
            "starts_on": self.starts_on.data,
            "duration_minutes": self.duration_minutes.data,
            "meeting_place": self.meeting_place.data or "",
            "purpose": self.purpose.data or "",
            "mandate": self.mandate.data or "",
            "keywords": self.keywords.data or "",
            "participants": list(self.participants.data or []),
        }


def measure_lines(text: str) -> list[str]:
    """One measure per line, most important first; blank lines are not measures."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class ScenarioForm(Form):
    """A risk and its agreed direction, measures one per line per phase."""

    NOT_VALUES = frozenset({"submit", "csrf_token"})

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    facts = TextAreaField(_l("Facts"), validators=[Length(max=10000)])
    assumptions = TextAreaField(_l("Assumptions"), validators=[Length(max=10000)])
    goal = TextAreaField(_l("Goal"), validators=[Length(max=10000)])
    preparatory = TextAreaField(
        _l("Measures, preparatory phase (one per line, most important first)"),
        validators=[Length(max=10000)],
    )
    handling = TextAreaField(
        _l("Measures, handling phase (one per line, most important first)"),
        validators=[Length(max=10000)],
    )
    submit = SubmitField(_l("Save"))

    @staticmethod
    def current_values(scenario) -> dict:
        lines = {phase: "\n".join(m.text for m in scenario.measures if m.phase == phase)
                 for phase in Phase}
        return {"name": scenario.name, "facts": scenario.facts,
                "assumptions": scenario.assumptions, "goal": scenario.goal,
                "preparatory": lines[Phase.PREPARATORY], "handling": lines[Phase.HANDLING]}

    def fill(self, scenario) -> None:
        """The measures as lines (a page's GET); the other fields come from the entry."""
        values = self.current_values(scenario)
        self.preparatory.data, self.handling.data = values["preparatory"], values["handling"]

    def values(self) -> dict:
        """What `operations.save_scenario` takes."""
        return {
            **{key: getattr(self, key).data or "" for key in
               ("name", "facts", "assumptions", "goal")},
            "measures": {Phase.PREPARATORY: measure_lines(self.preparatory.data),
                         Phase.HANDLING: measure_lines(self.handling.data)},
        }


class PatternFieldsForm(PatternForm):
    """A pattern as the API takes it: the convener is named once, by
    `convener_actor_id`, when created."""

    convener = None


class ModeForm(Form):
    scope = SelectField(_l("For"), coerce=int)  # 0 = the whole region
    mode = RadioField(
        _l("Mode"),
        choices=[
            SelectChoice(Mode.ORDINARY.value, _l("Ordinary mode")),
            SelectChoice(Mode.ACTIVATED.value, _l("Activated mode")),
        ],
        validators=[DataRequired()],
    )
    scenario = SelectField(_l("Scenario"), coerce=int, default=0)
    reason = TextAreaField(_l("Why"), validators=[DataRequired(), Length(max=2000)])
    # The whole region switches only once the coordinator has seen what follows.
    confirmed = HiddenField(default="")
    then_print = BooleanField(_l("Then open the binder, to print a revision for this mode"))
    submit = SubmitField(_l("Switch mode"))
