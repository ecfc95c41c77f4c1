"""Locust users for `bench/load.py`: duty officers who look things up, editors who edit.

Not meant to be run on its own: `load.py` builds the database and the servers and
hands this file what it needs through environment variables:

- `BENCH_DATA`: a JSON file with the accounts and the samples (places, names,
  numbers in national form, actor slugs, role ids, the persons the editors keep);
- `BENCH_HOSTS`: the app servers, comma-separated (`http://127.0.0.1:PORT,...`);
  each user is given one of them in turn, so the users are spread evenly;
- `BENCH_EXPORTS`: the export paths that answered when the run started (may be empty);
- `BENCH_RESULT`: where to write what locust's own statistics do not hold (edit
  conflicts, requests per server, status codes, failed sign-ins);
- `BENCH_THINK`: the pause between a user's actions, "MIN-MAX" seconds.

Every user signs in once, at start, through the real form (GET for the CSRF token,
POST). A failed sign-in counts as a failure and ends that user: from one address
five failures in 15 minutes would lock every user out.

Editors edit a person's title through the form: GET it (CSRF token and version),
pause as a person typing would, POST it back. A 409 (someone else saved the same
person in between) is the app working as designed: it is counted apart, not as
a failure, and the editor saves again once, as the conflict page invites.
"""

import itertools
import json
import math
import os
import random
import time
from collections import Counter, defaultdict
from html.parser import HTMLParser

from locust import HttpUser, between, events, task
from locust.exception import StopUser
from requests.cookies import RequestsCookieJar

with open(os.environ["BENCH_DATA"], encoding="utf-8") as _f:
    DATA = json.load(_f)
HOSTS = [h for h in os.environ.get("BENCH_HOSTS", "").split(",") if h]
EXPORTS = [p for p in os.environ.get("BENCH_EXPORTS", "").split(",") if p]
THINK = tuple(float(x) for x in os.environ.get("BENCH_THINK", "0.5-2.5").split("-"))
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}

_host_turn = itertools.count()
_viewer_turn = itertools.count()
_editor_turn = itertools.count()

# What locust's statistics do not show, written to BENCH_RESULT at the end.
RESULT = {
    "conflicts": 0,  # 409 on saving a person: expected with concurrent editors
    "resaved_after_conflict": 0,
    "edits_saved": 0,
    "sign_ins": 0,
    "sign_in_failures": [],
    "per_host": Counter(),
    "statuses": defaultdict(Counter),
}


class LoopbackCookieJar(RequestsCookieJar):
    """Send `Secure` cookies back to the loopback address, as browsers do.

    The production config marks the session cookie `Secure` (the app is meant to
    sit behind TLS). Browsers treat http://127.0.0.1 as a secure context and send
    such cookies back; Python's cookie jar does not, so without this every user
    would be signed out again right after signing in. (A cookie policy would not
    do: requests copies the cookies into a plain jar for every request.)
    """

    def set_cookie(self, cookie, *args, **kwargs):
        if cookie.domain in LOOPBACK:
            cookie.secure = False
        return super().set_cookie(cookie, *args, **kwargs)


