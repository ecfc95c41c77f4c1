"""The coordinators' synonyms: one group of words per line."""

from flask_babel import lazy_gettext as _l
from wtforms import SubmitField, TextAreaField
from wtforms.validators import Length, ValidationError

from directory.core.forms import Form
from directory.core.text import fold
from directory.lookup.synonyms import parse_terms

MAX_GROUPS = 500


class SynonymsForm(Form):
    groups = TextAreaField(
        _l("Synonyms: one group per line, its words separated by commas"),
        validators=[Length(max=50000)],
        render_kw={"rows": 20},
    )
    submit = SubmitField(_l("Save"))

    def validate_groups(self, field):
        lines = [line for line in (field.data or "").splitlines() if line.strip()]
        if len(lines) > MAX_GROUPS:
            raise ValidationError(_l("At most %(n)d groups.", n=MAX_GROUPS))
        for number, line in enumerate(lines, start=1):
            terms = parse_terms(line)
            if len({fold(t) for t in terms}) < 2:
                raise ValidationError(
                    _l("Line %(n)d: give at least two different words, separated by commas.",
                       n=number)
                )
            if any(len(t) > 100 for t in terms):
                raise ValidationError(
                    _l("Line %(n)d: a word or phrase may be at most 100 characters.", n=number)
                )

    def terms(self) -> list[str]:
        """Each group's terms, tidied: "TiB, tjänsteman i beredskap"."""
        return [
            ", ".join(parse_terms(line))
            for line in (self.groups.data or "").splitlines()
            if line.strip()
        ]
