"""Writes through the API: create, change and delete of every entry kind, from one table.

Each row of `KINDS` names an entry kind, the form that checks it (the
page's own: same rules, same messages), what a new entry belongs to, and the
operations that save and delete it, shared with the pages. A body passes its
schema first (types, fields, choices), then the form; the one permission rule
(`security.can_edit`) decides who may: editors change their own actors'
entries, coordinators (admins) everything, including regional entries and
scenarios. Deletes are restorable from the history; every save is audited.
The mode switch and the review confirmation are here too.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time

from flask import current_app, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import MultiDict
from wtforms import FieldList
from wtforms.fields.choices import SelectChoice

from directory.api import inputs
from directory.api import schemas as S
from directory.api.common import (
    MAX_ID,
    answer,
    bp,
    entry_etag,
    for_edit,
    parse_moment,
)
from directory.api.errors import ApiError, Invalid, invalid
from directory.api.representations import SERIALIZERS, entry_answer, mode_json
from directory.api.spec import operation
from directory.calltrees import operations as tree_operations
from directory.calltrees.forms import (
    PlacedNodeForm,
    TreeFieldsForm,
    scenario_choices,
    target_choices,
)
from directory.calltrees.rules import CallTreeError
from directory.coordination import operations as pattern_operations
from directory.coordination.forms import PatternFieldsForm, ScenarioForm
from directory.coordination.operations import NotAllowed
from directory.core import entries as services
from directory.core.extensions import db
from directory.core.forms import live_actor_choices
from directory.core.models import (
    Actor,
    ActorKind,
    ActorLevel,
    CallTree,
    CallTreeNode,
    CollaborationPattern,
    ContactPoint,
    Mode,
    Override,
    PathMode,
    Person,
    Role,
    Rotation,
    Scenario,
    Shift,
)
from directory.core.modes import ModeError, mode_for, switch_mode
from directory.core.security import can_edit, editable_actor_ids, is_admin
from directory.editing import actors as actor_rules
from directory.editing.forms import (
    ActorForm,
    ContactPointForm,
    OverrideForm,
    PersonForm,
    RoleForm,
    RotationForm,
    ShiftForm,
    for_actor,
    person_choices,
    staff_choices,
)
from directory.reminders.notices import notify_mode_switch


def _require_some_edit_right() -> None:
    """Viewers change nothing: refused before anything about the body is told."""
    if not is_admin(current_user) and not editable_actor_ids(current_user):
        raise ApiError(403, _("You may not change entries."))


def _expected_version(entry) -> int | None:
    """The version named by If-Match, checked now: 412 when it is not the current one."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    wanted = [tag.strip() for tag in header.split(",")]
    if "*" in wanted:
        return entry.version
    current = entry_etag(entry)
    for tag in wanted:
        bare = tag.removeprefix("W/")
        if bare == current or bare.strip('"') == str(entry.version):
            return entry.version
    raise _stale(entry, since=_version_in(wanted[0]))


def _version_in(tag: str) -> int | None:
    """The version an ETag (`"person-7-v3"`) or a bare version (`3`) names."""
    digits = tag.removeprefix("W/").strip('"').rpartition("-v")[2]
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 10 else None


def _stale(entry, events=None, *, since: int | None = None) -> ApiError:
    """412, with the fields others changed since the version the client read."""
    if events is None:
        events = services.changes_since(entry, since) if since is not None else []
    changed = sorted({key for e in events for key in (e.after or {}) if not key.startswith("_")})
    return ApiError(
        412,
        _("The entry was changed since the version you sent. Read it again, then retry."),
        headers={"ETag": entry_etag(entry)},
        current_version=entry.version,
        changed_fields=changed,
    )


def _form_value(value):
    """An entry's value as a form post would carry it."""
    if value is None or value is False:
        return None
    if value is True:
        return "y"
    if hasattr(value, "value"):  # an enum
        return value.value
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, datetime):  # compared, not stored: UTC wall-clock
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    return str(value)


def _flat(messages) -> list[str]:
    """A field's messages; a list field's come per entry (lists, often empty)."""
    flat = []
    for message in messages:
        if isinstance(message, dict):  # a sub-form's fields (a node's alternate)
            flat += [m for m in _flat(list(message.values())) if m not in flat]
        elif isinstance(message, list | tuple):
            flat += [m for m in _flat(message) if m not in flat]
        elif str(message) not in flat:
            flat.append(str(message))
    return flat


