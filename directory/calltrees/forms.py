"""Call-tree forms, shared by the builder pages and the API: one set of rules.

A node names whom it calls as `role-<id>`, `person-<id>` or `actor-<id>`
(`target_value`), the same value in a page's choice and in an API body.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import (
    DateField,
    FieldList,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from directory.calltrees import rules as calltrees
from directory.core import targets
from directory.core.extensions import db
from directory.core.forms import Form
from directory.core.models import CallTree, Mode, Scenario
from directory.core.targets import Targets, parse_target, target_value

MAX_ALTERNATES = 3
TARGET_GROUPS = {"role": _l("Roles"), "actor": _l("Actors"), "person": _l("Persons")}


def target_choices(tree: CallTree | None = None, chosen=(), find: str | None = None) -> Targets:
    """Whom a node may call: roles, actors and persons, in Swedish order; at
    national scale those of the tree's owner, those chosen and those found
    (`core.targets`)."""
    owner = tree.actor if tree is not None and tree.actor_id is not None else None
    return targets.target_choices(
        calltrees.target_label, TARGET_GROUPS,
        near_actor_ids=(owner.id, owner.parent_id) if owner is not None else (),
        chosen=chosen, find=find)


def scenario_choices() -> list[SelectChoice]:
    scenarios = db.session.scalars(select(Scenario).where(Scenario.deleted_at.is_(None))).all()
    return [SelectChoice(0, "–")] + [SelectChoice(s.id, s.name) for s in scenarios]


class AlternateForm(Form):
    """Who to call next when nobody answers, after how many minutes."""

    class Meta:
        csrf = False  # part of the node form, which has the token

    target = SelectField(_l("Alternate"), default="")
    minutes = IntegerField(_l("Minutes before moving on"), default=5,
                           validators=[Optional(), NumberRange(0, 1440)])


class NodeForm(Form):
    """Whom a step calls, what to say, and who next when nobody answers."""

    NOT_VALUES = frozenset({"submit", "csrf_token"})

    target = SelectField(_l("Call"), validators=[DataRequired()])
    instructions = TextAreaField(_l("Instructions"), validators=[Length(max=2000)])
    escalate_after_minutes = IntegerField(
        _l("Minutes without answer before the first alternate"),
        validators=[Optional(), NumberRange(0, 1440)],
    )
    alternates = FieldList(FormField(AlternateForm), min_entries=MAX_ALTERNATES,
                           max_entries=MAX_ALTERNATES)
    submit = SubmitField(_l("Save"))

    def set_choices(self, choices) -> None:
        self.target.choices = choices
        for alternate in self.alternates:
            alternate.form.target.choices = choices

    def chosen(self) -> list[str]:
        """The target values in the form: sent, or filled from the node."""
        return [self.target.data, *(slot.form.target.data for slot in self.alternates)]

    def validate_target(self, field):
        if parse_target(field.data) is None:
            raise ValidationError(_l("Choose whom to call."))

    def fill(self, node) -> None:
        """The form as the node is now (a page's GET)."""
        self.target.data = target_value(node.target)
        self.instructions.data = node.instructions
        self.escalate_after_minutes.data = node.escalate_after_minutes
        for slot, alternate in zip(self.alternates, node.alternates, strict=False):
            slot.form.target.data = target_value(alternate.target)
            slot.form.minutes.data = alternate.escalate_after_minutes

    @staticmethod
    def current_values(node) -> dict:
        """The node's values under the form's names (what a change starts from)."""
        return {"target": target_value(node.target), "instructions": node.instructions,
                "escalate_after_minutes": node.escalate_after_minutes,
                "alternates": [{"target": target_value(a.target),
                                "minutes": a.escalate_after_minutes} for a in node.alternates]}

    def values(self) -> dict:
        """What `operations.save_node` takes: the target and alternates as entries."""
        alternates = []
        for slot in self.alternates:
            alternate = parse_target(slot.form.target.data)
            if alternate is not None:
                alternates.append((alternate, slot.form.minutes.data or 0))
        return {"target": parse_target(self.target.data),
                "instructions": self.instructions.data or "",
                "escalate_after_minutes": self.escalate_after_minutes.data,
                "alternates": alternates}


class TreeForm(Form):
    """A call tree's name, owner, mode, scenario, revision and dates."""

    NOT_VALUES = frozenset({"submit", "csrf_token", "owner"})

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    owner = SelectField(_l("Owner"), coerce=int)  # 0 = regional
    mode = SelectField(_l("Mode"), choices=[SelectChoice("ordinary", _l("Ordinary mode")),
                                           SelectChoice("activated", _l("Activated mode"))])
    scenario_id = SelectField(_l("Scenario"), coerce=int, default=0)
    revision = IntegerField(_l("Revision"), default=1, validators=[InputRequired(),
                                                                  NumberRange(1, 9999)])
    valid_from = DateField(_l("Valid from"), validators=[InputRequired()])
    next_review_on = DateField(_l("Next review"), validators=[Optional()])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=5000)])
    submit = SubmitField(_l("Save"))

    def values(self) -> dict:
        """The tree's columns (its owner is the caller's: the page's choice or the API's)."""
        return {
            "name": self.name.data,
            "mode": Mode(self.mode.data),
            "scenario_id": self.scenario_id.data or None,
            "revision": self.revision.data,
            "valid_from": self.valid_from.data,
            "next_review_on": self.next_review_on.data,
            "notes": self.notes.data or "",
        }


class PlacedNodeForm(NodeForm):
    """A step as the API takes it: also where it sits (pages move it with buttons)."""

    parent_id = SelectField(_l("Called by"), coerce=int, default=0)  # 0: a top step
    position = IntegerField(_l("Place among its siblings"),
                            validators=[Optional(), NumberRange(0, 999)])

    def set_steps(self, tree) -> None:
        """The steps of the tree this one may sit under."""
        self.parent_id.choices = [SelectChoice(0, "–")] + [
            SelectChoice(n.id, calltrees.target_label(n.target))
            for n in tree.nodes if n.deleted_at is None]

    @staticmethod
    def current_values(node) -> dict:
        return {**NodeForm.current_values(node), "parent_id": node.parent_id,
                "position": node.position}

    def values(self) -> dict:
        return {**super().values(), "parent_id": self.parent_id.data or None,
                "position": self.position.data}


class TreeFieldsForm(TreeForm):
    """A tree as the API takes it: its owner is named once, by `actor_id`, when created."""

    owner = None
