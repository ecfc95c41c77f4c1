"""Nothing confidential leaks: every page, file, feed and API read, crawled.

Every contact path of the demo region is marked confidential and every
bridge gets a PIN no other text could contain. Then every GET route of the
URL map is visited with real ids, as a viewer and as an editor of another
actor: pages, print views, PDFs (text extracted), vCards and ZIPs (every
member), CSVs, calendar feeds and API reads. None may contain any of those
numbers, addresses or PINs, except where DESIGN.md shows them on purpose:
numbers placed in a call tree, on that tree's page, PDF, vCards and drills,
and in the binder.

The crawl walks the URL map, so a new route is crawled without anyone
remembering to add it; a route whose arguments it cannot fill fails the
test until `ARGUMENT_VALUES` learns them.
"""

import html
import io
import json
import re
import zipfile
from dataclasses import dataclass, field

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from directory.callouts import rules as callouts
from directory.core.audit import ENTRY_TYPES
from directory.core.extensions import db
from directory.core.models import (
    PHONE_KINDS,
    Actor,
    CallOut,
    CallOutKind,
    CallTree,
    CollaborationPattern,
    ContactPoint,
    Override,
    Person,
    PrintRevision,
    Role,
    Rotation,
    Scenario,
    Shift,
    User,
    UserRole,
)
from directory.core.numbers import display_phone
from directory.operations.demo import load_demo
from directory.phones import calendars
from directory.printing import jobs as print_jobs
from directory.printing import views as printing
from tests.conftest import TODAY, make_actor, make_user

SEARCHES = ["tib", "haninge", "brygga", "konferens", "rakel", "växel", "stab", "mobil",
            "e-post", "adress", "samverkan", "rsk"]
# Every value of a list argument is tried on these pages, because that is where
# a forgotten rule showed up before (37 actor pages); elsewhere a sample.
CRAWL_EVERY_VALUE = {"lookup.actor", "lookup.role", "coordination.patterns"}
SAMPLE = 6
# Pages that show a call tree: the tree's numbers are shown on purpose.
TREE_PAGES = {"calltrees.show", "printing.tree_print", "printing.tree_pdf",
              "phones.calltree_vcard", "phones.calltree_zip"}
BINDER_PAGES = {"printing.binder_pdf", "printing.revision_pdf", "printing.print_job_pdf"}
# A call-out's pages show its tree's numbers, as the tree does.
CALLOUT_PAGES = {"callouts.show", "callouts.print_view", "callouts.log_csv", "callouts.log_pdf"}


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def searchable(text: str) -> str:
    """Text as a person reads it: unfolded, unescaped, whitespace collapsed."""
    text = re.sub(r"\r?\n[ \t]", "", text)  # vCard and iCalendar folding
    text = re.sub(r"\\([,;:\\])", r"\1", text)  # vCard and iCalendar escapes
    text = html.unescape(text)
    return " ".join(text.split())


@dataclass
class Secret:
    """One confidential value and the forms it could be printed in."""

    point_id: int
    forms: set[str]
    digit_form: str | None = None  # for numbers split oddly (PDF text, tel: links)


@dataclass
class Region:
    secrets: list[Secret]
    tree_points: dict[int, set[int]]  # tree id -> ids of the paths placed in it
    values: dict[str, list] = field(default_factory=dict)


def _secrets(points) -> list[Secret]:
    found = []
    for point in points:
        if point.kind in PHONE_KINDS:
            national = display_phone(point.value, "SE")
            forms = {point.value, national, national.replace(" ", "").replace("-", "")}
            found.append(Secret(point.id, forms, digits(national)[1:]))
        else:
            found.append(Secret(point.id, {point.value}))
        if point.pin:
            found.append(Secret(point.id, {point.pin}, digits(point.pin)))
    return found


def _tree_points(tree: CallTree) -> set[int]:
    ids = set()
    for node in tree.nodes:
        for target in [node.target, *(a.target for a in node.alternates)]:
            ids |= {p.id for p in target.contact_points}
    return ids


