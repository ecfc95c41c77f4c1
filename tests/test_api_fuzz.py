"""Schemathesis against the live API: no 5xx, every answer as described.

The app is served by Werkzeug on a free local port, a small directory is
seeded, and `st run` (schemathesis 4) generates requests from
/api/v1/openapi.json as a coordinator with a bearer token: valid and invalid
bodies, parameters and headers, for every operation, writes included. The
run fails on any server error, any status code, content type or header the
description does not list, and any body that does not match its schema.
It fails when an operation of the description never answered with success
(2xx or 304) in the whole run: the run must reach every operation, as a
coordinator (admin) who may use each. It also fails when schemathesis warns
that it could not reach an operation (every answer a 401 or 403:
`missing_auth`) or that an operation refused most of the data meant to be
valid (`validation_mismatch`, `low_valid_rate`): see FAIL_ON_WARNINGS.
It is bounded: a fixed number of examples per operation and a fixed seed
(about 4,600 requests, 45-200 s), and a hard time limit.
"""

import json
import os
import re
import subprocess
import sys
import threading
import time as clock
from datetime import date, time, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text as sa_text
from werkzeug.serving import WSGIRequestHandler, make_server

from directory.accounts import credentials
from directory.api.spec import document
from directory.calltrees.rules import add_node
from directory.core.extensions import db
from directory.core.models import (
    CallTree,
    CallTreeNode,
    CollaborationPattern,
    ContactKind,
    ContactPoint,
    Mode,
    ModeState,
    Override,
    PathMode,
    PatternParticipant,
    Phase,
    Rotation,
    RotationMember,
    Scenario,
    ScenarioMeasure,
    Shift,
    UserRole,
    utcnow,
)
from tests.conftest import make_actor, make_contact, make_person, make_role, make_user
from tests.schemathesis_hooks import ID_FIELDS, KEPT, LIST_FIELDS

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
])
MAX_EXAMPLES = 12
SEED = 20261127
# Warnings that fail the run: an operation not reached (every answer a 401 or
# 403), a description it cannot use, or an operation that refused most of the
# data schemathesis meant to be valid, leaving the logic behind it untested
# (`validation_mismatch`: every positive case of a phase refused;
# `low_valid_rate`: under a fifth accepted). What JSON Schema cannot say (the
# end after the start, a value that suits its kind, ids that name entries) is
# mended in tests/schemathesis_hooks.py by the app's own rules.
# (`missing_test_data` is shown, not failing: a delete that found its entry
# already gone in one phase answers 404 repeatedly on one database and not on
# the other; whether every operation answered with success at least once is
# checked below, which is the reach that matters.)
FAIL_ON_WARNINGS = ["missing_auth", "unresolvable_reference", "unsupported_regex",
                    "validation_mismatch", "low_valid_rate"]
SHOWN_WARNINGS = [*FAIL_ON_WARNINGS, "missing_test_data"]


def dictionaries() -> str:
    """The run's dictionaries: bodies name the kept entries (KEPT) most of the
    time, and random ids otherwise."""
    lines = ["[dictionaries]"]
    lines += [f"{name} = {{ values = {json.dumps(values)} }}" for name, values in KEPT.items()]
    lines += ["", "[parameters]", '"header.If-Match" = "*"']
    fields = {**ID_FIELDS, "target": "targets"}
    lines += [f'"body.{field}" = {{ dictionary = "{kept}", probability = 0.9 }}'
              for field, kept in fields.items()]
    lines += [f'"body.{field}[*]" = {{ dictionary = "{kept}", probability = 0.9 }}'
              for field, kept in LIST_FIELDS.items()]
    # An actor moves under another actor (a step's parent is a step).
    lines += ["", "[[operations]]", 'include-path = "/actors/{actor_id}/move"',
              'parameters = { "body.parent_id" = { dictionary = "actors", probability = 0.9 } }']
    return "\n".join(lines) + "\n"


TIME_LIMIT = 600  # seconds: a guard against a hang; alone it takes ~30 s, beside
# another xdist worker on a loaded 2-core machine it has taken over 100 s


def restart_ids() -> None:
    """Ids from 1 again, as on a fresh database.

    The bodies name seeded entries by id (KEPT). Every test empties the
    tables, but PostgreSQL's sequences go on counting from the tests this
    worker ran before (SQLite starts again at the highest id in use + 1).
    """
    if db.engine.dialect.name != "postgresql":
        return
    for table in db.metadata.sorted_tables:
        for column in table.primary_key.columns:
            if column.autoincrement is True or (
                    column.autoincrement == "auto" and len(table.primary_key.columns) == 1):
                db.session.execute(
                    sa_text("SELECT setval(pg_get_serial_sequence(:t, :c), 1, false)"),
                    {"t": table.name, "c": column.name})
    db.session.commit()