def _validated_form(form_class, values: dict, prepare=None):
    """The page's form, filled as if posted with `values`, validated."""
    formdata = MultiDict()
    lists = {f.name for f in inputs.form_fields(form_class) if isinstance(f, FieldList)}
    for name, value in values.items():
        if isinstance(value, list) and name in lists:  # a FieldList: name-0, name-1, …
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    item = item.model_dump(exclude_unset=True)
                if isinstance(item, dict):  # of sub-forms: name-0-field, …
                    for key, part in item.items():
                        if (posted := _form_value(part)) is not None:
                            formdata.add(f"{name}-{index}-{key}", posted)
                else:
                    formdata.add(f"{name}-{index}", _form_value(item))
            continue
        if isinstance(value, list):  # a multiple choice: the name again for each
            for item in value:
                formdata.add(name, _form_value(item))
            continue
        posted = _form_value(value)
        if posted is not None:
            formdata.add(name, posted)
    form = form_class(formdata=formdata, meta={"csrf": False})
    if prepare is not None:
        prepare(form)
    if not form.validate():
        raise Invalid([
            {"field": name or "", "message": message}
            for name, messages in form.errors.items()
            for message in _flat(messages)
        ])
    return form


def _current_values(entry, form_class) -> dict:
    """The entry's values under its form's names (a rotation's members as person ids)."""
    if hasattr(form_class, "current_values"):  # names that are not the entry's columns
        return form_class.current_values(entry)
    form = form_class(formdata=None, meta={"csrf": False})
    values = {name: getattr(entry, name) for name in form._fields
              if name not in form_class.NOT_VALUES and hasattr(entry, name)}
    if isinstance(entry, Rotation):
        values["members"] = [member.person_id for member in entry.members]
    return values


def _save(entry, form, *, expected_version, extra=None, save=None):
    """Save through the operations (`save`, else the services); conflicts as 409/412,
    clashes as 409, a broken call tree as 422 at its field, a foreign actor as 403."""
    try:
        if save is not None:
            save(entry, form, expected_version)
        else:
            services.save(entry, {**form.values(), **(extra or {})}, expected_version)
            form.after_save(entry)
        db.session.commit()
    except CallTreeError as error:
        db.session.rollback()
        raise invalid(error.field, error.message) from None
    except NotAllowed:
        db.session.rollback()
        raise ApiError(403, _("You may not change this entry.")) from None
    except services.ConflictError as error:
        db.session.rollback()
        fresh = db.session.get(type(entry), entry.id)
        raise _stale(fresh, error.events) from None
    except StaleDataError:
        db.session.rollback()
        raise ApiError(409, _("Someone else saved this entry at the same moment. Read it"
                              " again, then retry.")) from None
    except IntegrityError:
        db.session.rollback()
        raise ApiError(409, _("This entry clashes with an existing one (same name or"
                              " slug?).")) from None
    return entry


def _sent(model) -> dict:
    """The fields a validated body names (not those left out)."""
    return {name: getattr(model, name) for name in model.model_fields_set}


def _sent_back(entry, extra: dict) -> None:
    """Fields of the entry as read, sent back: allowed unchanged, refused otherwise."""
    current = SERIALIZERS[type(entry)](entry)
    errors = []
    for key, value in extra.items():
        if key == "version":
            if not isinstance(value, int) or isinstance(value, bool):
                errors.append({"field": key, "message": _l("Give a whole number.")})
        elif key not in current:
            errors.append({"field": key, "message": _l("Unknown field.")})
        elif current[key] != value:
            errors.append({"field": key, "message": _l("This field cannot be changed here.")})
    if errors:
        raise Invalid(errors)


def _write(kind: "Kind", entry, body, *, is_new: bool, prepare=None):
    """Validate a body with the page's form and save it: the one path for writes.

    The body has passed its schema (types, fields, choices); the page's form
    then checks it as it checks a post (lengths, numbers, the rules between
    fields), with its messages. `kind.moments` are fields the API takes as
    exact ISO 8601 moments (the form only checks them, to the minute, in UTC).
    """
    expected = None
    if not is_new:
        extra = body.model_extra or {}
        sent_version = extra.get("version")
        expected = _expected_version(entry)
        if isinstance(sent_version, int) and not isinstance(sent_version, bool) \
                and sent_version != entry.version:
            raise _stale(entry, since=sent_version)  # before the fields that changed with it
        _sent_back(entry, extra)
    values = {k: v for k, v in _sent(body).items() if k not in kind.parents}
    exact, errors = {}, []
    for name in kind.moments:
        if isinstance(values.get(name), str):
            try:
                exact[name] = parse_moment(values[name], name)
            except Invalid as error:
                errors += error.errors
    if errors:
        raise Invalid(errors)
    merged = {**kind.defaults, **({} if is_new else _current_values(entry, kind.form))}
    merged.update({k: v for k, v in values.items() if k not in exact})
    merged.update(exact)
    form = _validated_form(kind.form, merged, prepare)
    extra_values = {name: merged[name] for name in kind.moments if name in merged}
    return _save(entry, form, expected_version=expected, extra=extra_values, save=kind.save)