def _renumber_range_ends() -> None:
    """Move paths off 070-174 06 05 and 06 99: the demo's notes name the range by them."""
    points = db.session.scalars(select(ContactPoint)).all()
    used = {p.value for p in points}
    free = (f"+467017406{n:02d}" for n in range(6, 99) if f"+467017406{n:02d}" not in used)
    moved = {}
    for point in points:
        if point.value in ("+46701740605", "+46701740699"):
            point.value = moved.setdefault(point.value, next(free))
    db.session.flush()


@pytest.fixture
def region(app):
    """The demo region, every path confidential, with a drill, a revision and feeds."""
    load_demo(TODAY)
    _renumber_range_ends()
    for point in db.session.scalars(select(ContactPoint)):  # through the ORM: caches follow
        point.confidential = True
    bridges = db.session.scalars(select(ContactPoint).where(ContactPoint.pin != "")).all()
    for number, bridge in enumerate(bridges):
        bridge.pin = f"58{number:03d}913#"  # no other text could contain it
    admin = db.session.scalar(select(User).where(User.role == UserRole.ADMIN))
    trees = db.session.scalars(select(CallTree)).all()
    callouts.start_callout(trees[0], admin, title="Övning", kind=CallOutKind.DRILL)
    printing.record_revision(None, admin, None, None)
    db.session.commit()
    points = db.session.scalars(select(ContactPoint)).all()
    assert points and all(p.confidential for p in points)
    return Region(_secrets(points), {t.id: _tree_points(t) for t in trees})


def _ids(model, *where) -> list:
    return db.session.scalars(select(model.id).where(*where).order_by(model.id)).all()


def argument_values(persona_user: User) -> dict[str, list]:
    """Real values for every argument a GET route takes."""
    actors = db.session.scalars(select(Actor).order_by(Actor.id)).all()
    # Actors in patterns and trees first: where a forgotten rule shows most.
    actors.sort(key=lambda a: -len(a.contact_points))
    entries = [(kind, entry_id) for kind, model in sorted(ENTRY_TYPES.items())
               for entry_id in _ids(model)[:SAMPLE]]
    feeds = []
    if calendars.may_create(persona_user, calendars.PATTERNS):
        _token, secret = calendars.create_feed(persona_user, calendars.PATTERNS, "crawl")
        feeds.append(secret)
    # A binder revision printed for this persona by the print queue (run where it
    # is queued in tests): its job page and the PDF the job kept for them.
    job = print_jobs.queue().enqueue(
        print_jobs.build_revision, None, persona_user.id, None, None, "en",
        meta={"user_id": persona_user.id, "actor_id": None, "step": print_jobs.QUEUED})
    db.session.commit()
    return {
        "job_id": [job.id],
        "slug": [a.slug for a in actors],
        "scenario_slug": [s.slug for s in db.session.scalars(select(Scenario))],
        "actor_id": [a.id for a in actors],
        "person_id": _ids(Person),
        "role_id": _ids(Role),
        "point_id": _ids(ContactPoint),
        "tree_id": _ids(CallTree),
        "node_id": [n.id for t in db.session.scalars(select(CallTree)) for n in t.nodes],
        "pattern_id": _ids(CollaborationPattern),
        "scenario_id": _ids(Scenario),
        "callout_id": _ids(CallOut),
        "revision_id": _ids(PrintRevision),
        "user_id": _ids(User),
        "shift_id": _ids(Shift),
        "override_id": _ids(Override),
        "rotation_id": _ids(Rotation),
        "entries": entries,
        "token": feeds,
        "filename": ["app.css", "app.js"],
    }


def urls_for(app, values) -> list[tuple[str, str, dict]]:
    """(endpoint, url, view args) for every GET route, filled with real values."""
    found = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods:
                continue
            for args in _argument_sets(rule, values):
                url = url_for(rule.endpoint, **args)
                found.append((rule.endpoint, url, args))
                for extra in _variants(rule.endpoint, rule.rule, values):
                    found.append((rule.endpoint, url + extra, args))
    return found