def seed_directory():
    """Two actors with persons, roles, paths of every sort, schedules, a tree, a pattern."""
    restart_ids()
    haninge = make_actor("Haninge kommun", short_name="HK")
    police = make_actor("Polisen Södertörn", kind="police", level="local")
    asa = make_person(haninge, "Åsa Öberg", title="Säkerhetssamordnare")
    bo = make_person(haninge, "Bo Ek")
    tib = make_role(haninge)
    vb = make_role(police, "Vakthavande befäl", "VB")
    # Entries the run keeps (KEPT): the run's deletes try low ids (the coverage
    # phase id 1, the schema's minimum; fuzzing small numbers), so bodies name these.
    make_role(haninge, "Krisledning", "KL", id=9003)
    make_person(haninge, "Cilla Ek", id=9003)
    make_person(haninge, "Dan Ek", id=9004)
    make_person(police, "Eva Polis", id=9005)  # the police cannot be retired
    make_contact(tib, "+46701740610", label="TiB 24/7")
    make_contact(tib, "+46701740611", mode=PathMode.ACTIVATED, priority=2)
    make_contact(asa, "+46701740675", confidential=True, label="Privat")
    make_contact(asa, "asa@example.org", kind=ContactKind.EMAIL)
    make_contact(haninge, "+4687000000", kind=ContactKind.SWITCHBOARD)
    make_contact(haninge, "112", kind=ContactKind.LANDLINE, label="Nödnummer")
    make_contact(police, "https://polisen.example", kind=ContactKind.WEB)
    make_contact(vb, "+46701740612", available_from=time(8), available_until=time(17))
    rotation = Rotation(role=tib, starts_on=date(2026, 1, 5))
    rotation.members = [RotationMember(person=asa, position=0),
                        RotationMember(person=bo, position=1)]
    now = utcnow()
    scenario = Scenario(slug="sno", name="Trafikstörningar p.g.a. snö/halka", goal="Framkomlighet")
    scenario.measures = [ScenarioMeasure(phase=Phase.PREPARATORY, position=1, text="Förbered"),
                         ScenarioMeasure(phase=Phase.HANDLING, position=1, text="Samverka")]
    db.session.add_all([
        rotation, scenario,
        Shift(role=tib, person=bo, starts_at=now, ends_at=now + timedelta(hours=8)),
        Override(role=tib, person=asa, starts_at=now + timedelta(days=1),
                 ends_at=now + timedelta(days=2), reason="Semester"),
    ])
    db.session.flush()
    pattern = CollaborationPattern(
        name="Samverkanskonferens", convener_actor=haninge, convener_role=tib,
        mode=PathMode.ACTIVATED, scenario=scenario, starts_on=date(2026, 1, 1),
        recurrence="FREQ=DAILY;BYHOUR=9,15;BYMINUTE=0",
        participants=[PatternParticipant(actor=police)],
    )
    db.session.add(pattern)
    db.session.flush()
    db.session.add(ContactPoint(pattern=pattern, kind=ContactKind.BRIDGE, value="+46701740699",
                                pin="1234"))
    tree = CallTree(name="Larmkedja snö", actor=haninge, mode=Mode.ACTIVATED,
                    scenario=scenario, valid_from=date(2026, 11, 1))
    db.session.add(tree)
    db.session.flush()
    top = add_node(tree, tib, escalate_after_minutes=5, alternates=[(asa, 10)])
    add_node(tree, vb, parent=top)
    add_node(tree, police, parent=top)
    # Kept by the run (KEPT).
    kept_scenario = Scenario(id=9002, slug="storm", name="Storm")
    kept = CallTree(id=9002, name="Larmkedja ordinarie", actor=haninge, mode=Mode.ORDINARY,
                    valid_from=date(2026, 11, 1))
    db.session.add_all([kept_scenario, kept])
    db.session.flush()
    add_node(kept, tib, alternates=[(asa, 5)], node=CallTreeNode(id=9004))
    db.session.add(ModeState(scope="region", mode=Mode.ACTIVATED, reason="Snöstorm",
                             scenario=scenario))
    # A coordinator may use every operation (the mode switch too); what editors
    # and viewers may not do is the permission tests' matter.
    admin = make_user("admin@example.org", role=UserRole.ADMIN)
    db.session.flush()
    _token, secret = credentials.create_api_token(admin, "schemathesis")
    db.session.commit()
    return secret