def _parent(value: int, field: str, model):
    """The live entry a new one belongs to, named by id in the body; 403 if not yours."""
    parent = db.session.get(model, value) if 0 < value <= MAX_ID else None
    if parent is None or parent.deleted_at is not None:
        raise invalid(field, _l("There is no such entry."))
    if not can_edit(current_user, parent):
        raise ApiError(403, _("You may not change this entry."))
    return parent


def _delete(entry, remove=None):
    try:
        (remove or services.soft_delete)(entry, _expected_version(entry))
        db.session.commit()
    except services.ConflictError as error:
        db.session.rollback()
        raise _stale(db.session.get(type(entry), entry.id), error.events) from None
    except StaleDataError:
        db.session.rollback()
        raise ApiError(409, _("Someone else saved this entry at the same moment. Read it"
                              " again, then retry.")) from None
    response = current_app.response_class(status=204)
    response.headers.pop("Content-Type", None)
    return response


OWNER_MODELS = {"actor": Actor, "role": Role, "person": Person,
                "pattern": CollaborationPattern}


def _owner(body) -> dict:
    """A new contact path's owner, named by owner_type and owner_id."""
    owner = _parent(body.owner_id, "owner_id", OWNER_MODELS[body.owner_type])
    return {f"{body.owner_type}_id": owner.id}


def _role_parent(body) -> dict:
    return {"role_id": _parent(body.role_id, "role_id", Role).id}


def _actor_parent(body) -> dict:
    return {"actor_id": _parent(body.actor_id, "actor_id", Actor).id}


def _staff_of_role(entry):
    return staff_choices(db.session.get(Role, entry.role_id).actor_id)


def _members_of_role(entry):
    """A rotation's form offers the role's actor's live persons as members."""
    choices = person_choices(db.session.get(Role, entry.role_id).actor_id)
    return lambda form: form.set_person_choices(choices)


def _tree_owner(body) -> dict:
    """A new tree's actor (yours), or none: a regional tree, the coordinators'."""
    if body.actor_id is None:
        if not is_admin(current_user):
            raise ApiError(403, _("Only coordinators may do this."))
        return {"actor_id": None}
    return _actor_parent(body)


def _tree_choices(entry):
    return lambda form: setattr(form.scenario_id, "choices", scenario_choices())


def _save_tree(tree, form, expected_version):
    tree_operations.save_tree(tree, form.values(), tree.actor_id, expected_version)


def _node_tree(body) -> dict:
    return {"tree_id": _parent(body.tree_id, "tree_id", CallTree).id}


def _node_choices(entry):
    """Whom a step may call (any live role, person and actor), and under which step."""
    tree = db.session.get(CallTree, entry.tree_id)

    def prepare(form):
        form.set_choices(target_choices(tree, form.chosen()).choices)
        form.set_steps(tree)

    return prepare


def _save_node(node, form, expected_version):
    values = form.values()
    if node.id is None:
        tree = db.session.get(CallTree, node.tree_id)
        parent = tree_operations.node_parent(tree, values["parent_id"])
        tree_operations.add_node(tree, values, parent, node=node)
    else:
        tree_operations.change_node(node, values, expected_version)


def _convener(body) -> dict:
    return {"convener_actor_id": _parent(body.convener_actor_id, "convener_actor_id",
                                         Actor).id}


def _pattern_choices(entry):
    """The convener's own roles may convene; any live actor may take part."""
    roles = db.session.scalars(select(Role).where(
        Role.actor_id == entry.convener_actor_id, Role.deleted_at.is_(None))).all()
    actors = live_actor_choices()

    def prepare(form):
        form.convener_role_id.choices = [SelectChoice(0, "–")] + [
            SelectChoice(r.id, r.name) for r in roles]
        form.scenario_id.choices = scenario_choices()
        form.participants.choices = actors

    return prepare


