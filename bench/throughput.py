"""Pages per second when the whole region looks up at once, beside a bare Flask app (issue 18).

Serves the app with gunicorn as production does (`gunicorn.conf.py`: sync
workers, each warmed up before its first request) on the kept region of
bench/search.py, and in the same run a bare Flask "hello" (bench/hello.py)
with the same settings; then drives each page with wrk (Debian's package)
over 8 connections, signed in as a viewer and as an editor of the actor
whose pages are asked for. Pages: the actor page, one of its duty roles, a
search for "tib <its place>" and a regional call tree of 31 steps (made in
the kept region when missing); each page is checked to be the signed-in page
before and after its run (wrk counts only 4xx and 5xx as errors). Prints
requests/s, p50 and p95 and the share of hello's requests/s, against the
bars of issue 18: >= 10 % of hello and p95 <= 50 ms.

    .venv/bin/python bench/throughput.py [--persons 50000] [--database-url URL]
        [--seconds 10] [--connections 8] [--workers 2]

Needs wrk (`apt-get install -y wrk`) and Redis on 127.0.0.1:6379 (the workers
share the sign-in limiter's counts there, as production's do). Exit status 1
when a page did not answer 200 to every request.
"""

import argparse
import http.client
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.setup import fill_kept_region, kept_database, make_app, viewer_and_editor  # noqa: E402
from directory.core.extensions import db  # noqa: E402
from directory.core.models import (  # noqa: E402
    Actor,
    ActorKind,
    CallTree,
    CallTreeNode,
    Mode,
    Person,
    Role,
)

LOOPBACK = "127.0.0.1"
VIEWER = "bench-throughput-viewer@example.org"
EDITOR = "bench-throughput-editor@example.org"
TREE = "Bench: regional call tree"
MIN_SHARE = 0.10  # of hello's requests per second
MAX_P95_MS = 50.0
WRK_SCRIPT = """
local cookie = os.getenv("KV_COOKIE") or ""
if cookie ~= "" then wrk.headers["Cookie"] = cookie end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("KVRESULT %d %d %d %d %f %f\\n", summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95)))
end
"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--data-dir", default="/work/bench-data", help="where SQLite files stay")
    parser.add_argument("--seconds", type=int, default=10, help="wrk's run per case")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--port", type=int, default=8611)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


# --- The region, the accounts and the pages ------------------------------------------


def _tree(actor: Actor) -> CallTree:
    """A regional tree of 31 steps: the actor's first role, then ten municipalities'
    first roles, each with two of that municipality's persons."""
    tree = db.session.scalar(select(CallTree).where(CallTree.name == TREE))
    if tree is not None:
        return tree
    tree = CallTree(name=TREE, actor_id=None, mode=Mode.ACTIVATED, valid_from=date.today())
    db.session.add(tree)
    db.session.flush()

    def step(parent, position, **target):
        node = CallTreeNode(tree_id=tree.id, position=position, **target,
                            parent_id=parent.id if parent else None,
                            parent_depth=parent.depth if parent else None,
                            depth=parent.depth + 1 if parent else 0)
        db.session.add(node)
        db.session.flush()
        return node

    first_role = lambda a: db.session.scalar(  # noqa: E731
        select(Role.id).where(Role.actor_id == a.id, Role.deleted_at.is_(None)).order_by(Role.id))
    root = step(None, 0, target_role_id=first_role(actor))
    others = db.session.scalars(
        select(Actor).where(Actor.kind == ActorKind.MUNICIPALITY, Actor.id != actor.id,
                            Actor.deleted_at.is_(None)).order_by(Actor.id).limit(10)).all()
    for i, other in enumerate(others):
        role = first_role(other)
        target = {"target_role_id": role} if role else {"target_actor_id": other.id}
        node = step(root, i, **target)
        persons = db.session.scalars(
            select(Person.id).where(Person.actor_id == other.id, Person.deleted_at.is_(None))
            .order_by(Person.id).limit(2)).all()
        for j, person in enumerate(persons):
            step(node, j, target_person_id=person)
    return tree


def prepare(database, exists: bool, args, password: str) -> dict:
    """Migrate, fill when new, make the accounts; the pages' paths."""
    app = make_app(database)
    with app.app_context():
        flask_migrate.upgrade()
        if not exists:
            region = fill_kept_region(args.persons, args.seed)
            print(f"Generated {region.made()} in {region.generate:.1f} s")
        actor = viewer_and_editor(VIEWER, EDITOR, password, "Bench throughput")
        role_id = db.session.scalar(
            select(Role.id).where(Role.actor_id == actor.id, Role.deleted_at.is_(None))
            .order_by(Role.id))
        tree = _tree(actor)
        db.session.commit()
        pages = {
            "actor page": f"/actors/{actor.slug}",
            "role page": f"/roles/{role_id}",
            "search": "/search?" + urlencode({"q": f"tib {actor.short_name or actor.name}"}),
            "call tree": f"/calltrees/{tree.id}",
        }
        persons = db.session.scalar(
            select(func.count()).select_from(Person)
            .where(Person.actor_id == actor.id, Person.deleted_at.is_(None)))
        label = f"{actor.name} ({persons} persons)"
        db.session.remove()
        db.engine.dispose()
    return {"pages": pages, "actor": label}


# --- Servers and clients --------------------------------------------------------------


def _answers(port: int, path: str) -> bool:
    try:
        connection = http.client.HTTPConnection(LOOPBACK, port, timeout=5)
        try:
            connection.request("GET", path)
            return connection.getresponse().status == 200
        finally:
            connection.close()
    except OSError:
        return False