def _argument_sets(rule, values) -> list[dict]:
    names = set(rule.arguments)
    if not names:
        return [{}]
    if names == {"entity_type", "entity_id"}:
        return [{"entity_type": kind, "entity_id": ident} for kind, ident in values["entries"]]
    if names == {"kind", "entry_id"}:
        by_kind = {"rotations": "rotation_id", "shifts": "shift_id", "overrides": "override_id"}
        return [{"kind": kind, "entry_id": ident}
                for kind, key in by_kind.items() for ident in values[key][:SAMPLE]]
    if names == {"kind", "role_id"}:
        return [{"kind": kind, "role_id": ident}
                for kind in ("rotations", "shifts", "overrides")
                for ident in values["role_id"][:2]]
    (name,) = names
    key = "scenario_slug" if rule.endpoint.startswith("coordination.scenario") else name
    if key not in values:
        pytest.fail(f"the crawl cannot fill <{name}> of {rule.rule}: teach ARGUMENT_VALUES")
    chosen = values[key] if rule.endpoint in CRAWL_EVERY_VALUE else values[key][:SAMPLE]
    return [{name: value} for value in chosen]


def _variants(endpoint: str, rule: str, values) -> list[str]:
    extra = []
    if rule.endswith(".vcf"):
        extra.append("?version=4.0")
    if rule.endswith(".csv"):
        extra.append("?format=excel")
    if endpoint.startswith("printing.") and endpoint != "printing.stylesheet":
        extra += ["?mode=ordinary", "?mode=activated"]
    if endpoint == "printing.binder_pdf":
        extra += [f"?actor={slug}" for slug in values["slug"][:SAMPLE]]
    if endpoint == "lookup.search_page":
        extra += [f"?q={q}" for q in SEARCHES] + [f"?q={q}&fragment=1" for q in SEARCHES[:3]]
    if endpoint == "api.search_directory":
        extra += [f"?q={q}" for q in SEARCHES]
    if endpoint.startswith("api.") and endpoint.endswith("s"):
        extra += ["?per_page=100", "?per_page=100&page=2"]
    if endpoint in ("lookup.role", "calltrees.show"):
        extra.append("?at=2026-12-24T03:00")
    return extra


def readable_text(response) -> str:
    """Everything a response carries, as text a person (or a phone) would read."""
    body = response.get_data()
    mimetype = response.mimetype or ""
    if mimetype == "application/pdf":
        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    if mimetype == "application/zip":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "\n".join(archive.read(name).decode("utf-8") for name in archive.namelist())
    if "json" in mimetype:
        return json.dumps(json.loads(body), ensure_ascii=False)
    return body.decode(response.mimetype_params.get("charset") or "utf-8")


# A stretch of text a number could be written in, split or spaced as it may be
# (PDF lines, "070-174 06 05", "+46 (0)70 …"); letters and other signs end it,
# so ids, dates and fields that merely stand side by side never run together.
_NUMBER_LIKE = re.compile(r"[0-9][0-9 ()+\-./]*")


def leaks(text: str, secrets: list[Secret], allowed: set[int]) -> list[str]:
    seen = searchable(text)
    seen_digits = " ".join(digits(run) for run in _NUMBER_LIKE.findall(seen))
    found = []
    for secret in secrets:
        if secret.point_id in allowed:
            continue
        for form in secret.forms:
            if form and form in seen:
                found.append(form)
        if secret.digit_form and secret.digit_form in seen_digits:
            found.append(secret.digit_form)
    return found


def allowed_points(region: Region, endpoint: str, args: dict, url: str) -> set[int]:
    """The paths DESIGN shows on purpose on this page."""
    if endpoint in TREE_PAGES:
        return region.tree_points.get(args.get("tree_id"), set())
    if endpoint == "api.call_tree":
        return region.tree_points.get(args.get("tree_id"), set())
    if endpoint in CALLOUT_PAGES:
        callout = db.session.get(CallOut, args["callout_id"])
        return region.tree_points.get(callout.call_tree_id, set())
    if endpoint in BINDER_PAGES:
        return set().union(*region.tree_points.values())
    return set()


