"""The database itself refuses data that would break the directory."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from directory.calltrees.rules import CallTreeError, add_node
from directory.core.extensions import db
from directory.core.models import (
    Actor,
    CallTree,
    CallTreeNode,
    ContactKind,
    ContactPoint,
    Mode,
    ModeState,
    Shift,
    UserRole,
)
from tests.conftest import make_actor, make_contact, make_person, make_role, make_user

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def insert(sql: str, **params) -> None:
    """Write with raw SQL, so only the database's own rules stand in the way."""
    db.session.execute(text(sql), params)
    db.session.flush()


def make_tree(name="Larmkedja", actor=None) -> CallTree:
    tree = CallTree(name=name, actor=actor, mode=Mode.ORDINARY, valid_from=date(2026, 12, 1))
    db.session.add(tree)
    db.session.flush()
    return tree


def test_contact_point_without_owner_is_refused(app):
    with pytest.raises(IntegrityError):
        insert(
            "INSERT INTO contact_point (kind, value, pin, label, mode, priority, weekdays,"
            " confidential, search_key, version, created_at, updated_at)"
            " VALUES ('mobile', '+46701740610', '', '', 'both', 1, 127, false, '', 1,"
            " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        )


def test_contact_point_with_two_owners_is_refused(app):
    actor = make_actor()
    role = make_role(actor)
    db.session.add(
        ContactPoint(kind=ContactKind.MOBILE, value="+46701740610", actor=actor, role=role)
    )
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_duplicate_slug_is_refused(app):
    make_actor("Haninge kommun")
    with pytest.raises(IntegrityError):
        make_actor("Haninge Kommun", slug="haninge-kommun")


def test_shift_ending_before_it_starts_is_refused(app):
    role = make_role(make_actor())
    person = make_person(role.actor)
    db.session.add(Shift(role=role, person=person, starts_at=NOW, ends_at=NOW - timedelta(hours=1)))
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_unknown_enum_value_is_refused_by_the_database(app):
    actor = make_actor()
    with pytest.raises(IntegrityError):
        insert("UPDATE actor SET kind = 'spaceship' WHERE id = :a", a=actor.id)


def test_call_tree_node_with_parent_in_another_tree_is_refused(app):
    role = make_role(make_actor())
    first, second = make_tree("A"), make_tree("B")
    parent = add_node(first, role)
    db.session.add(
        CallTreeNode(tree=second, parent_id=parent.id, parent_depth=0, depth=1, target_role=role)
    )
    with pytest.raises(IntegrityError):
        db.session.commit()  # the parent reference is checked at commit


def test_service_refuses_parent_from_another_tree(app):
    role = make_role(make_actor())
    first, second = make_tree("A"), make_tree("B")
    parent = add_node(first, role)
    with pytest.raises(CallTreeError):
        add_node(second, role, parent=parent)


def test_call_tree_cycle_is_refused(app):
    role = make_role(make_actor())
    tree = make_tree()
    top = add_node(tree, role)
    child = add_node(tree, role, parent=top)
    db.session.commit()
    # Make the top node a child of its own child: a cycle.
    top.parent_id, top.parent_depth, top.depth = child.id, child.depth, child.depth + 1
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_call_tree_node_cannot_be_its_own_parent(app):
    role = make_role(make_actor())
    tree = make_tree()
    node = add_node(tree, role)
    db.session.commit()
    node.parent_id, node.parent_depth, node.depth = node.id, 0, 1
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_call_tree_node_needs_exactly_one_target(app):
    actor = make_actor()
    tree = make_tree()
    db.session.add(CallTreeNode(tree=tree, target_actor=actor, target_role=make_role(actor)))
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_a_subtree_moves_within_one_transaction(app):
    role = make_role(make_actor())
    tree = make_tree()
    a = add_node(tree, role)
    b = add_node(tree, role)
    child = add_node(tree, role, parent=a)
    grandchild = add_node(tree, role, parent=child)
    db.session.commit()
    # Move `child` (with its own child) from under `a` to under `b`, deeper by 0.
    child.parent_id = b.id
    grandchild.parent_depth = child.depth
    db.session.commit()
    assert db.session.get(CallTreeNode, child.id).parent_id == b.id


def test_region_has_one_mode_state(app):
    db.session.add(ModeState(scope="region", mode=Mode.ORDINARY))
    db.session.flush()
    db.session.add(ModeState(scope="region", mode=Mode.ACTIVATED))
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_actor_mode_state_needs_its_actor(app):
    db.session.add(ModeState(scope="actor:1", actor_id=None, mode=Mode.ACTIVATED))
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_user_email_is_unique_and_lower_case(app):
    make_user("tib@example.org")
    with pytest.raises(IntegrityError):
        make_user("tib@example.org")


def test_user_email_in_upper_case_is_refused(app):
    with pytest.raises(IntegrityError):
        make_user("TiB@Example.org", role=UserRole.ADMIN)


def test_actor_cannot_be_its_own_parent(app):
    actor = make_actor()
    actor.parent_id = actor.id
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_stale_update_is_refused(app):
    """Two people read version 1; the second save fails instead of overwriting."""
    actor = make_actor()
    db.session.commit()
    assert actor.version == 1
    with Session(db.engine) as other_person:
        theirs = other_person.get(Actor, actor.id)
        theirs.name = "Haninge kommun (their edit)"
        other_person.commit()
    actor.notes = "my edit, based on version 1"
    with pytest.raises(StaleDataError):
        db.session.flush()


def test_times_come_back_timezone_aware_utc(app):
    """Stockholm times across both DST changes are stored and read back as the same UTC instants.

    An explicit zone, not the machine's (UTC here, which would convert nothing).
    """
    stockholm = ZoneInfo("Europe/Stockholm")
    role = make_role(make_actor())
    person = make_person(role.actor)
    cases = [
        # spring forward: 01:30 CET (+01) to 04:00 CEST (+02) is 1 h 30 min
        (datetime(2026, 3, 29, 1, 30, tzinfo=stockholm),
         datetime(2026, 3, 29, 4, 0, tzinfo=stockholm),
         datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 2, 0, tzinfo=UTC)),
        # fall back: the first 02:30 (CEST, +02) to the second 02:30 (CET, +01) is 1 h
        (datetime(2026, 10, 25, 2, 30, tzinfo=stockholm),
         datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=stockholm),
         datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC)),
    ]
    for starts, ends, _utc_start, _utc_end in cases:
        db.session.add(Shift(role=role, person=person, starts_at=starts, ends_at=ends))
    db.session.commit()
    db.session.expire_all()
    shifts = db.session.scalars(select(Shift).order_by(Shift.starts_at)).all()
    got = [(s.starts_at, s.ends_at) for s in shifts]
    assert got == [(utc_start, utc_end) for _s, _e, utc_start, utc_end in cases]
    assert all(moment.tzinfo is UTC for pair in got for moment in pair)
    # Compared field by field, not only as instants: the wall-clock UTC values themselves.
    assert [(a.hour, a.minute, b.hour, b.minute) for a, b in got] == [(0, 30, 2, 0),
                                                                      (0, 30, 1, 30)]
    assert [b - a for a, b in got] == [timedelta(hours=1, minutes=30), timedelta(hours=1)]


def test_naive_datetimes_are_refused(app):
    role = make_role(make_actor())
    person = make_person(role.actor)
    db.session.add(Shift(role=role, person=person, starts_at=datetime(2026, 1, 1),
                         ends_at=datetime(2026, 1, 2)))
    with pytest.raises(StatementError):
        db.session.flush()


def test_search_key_is_folded_for_search(app):
    person = make_person(make_actor(), name="Åsa Öberg", title="TiB")
    assert person.search_key == "asa oberg tib"
    person.name = "Örjan Ärlig"
    db.session.flush()
    assert person.search_key == "orjan arlig tib"


def test_contact_point_knows_its_owning_actor(app):
    actor = make_actor()
    role = make_role(actor)
    point = make_contact(role)
    assert point.owning_actor_id == actor.id