class QuietHandler(WSGIRequestHandler):
    """Thousands of requests: no line in the log for each."""

    def log(self, *args):
        pass


@pytest.fixture
def live_server(app):
    """The app on 127.0.0.1 and a free port, for as long as the test runs."""
    server = make_server("127.0.0.1", 0, app, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def write_config(workdir):
    """schemathesis.toml: the warnings above shown and failing the run.

    Writes are sent with `If-Match: *` (any version): an arbitrary tag is a
    stale one, so generated tags would test only the 412 answer (which
    tests/test_api*.py check) and never the write behind it. Ids in bodies
    are mostly those of the seeded entries (`KEPT`): a random id names
    nothing, and what a body may name (a person of the role's actor) is not a
    thing a schema can say.
    """
    config = workdir / "schemathesis.toml"
    shown = ", ".join(f'"{name}"' for name in SHOWN_WARNINGS)
    failing = ", ".join(f'"{name}"' for name in FAIL_ON_WARNINGS)
    config.write_text(f"[warnings]\ndisplay = [{shown}]\nfail-on = [{failing}]\n\n"
                      + dictionaries())
    return config


def run_schemathesis(base_url: str, secret: str, report, workdir) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(write_config(workdir)),
        "run", f"{base_url}/api/v1/openapi.json",
        "--url", f"{base_url}/api/v1",
        "--header", f"Authorization: Bearer {secret}",
        "--checks", CHECKS,
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--workers", "1",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--generation-database", "none",
        "--request-timeout", "10",
        "--no-color",
        "--report", "ndjson", "--report-ndjson-path", str(report),
    ]
    # In a scratch directory: schemathesis keeps a cache (.schemathesis/) where it runs.
    # Our own interpreter and arguments, hence the S603 waiver on the call line.
    environment = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks",
                   "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, capture_output=True, text=True, timeout=TIME_LIMIT,  # noqa: S603
                          check=False, cwd=workdir, env=environment)


def answers_by_operation(report, document) -> dict[str, dict[int, int]]:
    """For each operation of the description, how often it answered each status."""
    patterns = []
    for path, item in document["paths"].items():
        regex = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path)) + "$"
        for method in item:
            patterns.append((method.upper(), re.compile(regex), f"{method.upper()} {path}"))
    answers = {label: {} for _method, _regex, label in patterns}
    for line in report.read_text().splitlines():
        for name, payload in json.loads(line).items():
            if not (name.endswith("ScenarioFinished") and isinstance(payload, dict)):
                continue
            interactions = (payload.get("recorder") or {}).get("interactions") or {}
            for interaction in interactions.values():
                if interaction.get("response") is None:
                    continue
                request = interaction["request"]
                path = urlsplit(request["uri"]).path.removeprefix("/api/v1")
                for method, regex, label in patterns:
                    if method == request["method"] and regex.match(path):
                        status = interaction["response"]["status_code"]
                        answers[label][status] = answers[label].get(status, 0) + 1
                        break
    return answers


def count_cases(report) -> int:
    """How many requests schemathesis made, from its ndjson event log."""
    cases = 0
    for line in report.read_text().splitlines():
        event = json.loads(line)
        for name, payload in event.items():
            if name.endswith("ScenarioFinished") and isinstance(payload, dict):
                recorder = payload.get("recorder") or {}
                cases += len(recorder.get("interactions") or {})
    return cases


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(app, live_server, tmp_path):
    secret = seed_directory()
    report = tmp_path / "events.ndjson"
    started = clock.monotonic()
    result = run_schemathesis(live_server, secret, report, tmp_path)
    took = clock.monotonic() - started
    # A run that could not start (a bad configuration) writes no report: its output says why.
    assert report.exists(), result.stdout[-5000:] + result.stderr[-5000:]
    cases = count_cases(report)
    print(f"schemathesis: {cases} requests in {took:.1f} s")
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert cases > 1000, result.stdout[-5000:]  # the seed makes it about 2,600
    with app.test_request_context():
        answers = answers_by_operation(report, document())
    # The description itself is what the run loads first (a failing load fails it).
    answers.pop("GET /openapi.json")
    unreached = {label: codes for label, codes in answers.items()
                 if not any(200 <= code < 300 or code == 304 for code in codes)}
    assert not unreached, f"never answered with success: {unreached}"