def serve(target: str, port: int, env: dict, log: Path, ready: str, workers: int):
    with socket.socket() as probe:  # never measure someone else's server
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            raise SystemExit(f"Port {port} on {LOOPBACK} is in use; choose --port.") from None
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
               "--workers", str(workers), "--bind", f"{LOOPBACK}:{port}",
               "--access-logfile", os.devnull, "--control-socket", str(log) + ".ctl", target]
    with open(log, "wb") as out:  # our own interpreter and fixed arguments, no shell
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,  # noqa: S603
                                   stderr=subprocess.STDOUT)
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit(f"gunicorn for {target} exited; see {log}")
        if _answers(port, ready):
            return process
        time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"gunicorn for {target} did not answer {ready}; see {log}")


def stop(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def _request(port, method, path, cookies: dict, body: dict | None = None):
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    data = None
    if body is not None:
        data = urlencode(body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=data, headers=headers)
    response = connection.getresponse()
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        cookies[name.strip()] = rest.split(";", 1)[0]
    return response.status, response.read().decode("utf-8", "replace")


def sign_in(port: int, email: str, password: str) -> str:
    """The Cookie header of a signed-in session (the session cookie is `Secure` in
    production; browsers send it back to loopback, and so do we)."""
    cookies: dict = {}
    _status, page = _request(port, "GET", "/login", cookies)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if not token:
        raise SystemExit("no CSRF token on /login")
    status, _ = _request(port, "POST", "/login", cookies,
                         {"email": email, "password": password, "csrf_token": token[1]})
    if status != 302:
        raise SystemExit(f"signing in as {email} answered {status}")
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def check_page(port: int, path: str, cookie: str) -> None:
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
    connection.request("GET", path, headers={"Cookie": cookie})
    response = connection.getresponse()
    body = response.read().decode("utf-8", "replace")
    if response.status != 200 or 'name="password"' in body:
        raise SystemExit(f"{path} answered {response.status}, not the signed-in page")


def wrk(port: int, path: str, cookie: str, args, script: Path, seconds=None) -> dict:
    command = ["wrk", "-t2", f"-c{args.connections}", f"-d{seconds or args.seconds}s",
               "--timeout", "10s", "-s", str(script), f"http://{LOOPBACK}:{port}{path}"]
    done = subprocess.run(command, capture_output=True, text=True, check=True,  # noqa: S603
                          env={**os.environ, "KV_COOKIE": cookie})
    found = re.search(r"KVRESULT (\d+) (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+)", done.stdout)
    if not found:
        raise SystemExit(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    requests, duration, status_errors, socket_errors = map(int, found.groups()[:4])
    return {
        "rps": requests / (duration / 1e6),
        "p50": float(found[5]) / 1000,
        "p95": float(found[6]) / 1000,
        "bad": status_errors + socket_errors,
        "requests": requests,
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    database, exists = kept_database(args.database_url, args.data_dir, args.persons)
    password = secrets.token_urlsafe(16)
    built = prepare(database, exists, args, password)
    print(f"Database: {database.label}; {args.persons} persons; pages of {built['actor']}")
    env = {**os.environ, "APP_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(36),
           "DATABASE_URL": database.server_url, "RATELIMIT_STORAGE_URI": args.redis_url,
           "PYTHONUNBUFFERED": "1"}
    env.pop("WEB_CONCURRENCY", None)
    logs = Path(tempfile.mkdtemp(prefix="kvbench-throughput-"))
    script = logs / "report.lua"
    script.write_text(WRK_SCRIPT, encoding="utf-8")
    bad = []
    hello = serve("bench.hello:app", args.port + 1, env, logs / "hello.log", "/", args.workers)
    try:
        wrk(args.port + 1, "/", "", args, script, seconds=2)  # warm-up
        bare = wrk(args.port + 1, "/", "", args, script)
    finally:
        stop(hello)
    print(f"gunicorn, {args.workers} sync workers each, wrk -c{args.connections} for "
          f"{args.seconds} s per case; share = our requests/s over the bare app's. "
          f"Bars: share >= {MIN_SHARE:.0%}, p95 <= {MAX_P95_MS:g} ms.")
    header = (f"{'case':<30} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'share':>7} "
              f"{'result':>6}")
    print(header)
    print("-" * len(header))
    print(f"{'bare Flask hello':<30} {bare['rps']:>8.0f} {bare['p50']:>7.1f} "
          f"{bare['p95']:>7.1f} {'100%':>7} {'':>6}", flush=True)
    ours = serve("wsgi:app", args.port, env, logs / "app.log", "/healthz", args.workers)
    try:
        cookies = {"viewer": sign_in(args.port, VIEWER, password),
                   "editor": sign_in(args.port, EDITOR, password)}
        cases = [("/healthz", "healthz", "")]
        for name, path in built["pages"].items():
            for who, cookie in cookies.items():
                cases.append((path, f"{name}, {who}", cookie))
        for path, name, cookie in cases:
            if cookie:
                check_page(args.port, path, cookie)
            wrk(args.port, path, cookie, args, script, seconds=1)  # warm-up
            got = wrk(args.port, path, cookie, args, script)
            if cookie:  # wrk counts only 4xx/5xx as errors: a lost session would 302
                check_page(args.port, path, cookie)
            share = got["rps"] / bare["rps"]
            ok = got["bad"] == 0 and share >= MIN_SHARE and got["p95"] <= MAX_P95_MS
            if got["bad"]:
                bad.append(f"{name}: {got['bad']} of {got['requests']} requests failed")
            result = "" if name == "healthz" else ("PASS" if ok else "FAIL")
            print(f"{name:<30} {got['rps']:>8.0f} {got['p50']:>7.1f} {got['p95']:>7.1f} "
                  f"{share:>7.1%} {result:>6}", flush=True)
    finally:
        stop(ours)
    for line in bad:
        print(f"not 200: {line}")
    print(f"(server logs in {logs})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