@pytest.mark.one_database
@pytest.mark.parametrize("persona", ["viewer", "editor_of_other_actor"])
def test_no_confidential_number_anywhere(app, client, login_as, region, persona):
    if persona == "viewer":
        user = login_as(UserRole.VIEWER)
    else:
        user = login_as(UserRole.EDITOR, actors=[make_actor("Kontrollbolaget AB")])
    user = db.session.get(User, user.id)
    values = argument_values(user)
    problems, statuses = [], {}
    urls = urls_for(app, values)
    for endpoint, url, args in urls:
        response = client.get(url)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, f"{url} answered {response.status_code}"
        found = leaks(readable_text(response), region.secrets,
                      allowed_points(region, endpoint, args, url))
        if found:
            problems.append(f"{url}: {sorted(set(found))[:4]}")
    assert not problems, f"{len(problems)} leaking answers:\n" + "\n".join(problems[:40])
    # The crawl read real content, not a wall of refusals.
    assert statuses.get(200, 0) > len(urls) // 2, statuses


def test_the_crawl_finds_a_leak(app, client, login_as, region):
    """The crawl itself can fail: a page that prints a hidden number is caught."""
    for secret in region.secrets:
        for form in secret.forms:
            assert form in leaks(f"<p>{html.escape(form)}</p>", region.secrets, set())
    everything = {secret.point_id for secret in region.secrets}
    assert not leaks("070-174 06 51 246810#", region.secrets, everything)
    # A number split over lines in a PDF, or written as a tel: link, is still caught.
    assert leaks("070-174\n06 05 tel:+46701740605", [Secret(1, set(), "701740605")], set())
    # Digits of fields that merely stand side by side (ids, REV stamps) are not a number.
    assert not leaks("REV:20261206T165800Z\nX-ID:19;13", [Secret(1, set(), "58001913")], set())
    assert not leaks("nothing here", region.secrets, set())


@pytest.mark.parametrize("persona", ["viewer", "editor_of_other_actor"])
def test_no_confidential_number_in_any_address_book(app, client, region, persona):
    """CardDAV: every book a device of this persona sees, whole, read as a phone would."""
    import base64

    from directory.accounts.devices import create_device_password
    from directory.carddav.books import books_of

    if persona == "viewer":
        user = make_user("crawl-viewer@example.org")
    else:
        user = make_user("crawl-editor@example.org", role=UserRole.EDITOR,
                         actors=[make_actor("Kontrollbolaget AB")])  # fmt: skip
    _device, secret = create_device_password(user, "crawl")
    db.session.commit()
    raw = base64.b64encode(f"{user.email}:{secret}".encode()).decode()
    headers = {"Authorization": f"Basic {raw}"}
    books = books_of(user)
    assert any(b.tree_id for b in books)
    # A few cards a page: the directory is read as a phone reads a large one,
    # page by page (`carddav.paging`), each page under the same rules.
    app.config["CARDDAV_PAGE_CARDS"] = 25
    problems = []
    for book in books:
        url = f"/dav/{user.email}/{book.name}/"
        body = (
            '<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:" '
            'xmlns:card="urn:ietf:params:xml:ns:carddav"><d:sync-token/>'
            "<d:sync-level>1</d:sync-level><d:prop><d:getetag/><card:address-data/>"
            "</d:prop></d:sync-collection>"
        )
        for response in (client.get(url, headers=headers),
                         client.open(url, method="REPORT", data=body,
                                     headers={**headers, "Depth": "1"})):  # fmt: skip
            assert response.status_code in (200, 207), url
            text = response.get_data(as_text=True)
            assert "BEGIN:VCARD" in text
            allowed = region.tree_points.get(book.tree_id, set()) if book.tree_id else set()
            found = leaks(text, region.secrets, allowed)
            if found:
                problems.append(f"{url}: {sorted(set(found))[:4]}")
    assert not problems, "\n".join(problems)