def _save_pattern(pattern, form, expected_version):
    pattern_operations.save_pattern(pattern, form.values(), pattern.convener_actor_id,
                                    current_user, expected_version)


def _regional(_body) -> dict:
    """Regional entries (scenarios) are the coordinators'."""
    if not is_admin(current_user):
        raise ApiError(403, _("Only coordinators may do this."))
    return {}


def _save_scenario(scenario, form, expected_version):
    pattern_operations.save_scenario(scenario, form.values(), expected_version)


@dataclass(frozen=True)
class Kind:
    """An entry kind the API writes, and how: the table `_register` reads.

    `form` validates it (the page's own), `parents` are the body fields that
    name what a new entry belongs to (and `owner(body)` finds it, 403 when not
    the user's), `defaults` are what a new entry gets for fields left out,
    `prepare(entry)` fills the form's choices, `moments` are exact moments.
    """

    model: type
    form: type
    answer: type
    path: str
    name: str
    tag: str
    parents: dict = field(default_factory=dict)
    owner: Callable | None = None
    defaults: dict = field(default_factory=dict)
    prepare: Callable | None = None
    moments: tuple = ()
    verbs: tuple = ("create", "update", "delete")
    what: str = ""
    example: dict | None = None  # a new entry, where entry 1 of each kind is yours
    change: dict | None = None  # a change of one
    id_name: str = ""  # the id's name in the URL, when not `<name>_id`
    save: Callable | None = None  # save(entry, form, expected_version): the operations'
    remove: Callable | None = None  # remove(entry, expected_version), else a soft delete

    @property
    def key(self) -> str:
        return self.id_name or f"{self.name}_id"


ID = (int, inputs.ID_SCHEMA)
PERIOD_MOMENTS = ("starts_at", "ends_at")
KINDS = (
    Kind(Actor, ActorForm, S.Actor, "actors", "actor", "directory", verbs=("update",),
         what="an actor's details", change={"notes": "Granskad i december."},
         prepare=for_actor),
    Kind(Person, PersonForm, S.Person, "persons", "person", "directory",
         parents={"actor_id": ID}, owner=_actor_parent, what="a person of an actor you edit",
         example={"actor_id": 1, "name": "Cilla Ny", "title": "Kommunikatör"},
         change={"title": "Säkerhetssamordnare"}),
    Kind(Role, RoleForm, S.Role, "roles", "role", "directory",
         parents={"actor_id": ID}, owner=_actor_parent,
         what="an on-call role of an actor you edit",
         example={"actor_id": 1, "name": "Krisledningsstab", "short_name": "KLS"},
         change={"description": "Dygnet runt."}),
    Kind(ContactPoint, ContactPointForm, S.ContactPoint, "contact-points", "contact_point",
         "directory",
         parents={"owner_type": (S.OwnerTypeValue, {}), "owner_id": ID}, owner=_owner,
         defaults={"mode": PathMode.BOTH.value, "priority": 1}, id_name="point_id",
         example={"owner_type": "role", "owner_id": 1, "kind": "mobile",
                  "value": "070-174 06 98", "label": "Reserv"},
         change={"label": "Dygnet runt"},
         what="a contact path of an actor, role, person or pattern you edit"),
    Kind(Shift, ShiftForm, S.Shift, "shifts", "shift", "on-call",
         parents={"role_id": ID}, owner=_role_parent, prepare=_staff_of_role,
         moments=PERIOD_MOMENTS, what="a single shift of a role you edit",
         example={"role_id": 1, "person_id": 1, "starts_at": "2026-12-24T08:00:00+01:00",
                  "ends_at": "2026-12-24T20:00:00+01:00", "note": "Julafton"},
         change={"note": "Byte med Bo"}),
    Kind(Override, OverrideForm, S.Override, "overrides", "override", "on-call",
         parents={"role_id": ID}, owner=_role_parent, prepare=_staff_of_role,
         moments=PERIOD_MOMENTS, what="an override (someone takes over a role you edit)",
         example={"role_id": 1, "person_id": 2, "starts_at": "2026-12-25T08:00:00+01:00",
                  "ends_at": "2026-12-26T08:00:00+01:00", "reason": "Semester"},
         change={"reason": "Sjukdom"}),
    Kind(Rotation, RotationForm, S.Rotation, "rotations", "rotation", "on-call",
         parents={"role_id": ID}, owner=_role_parent, prepare=_members_of_role,
         what="a rotation (members taking turns) of a role you edit",
         example={"role_id": 1, "name": "Veckovis", "kind": "weekly",
                  "handover_time": "08:00", "starts_on": "2026-01-05", "members": [1, 2]},
         change={"name": "Veckovis, vinter"}),
    Kind(CallTree, TreeFieldsForm, S.CallTree, "call-trees", "call_tree", "call trees",
         parents={"actor_id": (int | None, inputs.ID_SCHEMA)}, owner=_tree_owner,
         prepare=_tree_choices, save=_save_tree, id_name="tree_id", defaults={"revision": 1},
         what="a call tree of an actor you edit (actor_id null: a regional one, the"
              " coordinators')",
         example={"actor_id": 1, "name": "Larmkedja storm", "mode": "activated",
                  "valid_from": "2026-12-01"},
         change={"revision": 2}),
    Kind(CallTreeNode, PlacedNodeForm, S.CallTreeStep, "call-tree-nodes", "call_tree_node",
         "call trees", parents={"tree_id": ID}, owner=_node_tree, prepare=_node_choices,
         save=_save_node, remove=tree_operations.remove_node, id_name="node_id",
         what="a step of a call tree you edit, with its alternates (deleting it deletes"
              " the steps under it)",
         example={"tree_id": 1, "target": "role-1", "escalate_after_minutes": 5,
                  "alternates": [{"target": "person-1", "minutes": 10}]},
         change={"instructions": "Ring två gånger."}),
    Kind(CollaborationPattern, PatternFieldsForm, S.Pattern, "patterns", "pattern",
         "coordination", parents={"convener_actor_id": ID}, owner=_convener,
         prepare=_pattern_choices, save=_save_pattern,
         defaults={"duration_minutes": 30, "mode": PathMode.BOTH.value},
         what="a collaboration pattern convened by an actor you edit",
         example={"convener_actor_id": 1, "name": "Samverkanskonferens", "mode": "activated",
                  "frequency": "daily", "times": "09:00, 15:00", "starts_on": "2026-12-01",
                  "participants": [1]},
         change={"meeting_place": "Länsstyrelsens lokal"}),
    Kind(Scenario, ScenarioForm, S.Scenario, "scenarios", "scenario", "coordination",
         owner=_regional, save=_save_scenario,
         what="a scenario and its agreed direction (the coordinators')",
         example={"name": "Översvämning", "goal": "Skydda liv",
                  "preparatory": "Förvarna\nSandsäckar", "handling": "Samverka"},
         change={"facts": "Högt vattenstånd."}),
)