class FormParser(HTMLParser):
    """The fields of every <form> on a page: inputs, textareas, selected options."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"_action": a.get("action") or "", "_method": a.get("method", "get")}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            if a.get("type") in ("submit", "button"):
                return
            self._form[a["name"]] = a.get("value") or ""
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._form[self._textarea] = ""
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
        elif (
            tag == "option" and self._select and ("selected" in a or self._select not in self._form)
        ):
            self._form[self._select] = a.get("value", "")

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None


def form_with(page: str, *fields: str) -> dict | None:
    """The first form on the page that has all these fields."""
    parser = FormParser()
    parser.feed(page)
    for form in parser.forms:
        if all(f in form for f in fields):
            return form
    return None


class BenchUser(HttpUser):
    abstract = True
    wait_time = between(*THINK)

    def __init__(self, environment):
        if HOSTS:  # spread the users over the app servers, one server per user
            self.host = HOSTS[next(_host_turn) % len(HOSTS)]
        super().__init__(environment)
        self.client.cookies = LoopbackCookieJar()
        self.rng = random.Random()

    # --- helpers ------------------------------------------------------------

    def get(self, path, name, expect=200, contains=None, **kwargs):
        with self.client.get(
            path, name=name, catch_response=True, allow_redirects=False, **kwargs
        ) as r:
            self._count(name, r)
            if r.status_code == 0:  # the connection closed before a whole answer
                r.failure(f"no complete answer for {path}: {r.error!r}")
            elif r.status_code != expect:
                r.failure(f"{r.status_code} (expected {expect}) for {path}")
            elif contains and contains not in r.text:
                r.failure(f"{path}: the answer lacks {contains!r}")
            else:
                r.success()
            return r

    def _count(self, name, response):
        RESULT["per_host"][self.host] += 1
        RESULT["statuses"][name][response.status_code] += 1

    def sign_in(self, email, password):
        r = self.get("/login", "login: form")
        form = form_with(r.text, "csrf_token", "email")
        if r.status_code != 200 or form is None:
            RESULT["sign_in_failures"].append(f"{email}: /login answered {r.status_code}")
            raise StopUser()
        form.update(email=email, password=password)
        data = {k: v for k, v in form.items() if not k.startswith("_")}
        with self.client.post(
            "/login", data=data, name="login: post", allow_redirects=False, catch_response=True
        ) as r:
            self._count("login: post", r)
            if r.status_code == 302 and "/login" not in r.headers.get("Location", ""):
                r.success()
                RESULT["sign_ins"] += 1
                return
            r.failure(f"sign-in as {email} answered {r.status_code}")
            RESULT["sign_in_failures"].append(f"{email}: POST /login answered {r.status_code}")
        raise StopUser()

    # --- what a duty officer does -------------------------------------------

    def search_name(self):
        name = self.rng.choice(DATA["names"])
        words = name.split()
        query = name if self.rng.random() < 0.6 else words[-1]  # full name, or surname
        self.get("/search", "search: name", params={"q": query.lower()}, contains=words[-1])

    def search_place_tib(self):
        place = self.rng.choice(DATA["places"])
        self.get(
            "/search", "search: place tib", params={"q": f"{place.lower()} tib"}, contains=place
        )

    def search_number(self):
        number = self.rng.choice(DATA["numbers"])
        self.get("/search", "search: number", params={"q": number}, contains=number)

    def actor_page(self, slug=None):
        self.get(f"/actors/{slug or self.rng.choice(DATA['slugs'])}", "actor page")

    def role_page(self):
        self.get(f"/roles/{self.rng.choice(DATA['roles'])}", "role page")

    def healthz(self):
        self.get("/healthz", "healthz", contains='"ok"')


class DutyOfficer(BenchUser):
    """A viewer: mostly searches and actor pages, now and then who is on call."""

    weight = 9

    def on_start(self):
        account = DATA["viewers"][next(_viewer_turn) % len(DATA["viewers"])]
        self.sign_in(account["email"], account["password"])
        self.get("/", "home")  # where signing in lands

    @task(22)
    def t_search_place_tib(self):
        self.search_place_tib()

    @task(18)
    def t_search_name(self):
        self.search_name()

    @task(15)
    def t_search_number(self):
        self.search_number()

    @task(20)
    def t_actor_page(self):
        self.actor_page()

    @task(12)
    def t_role_page(self):
        self.role_page()

    @task(2)
    def t_home(self):
        self.get("/", "home")

    @task(3)
    def t_healthz(self):
        self.healthz()

    @task(2)
    def t_export(self):
        """An actor's cards now and then; the whole directory (50 000+ cards) rarely."""
        actor = [p for p in EXPORTS if "{slug}" in p]
        whole = [p for p in EXPORTS if "{slug}" not in p]
        if whole and (not actor or self.rng.random() < 0.1):
            self.get(whole[0], "export: directory vcf")
        elif actor:
            self.get(actor[0].format(slug=self.rng.choice(DATA["slugs"])), "export: actor vcf")
        else:
            self.search_place_tib()


class Editor(BenchUser):
    """An actor's editor: keeps titles current, looks at own actor, searches."""

    weight = 1

    def on_start(self):
        account = DATA["editors"][next(_editor_turn) % len(DATA["editors"])]
        self.sign_in(account["email"], account["password"])
        self.get("/", "home")

    @task(6)
    def edit_title(self):
        person_id = self.rng.choice(DATA["editor_persons"])
        path = f"/persons/{person_id}/edit"
        r = self.get(path, "edit person: form")
        if r.status_code != 200:
            return
        form = form_with(r.text, "csrf_token", "version", "title")
        if form is None:
            r.failure(f"{path}: no form with csrf_token, version and title")
            return
        time.sleep(self.rng.uniform(1.0, 4.0))  # typing (gevent-patched: yields)
        for attempt in range(2):
            form["title"] = f"{self.rng.choice(DATA['titles'])} {self.rng.randint(1, 999)}"
            data = {k: v for k, v in form.items() if not k.startswith("_")}
            name = "edit person: save" if attempt == 0 else "edit person: save again"
            with self.client.post(
                path, data=data, name=name, allow_redirects=False, catch_response=True
            ) as r:
                self._count(name, r)
                if r.status_code == 302:
                    r.success()
                    RESULT["edits_saved"] += 1
                    if attempt:
                        RESULT["resaved_after_conflict"] += 1
                    return
                if r.status_code == 409 and attempt == 0:
                    r.success()  # expected behaviour, counted apart
                    RESULT["conflicts"] += 1
                    fresh = form_with(r.text, "csrf_token", "version", "title")
                    if fresh is None:
                        r.failure(f"{path}: 409 without the form to save again")
                        return
                    form = fresh
                    time.sleep(self.rng.uniform(0.5, 1.5))  # reads what the other changed
                    continue
                if r.status_code == 409:
                    r.success()
                    RESULT["conflicts"] += 1
                    return
                r.failure(f"POST {path} answered {r.status_code}")
                return

    @task(2)
    def own_actor(self):
        self.actor_page(self.rng.choice(DATA["editor_slugs"]))

    @task(2)
    def search(self):
        self.rng.choice((self.search_place_tib, self.search_name, self.search_number))()


_RAW: dict[str, list[float]] = defaultdict(list)  # response times (ms) per request type
_ENVIRONMENT = {}


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile of exact response times."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else float("nan")


@events.init.add_listener
def _keep_environment(environment, **_kwargs):
    _ENVIRONMENT["env"] = environment


@events.request.add_listener
def _record(name, response_time, **_kwargs):
    _RAW[name].append(response_time)
    _RAW["Aggregated"].append(response_time)


@events.quit.add_listener
def _write_result(exit_code, **_kwargs):
    """Everything load.py prints, once every user has stopped (locust's CSV is
    written on a timer and can miss the last requests)."""
    path = os.environ.get("BENCH_RESULT")
    if not path:
        return
    stats = _ENVIRONMENT["env"].stats
    rows = []
    for entry in [*sorted(stats.entries.values(), key=lambda e: e.name), stats.total]:
        times = _RAW.get(entry.name, [])
        rows.append(
            {
                "name": entry.name,
                "method": entry.method,
                "requests": entry.num_requests,
                "failures": entry.num_failures,
                "p50": percentile(times, 50),
                "p95": percentile(times, 95),
                "p99": percentile(times, 99),
                "max": entry.max_response_time,
                "rps": entry.total_rps,
                "recorded": len(times),
            }
        )
    result = dict(RESULT)
    result["exit_code"] = exit_code
    result["stats"] = rows
    result["errors"] = [
        {"method": e.method, "name": e.name, "error": str(e.error), "occurrences": e.occurrences}
        for e in stats.errors.values()
    ]
    result["per_host"] = dict(RESULT["per_host"])
    result["statuses"] = {
        name: {str(status): n for status, n in counts.items()}
        for name, counts in RESULT["statuses"].items()
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