def _register(kind: Kind) -> None:
    """Create (POST), change (PATCH) and delete (DELETE) of one kind, from its row."""
    create_body = inputs.write_model(kind.model.__name__, kind.form, create=True,
                                parents=kind.parents, defaults=kind.defaults)
    update_body = inputs.write_model(kind.model.__name__, kind.form, create=False)
    links = (kind.name, kind.key) if "delete" in kind.verbs else None

    def create():
        body = request.context.json
        entry = kind.model(**kind.owner(body))
        prepare = kind.prepare(entry) if kind.prepare else None
        _write(kind, entry, body, is_new=True, prepare=prepare)
        return entry_answer(entry, status=201, headers={
            "Location": url_for(f"api.{kind.name}", **{kind.key: entry.id})})

    def may_change(**ident):
        for_edit(kind.model, ident[kind.key])

    def update(**ident):
        entry = for_edit(kind.model, ident[kind.key])
        prepare = kind.prepare(entry) if kind.prepare else None
        return entry_answer(_write(kind, entry, request.context.json, is_new=False,
                                    prepare=prepare))

    def delete(**ident):
        return _delete(for_edit(kind.model, ident[kind.key]), kind.remove)

    create.__doc__ = f"Add {kind.what}."
    update.__doc__ = f"Change {kind.what}."
    delete.__doc__ = f"Delete {kind.what} (restorable from the history)."
    one = f"/{kind.path}/<int:{kind.key}>"
    views = {
        "create": (f"/{kind.path}", "POST", operation(
            ok=kind.answer, status=201, body=create_body, tags=[kind.tag],
            errors=[403, 409], links=links, guard=_require_some_edit_right,
            example=kind.example)(create)),
        "update": (one, "PATCH", operation(
            ok=kind.answer, body=update_body, tags=[kind.tag], errors=[403, 404],
            conditional=True, guard=may_change, example=kind.change)(update)),
        "delete": (one, "DELETE", operation(
            tags=[kind.tag], errors=[403, 404], conditional=True)(delete)),
    }
    for verb in kind.verbs:
        rule, method, view = views[verb]
        bp.add_url_rule(rule, endpoint=f"{kind.name}_{verb}", view_func=view,
                        methods=[method])


for _kind in KINDS:
    _register(_kind)


def _require_admin() -> None:
    """The coordinators (admins) switch modes, as on the mode page."""
    if not is_admin(current_user):
        raise ApiError(403, _("Only coordinators may do this."))


@bp.post("/mode")
@operation(ok=S.ModeState, body=inputs.ModeSwitch, tags=["mode"], errors=[403],
           guard=_require_admin, example={"mode": "activated", "reason": "Snöstorm"})
def mode_switch():
    """Switch the region or one actor to ordinary or activated mode, and log why."""
    body = request.context.json
    actor = _get_named(Actor, body.actor_id, "actor_id") if body.actor_id else None
    scenario = (_get_named(Scenario, body.scenario_id, "scenario_id")
                if body.scenario_id else None)
    try:
        change = switch_mode(actor, Mode(body.mode), reason=body.reason, user=current_user,
                             scenario=scenario)
    except ModeError as error:
        db.session.rollback()
        raise invalid("reason", _(str(error))) from None
    db.session.commit()
    notify_mode_switch(change)  # as the page does: after the commit, a failure only logged
    return answer(mode_json(mode_for(actor)))


def _get_named(model, ident: int, field_name: str):
    """A live entry named in a body, or a 422 on that field."""
    entry = db.session.get(model, ident)
    if entry is None or entry.deleted_at is not None:
        raise invalid(field_name, _l("There is no such entry."))
    return entry


@bp.post("/actors/<int:actor_id>/review")
@operation(ok=S.Actor, tags=["directory"], errors=[403, 404], conditional=True)
def actor_review(actor_id):
    """Confirm that the actor's entries are reviewed and still correct."""
    actor = for_edit(Actor, actor_id)
    _expected_version(actor)
    services.confirm_review(actor, current_user)
    db.session.commit()
    return entry_answer(actor)


# --- The register of actors (coordinators) -----------------------------------------


def _actor_error(error: actor_rules.ActorError) -> ApiError:
    db.session.rollback()
    if error.field is None:
        return ApiError(409, str(error))
    return invalid(error.field, str(error))


def _live_parent(parent_id: int | None) -> Actor | None:
    """The actor named as parent: a live one (a retired one is the rules' to refuse)."""
    if parent_id is None:
        return None
    parent = db.session.get(Actor, parent_id)
    if parent is None:
        raise invalid("parent_id", _l("There is no such entry."))
    return parent


@bp.post("/actors")
@operation(ok=S.Actor, status=201, body=inputs.NewActor, tags=["directory"], errors=[403, 409],
           links=("actor", "actor_id"), guard=_require_admin,
           example={"name": "Tyresö kommun", "kind": "municipality"})
def actor_create():
    """Create an actor (coordinators), as on the new-actor page and `flask actors create`."""
    body = request.context.json
    try:
        actor = actor_rules.create_actor(
            body.name, parent=_live_parent(body.parent_id), kind=ActorKind(body.kind),
            level=ActorLevel(body.level), short_name=body.short_name)
        db.session.commit()
    except actor_rules.ActorError as error:
        raise _actor_error(error) from None
    return entry_answer(actor, status=201,
                        headers={"Location": url_for("api.actor", actor_id=actor.id)})


def _admin_for(**_ident) -> None:
    _require_admin()


@bp.post("/actors/<int:actor_id>/move")
@operation(ok=S.Actor, body=inputs.ActorMove, tags=["directory"], errors=[403, 404],
           conditional=True, guard=_admin_for, example={"parent_id": None})
def actor_move(actor_id):
    """Place an actor under another one, or at the top level (coordinators)."""
    actor = for_edit(Actor, actor_id)
    expected = _expected_version(actor)
    try:
        actor_rules.move_actor(actor, _live_parent(request.context.json.parent_id), expected)
        db.session.commit()
    except actor_rules.ActorError as error:
        raise _actor_error(error) from None
    return entry_answer(actor)


@bp.delete("/actors/<int:actor_id>")
@operation(tags=["directory"], errors=[403, 404], conditional=True, guard=_admin_for)
def actor_delete(actor_id):
    """Retire an actor (coordinators; restorable from its history); its parts first: 409."""
    actor = for_edit(Actor, actor_id)
    try:
        return _delete(actor, actor_rules.retire_actor)
    except actor_rules.ActorError as error:
        raise _actor_error(error) from None
