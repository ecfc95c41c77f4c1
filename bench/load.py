"""Load and soak: locust against gunicorn on PostgreSQL, one and two app servers.

Builds a schema of its own in PostgreSQL, fills it with the synthetic national-
scale region (`directory.operations.synth`), creates viewers and editors, then for one app
server and for two (two gunicorn masters on two ports, sharing the database and
one Redis for login throttling) starts gunicorn with the production settings,
runs locust headless against it on 127.0.0.1, samples the RSS of every gunicorn
worker every 10 s, and prints requests, failures, p50/p95/p99 latency per
request type, requests/s and worker memory in the first and the last minute.
Everything it started is stopped, and the schema dropped, at the end.

    .venv/bin/python bench/load.py [--persons 50000] [--users 50] [--minutes 5] [--servers 1|2|both]

The exit status is 0 only when every run had no failure, no 5xx, and flat memory.
"""

import argparse
import json
import math
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import redis  # noqa: E402
import requests  # noqa: E402
from requests.cookies import RequestsCookieJar  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.setup import Database, build_region, fresh_database, make_app  # noqa: E402
from directory.accounts.users import create_user  # noqa: E402
from directory.core.extensions import db  # noqa: E402
from directory.core.models import (  # noqa: E402
    Actor,
    ActorKind,
    ContactKind,
    ContactPoint,
    Person,
    Role,
    UserRole,
)
from directory.core.numbers import display_phone  # noqa: E402
from directory.operations.synth import TITLES  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
LOCUSTFILE = ROOT / "bench" / "locustfile.py"
LOOPBACK = "127.0.0.1"
# Exports someone else is building; used only if they answer when a run starts.
EXPORT_PATHS = ("/export/directory.vcf", "/export/actors/{slug}.vcf")
# Workers per server: README, "Production": `gunicorn --workers 4 ...`.
README_WORKERS = 4
SAMPLE_SECONDS = 10
FLAT_PERCENT = 10.0  # last-minute mean RSS within this of the first-minute mean
MIB = 1024 * 1024


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--persons", type=int, default=50_000, help="size of the synthetic region")
    p.add_argument("--users", type=int, default=50, help="concurrent locust users")
    p.add_argument("--spawn-rate", type=float, default=10, help="users started per second")
    p.add_argument("--minutes", type=float, default=5, help="length of each run")
    p.add_argument("--servers", choices=("1", "2", "both"), default="both")
    p.add_argument(
        "--workers",
        type=int,
        default=README_WORKERS,
        help=f"gunicorn workers per server (README's production: {README_WORKERS})",
    )
    p.add_argument(
        "--think", default="0.5-2.5", help="pause between one user's actions, MIN-MAX seconds"
    )
    p.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="PostgreSQL database to make a schema in (dropped afterwards)",
    )
    p.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/13",
        help="Redis database for login throttling; flushed before and after",
    )
    p.add_argument("--port", type=int, default=8611, help="first port; the second server +1")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep-logs", action="store_true", help="keep the log directory")
    args = p.parse_args(argv)
    for url in (args.database_url, args.redis_url):
        if urlsplit(url).hostname not in (LOOPBACK, "localhost"):
            p.error(f"{url}: only services on 127.0.0.1 are used")
    if args.minutes < 2:
        p.error("--minutes must be at least 2 (first and last minute are compared)")
    return args


# --- Processes we start, and stop ---------------------------------------------------

STARTED: list[subprocess.Popen] = []


def _terminate(proc: subprocess.Popen, grace: float) -> None:
    """SIGTERM one process we started (and, for gunicorn, its workers), then SIGKILL."""
    if proc.poll() is not None:
        return
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        children = []
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    _gone, alive = psutil.wait_procs(children, timeout=5)
    for child in alive:  # psutil checks the pid still is that process
        with suppress(psutil.Error):
            child.kill()


def stop_all() -> None:
    while STARTED:
        _terminate(STARTED.pop(), grace=20)


def _on_sigterm(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")


# --- Database, data and accounts ----------------------------------------------------


def build(database: Database, args, data_path: Path) -> dict:
    """Schema, synthetic region, accounts and the samples the locust users draw from."""
    app = make_app(database)
    rng = random.Random(args.seed)
    n_editors = max(1, math.ceil(args.users / 10))
    # The card cache is rendered as `flask cards rebuild` does after a bulk load: the
    # region is bulk-inserted, so the flush hook that keeps it did not run.
    region = build_region(app, args.persons, args.seed, cards=True)
    print(f"Generated {region.made()} in {region.generate:.0f} s")
    print(f"Rendered {region.cache_rows} cached vCards in {region.render:.0f} s "
          "(flask cards rebuild)")
    with app.app_context():
        places = db.session.scalars(
            select(Actor.short_name).where(Actor.kind == ActorKind.MUNICIPALITY)
        ).all()
        slugs = db.session.scalars(select(Actor.slug).where(Actor.deleted_at.is_(None))).all()
        roles = db.session.scalars(select(Role.id).where(Role.deleted_at.is_(None))).all()
        names = db.session.scalars(
            select(Person.name)
            .where(Person.deleted_at.is_(None))
            .order_by(func.random())
            .limit(3000)
        ).all()
        region = app.config["DEFAULT_REGION"]
        numbers = [
            display_phone(v, region)
            for v in db.session.scalars(
                select(ContactPoint.value)
                .where(
                    ContactPoint.kind.in_((ContactKind.MOBILE, ContactKind.LANDLINE)),
                    ContactPoint.confidential.is_(False),
                    ContactPoint.deleted_at.is_(None),
                )
                .order_by(func.random())
                .limit(3000)
            )
        ]
        # The editors' actors: three with enough people, the same for every editor,
        # so two editors now and then save the same person (409).
        staffed = db.session.execute(
            select(Person.actor_id, func.count())
            .where(Person.deleted_at.is_(None))
            .group_by(Person.actor_id)
            .having(func.count() >= 10)
            .order_by(Person.actor_id)
        ).all()
        actor_ids = rng.sample([a for a, _ in staffed], 3)
        editor_actors = db.session.scalars(select(Actor).where(Actor.id.in_(actor_ids))).all()
        persons = db.session.scalars(
            select(Person.id)
            .where(Person.actor_id.in_(actor_ids), Person.deleted_at.is_(None))
            .order_by(Person.id)
        ).all()

        def account(kind, i, role, **kw):
            email, password = f"bench-{kind}-{i}@example.org", secrets.token_urlsafe(18)
            create_user(email, password, role, name=f"Bench {kind} {i}", **kw)
            return {"email": email, "password": password}

        viewers = [account("viewer", i, UserRole.VIEWER) for i in range(args.users)]
        editors = [
            account("editor", i, UserRole.EDITOR, actors=editor_actors) for i in range(n_editors)
        ]
        probe = account("probe", 0, UserRole.VIEWER)
        db.session.commit()
        data = {
            "places": places,
            "slugs": slugs,
            "roles": roles,
            "names": names,
            "numbers": numbers,
            "titles": list(TITLES),
            "viewers": viewers,
            "editors": editors,
            "editor_slugs": [a.slug for a in editor_actors],
            "editor_persons": rng.sample(persons, min(30, len(persons))),
            "probe": probe,
        }
        print(
            f"Accounts: {len(viewers)} viewers, {len(editors)} editors of "
            f"{', '.join(a.name for a in editor_actors)} "
            f"(they edit {len(data['editor_persons'])} of their {len(persons)} persons)"
        )
        db.session.remove()
        db.engine.dispose()
    data_path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    data_path.chmod(0o600)
    return data


# --- Servers ------------------------------------------------------------------------


class LoopbackCookieJar(RequestsCookieJar):
    """Send the `Secure` session cookie back to 127.0.0.1, as browsers do (see locustfile)."""

    def set_cookie(self, cookie, *args, **kwargs):
        if cookie.domain == LOOPBACK:
            cookie.secure = False
        return super().set_cookie(cookie, *args, **kwargs)


def start_servers(n: int, args, app_url: str, logs: Path, tag: str) -> list[dict]:
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(36),  # 48 characters, shared by the servers
        "DATABASE_URL": app_url,
        "RATELIMIT_STORAGE_URI": args.redis_url,
        "PYTHONUNBUFFERED": "1",
    }
    servers = []
    for i in range(n):
        port = args.port + i
        with socket.socket() as probe_socket:  # never load someone else's server
            # as gunicorn binds: a port the last run's server left in TIME_WAIT is
            # free, one with a live listener is not (Linux refuses that bind still)
            probe_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe_socket.bind((LOOPBACK, port))
            except OSError:
                raise SystemExit(f"Port {port} on {LOOPBACK} is in use; choose --port.") from None
        log = logs / f"{tag}-gunicorn-{port}.log"
        cmd = [
            str(VENV_BIN / "gunicorn"),
            "--workers",
            str(args.workers),
            "--bind",
            f"{LOOPBACK}:{port}",
            "--access-logfile",
            str(logs / f"{tag}-access-{port}.log"),
            "--access-logformat",
            "%(s)s %(m)s %(U)s %(M)s",
            "--error-logfile",
            "-",
            "--graceful-timeout",
            "10",
            # Two masters on one machine would share the default control socket
            # (~/.gunicorn/gunicorn.ctl); give each its own.
            "--control-socket",
            str(logs / f"gunicorn-{port}.ctl"),
            "wsgi:app",
        ]
        with open(log, "wb") as out:  # our fixed command line, no shell
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        STARTED.append(proc)
        servers.append(
            {
                "proc": proc,
                "port": port,
                "url": f"http://{LOOPBACK}:{port}",
                "log": log,
                "access": logs / f"{tag}-access-{port}.log",
            }
        )
    for server in servers:
        wait_healthy(server)
    return servers


def wait_healthy(server: dict, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server["proc"].poll() is not None:
            raise SystemExit(
                f"gunicorn on port {server['port']} exited ({server['proc'].returncode}); "
                f"see {server['log']}:\n{server['log'].read_text(errors='replace')[-3000:]}"
            )
        health = server["url"] + "/healthz"  # http://127.0.0.1:PORT, built here
        with suppress(OSError), urllib.request.urlopen(health, timeout=5) as r:  # noqa: S310
            workers = psutil.Process(server["proc"].pid).children()
            if r.status == 200 and len(workers) >= 1:
                return
        time.sleep(0.5)
    raise SystemExit(f"gunicorn on port {server['port']} did not answer /healthz in {timeout} s")


def probe(server: dict, data: dict, exports: list[str] | None) -> list[str]:
    """Sign in once through the form, check the pages answer; which exports exist.

    The exports are looked for once, before the first run, so every run has the
    same mix; `exports` is what was found then (None: look now).
    """
    session = requests.Session()
    session.trust_env = False
    session.cookies = LoopbackCookieJar()
    base = server["url"]
    page = session.get(base + "/login", timeout=30).text
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if match is None:
        raise SystemExit(f"No CSRF token on {base}/login; stopping.")
    token = match[1]
    r = session.post(
        base + "/login",
        data={"csrf_token": token, **data["probe"]},
        allow_redirects=False,
        timeout=30,
    )
    if r.status_code != 302:
        raise SystemExit(f"Signing in through {base}/login answered {r.status_code}; stopping.")
    r = session.get(base + f"/actors/{data['slugs'][0]}", allow_redirects=False, timeout=30)
    if r.status_code != 200:
        raise SystemExit(f"An actor page answered {r.status_code} after signing in; stopping.")
    if exports is not None:
        print(f"  exports in the mix (as found before the first run): {exports or 'none'}")
        return exports
    exports = []
    for path in EXPORT_PATHS:
        concrete = path.format(slug=data["slugs"][0])
        started = time.perf_counter()
        r = session.get(base + concrete, allow_redirects=False, timeout=120)
        took = time.perf_counter() - started
        if r.status_code == 404:
            print(f"  export {path}: 404, not built yet: left out of the mix")
        else:
            print(
                f"  export {path}: {r.status_code} in {took:.1f} s, "
                f"{len(r.content)} bytes: included"
            )
            exports.append(path)
    return exports


# --- Memory --------------------------------------------------------------------------


class MemorySampler(threading.Thread):
    """RSS of every worker (the children of each gunicorn master) every 10 s.

    Also the CPU time used over the run by the workers, PostgreSQL and locust,
    and the whole machine's, to tell what the latency is made of on a small box.
    """

    def __init__(self, servers: list[dict]):
        super().__init__(daemon=True)
        self.masters = [psutil.Process(s["proc"].pid) for s in servers]
        self.ports = {m.pid: s["port"] for m, s in zip(self.masters, servers, strict=True)}
        self.samples: list[tuple[float, int, int, int]] = []  # (t, port, worker pid, rss)
        self.cpu: dict[str, dict[int, list[float]]] = {}  # group -> pid -> [first, last]
        self.locust_pid: int | None = None
        self.stopping = threading.Event()
        self.started_at = time.monotonic()
        self.machine = (psutil.cpu_times(), None)

    def _cpu(self, group: str, proc: psutil.Process) -> None:
        with suppress(psutil.Error):
            times = proc.cpu_times()
            used = times.user + times.system
            self.cpu.setdefault(group, {}).setdefault(proc.pid, [used, used])[1] = used

    def run(self):
        self.started_at = time.monotonic()
        self.machine = (psutil.cpu_times(), None)
        while True:
            t = time.monotonic() - self.started_at
            for master in self.masters:
                with suppress(psutil.Error):
                    for worker in master.children():
                        with suppress(psutil.Error):
                            rss = worker.memory_info().rss
                            self.samples.append((t, self.ports[master.pid], worker.pid, rss))
                        self._cpu("gunicorn workers", worker)
            for proc in psutil.process_iter(["name"]):
                if proc.info["name"] in ("postgres", "postmaster"):
                    self._cpu("PostgreSQL", proc)
            if self.locust_pid:
                with suppress(psutil.Error):
                    self._cpu("locust", psutil.Process(self.locust_pid))
            self.machine = (self.machine[0], psutil.cpu_times())
            if self.stopping.wait(SAMPLE_SECONDS):
                return

    def stop(self):
        self.stopping.set()
        self.join(timeout=30)

    def cpu_line(self) -> str:
        start, end = self.machine
        if end is None:
            return "CPU: not sampled"
        wall = sum(end) - sum(start)  # CPU seconds of all cores together
        cores = os.cpu_count() or 1
        busy = (
            1
            - (end.idle + getattr(end, "iowait", 0) - start.idle - getattr(start, "iowait", 0))
            / wall
        )
        seconds = wall / cores
        used = {g: sum(b - a for a, b in pids.values()) / seconds for g, pids in self.cpu.items()}
        other = busy * cores - sum(used.values())
        parts = ", ".join(f"{g} {c:.2f}" for g, c in used.items())
        return (
            f"CPU between the first and last sample: machine {busy * 100:.0f} % busy of "
            f"{cores} cores; in cores: {parts}, anything else {other:.2f}"
        )

    def report(self) -> dict:
        if not self.samples:
            return {"ok": False, "lines": ["no memory samples"]}
        end = max(t for t, *_ in self.samples)
        first = [s for s in self.samples if s[0] <= 60]
        last = [s for s in self.samples if s[0] >= end - 60]

        def mean_rss(samples, key=None):
            rows = [s for s in samples if key is None or (s[1], s[2]) == key]
            return sum(s[3] for s in rows) / len(rows) / MIB if rows else float("nan")

        def mean_sum(samples):
            by_t: dict[float, float] = {}
            for t, _port, _pid, rss in samples:
                by_t[t] = by_t.get(t, 0) + rss
            return sum(by_t.values()) / len(by_t) / MIB

        keys = sorted({(s[1], s[2]) for s in self.samples})
        first_keys = {(s[1], s[2]) for s in first}
        last_keys = {(s[1], s[2]) for s in last}
        lines = [f"  {'worker':<18} {'first minute':>13} {'last minute':>12} {'change':>8}"]
        for key in keys:
            if key in first_keys and key in last_keys:
                a, b = mean_rss(first, key), mean_rss(last, key)
                label = f"{key[0]} pid {key[1]}"
                lines.append(
                    f"  {label:<18} {a:>9.1f} MiB {b:>8.1f} MiB {(b - a) / a * 100:>+6.1f} %"
                )
        a, b = mean_sum(first), mean_sum(last)
        change = (b - a) / a * 100
        ok = abs(change) <= FLAT_PERCENT
        lines.append(f"  {'sum of workers':<18} {a:>9.1f} MiB {b:>8.1f} MiB {change:>+6.1f} %")
        per_minute = []
        for minute in range(max(1, round(end / 60))):
            window = [s for s in self.samples if minute * 60 <= s[0] < (minute + 1) * 60]
            if window:
                per_minute.append(f"{mean_sum(window):.0f}")
        lines.append(f"  summed RSS, mean per minute: {', '.join(per_minute)} MiB")
        replaced = len(keys) - len(first_keys & last_keys)
        if first_keys != last_keys:
            ok = False
            lines.append(
                f"  workers replaced during the run: {len(keys)} worker processes seen, "
                f"{len(first_keys - last_keys)} of the first minute's gone by the last; "
                f"{replaced} not in both minutes (gunicorn restarts a worker it killed: "
                "see WORKER TIMEOUT in its log); the comparison says nothing about leaks"
            )
        lines.append(
            f"  memory {'FLAT' if ok else 'NOT FLAT'} (threshold: the mean of the summed worker "
            f"RSS over the last minute within {FLAT_PERCENT:.0f} % of the first minute's, "
            f"same workers; {len({s[0] for s in first})} and {len({s[0] for s in last})} "
            f"samples, every {SAMPLE_SECONDS} s)"
        )
        return {"ok": ok, "lines": lines, "first": a, "last": b, "change": change}


# --- A run ----------------------------------------------------------------------------


def run_locust(args, servers, data_path, exports, logs, tag, sampler):
    prefix = logs / f"{tag}-locust"
    result_path = logs / f"{tag}-result.json"
    seconds = int(args.minutes * 60)
    env = {
        **os.environ,
        "BENCH_DATA": str(data_path),
        "BENCH_HOSTS": ",".join(s["url"] for s in servers),
        "BENCH_EXPORTS": ",".join(exports),
        "BENCH_RESULT": str(result_path),
        "BENCH_THINK": args.think,
    }
    cmd = [
        str(VENV_BIN / "locust"),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        str(args.users),
        "-r",
        str(args.spawn_rate),
        "--run-time",
        f"{seconds}s",
        "--host",
        servers[0]["url"],
        "--csv",
        str(prefix),
        "--only-summary",
        "--stop-timeout",
        "15",
        "--loglevel",
        "WARNING",
    ]
    log = logs / f"{tag}-locust.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    STARTED.append(proc)
    sampler.locust_pid = proc.pid
    try:
        proc.wait(timeout=seconds + 15 + 120)
    except subprocess.TimeoutExpired:
        print("locust did not end in time; stopping it")
    _terminate(proc, grace=20)
    STARTED.remove(proc)
    if not result_path.exists():
        raise SystemExit(f"locust wrote no result; see {log}:\n{log.read_text()[-3000:]}")
    return json.loads(result_path.read_text())


def server_side(servers) -> dict:
    """Statuses from the access logs, and tracebacks in gunicorn's log."""
    statuses: dict[str, int] = {}
    slowest = []
    for s in servers:
        if s["access"].exists():
            for line in s["access"].read_text(errors="replace").splitlines():
                parts = line.split()
                if len(parts) >= 4:
                    statuses[parts[0]] = statuses.get(parts[0], 0) + 1
                    with suppress(ValueError):
                        slowest.append((int(parts[3]), parts[1], parts[2]))
    tracebacks, excerpts = 0, []
    for s in servers:
        log = s["log"].read_text(errors="replace")
        tracebacks += log.count("Traceback (most recent call last)")
        for marker in (
            "Traceback (most recent call last)",
            "WORKER TIMEOUT",
            "[CRITICAL]",
            "[ERROR]",
        ):
            at = log.find(marker)
            if at >= 0:
                excerpts.append(f"{s['log']}:\n{log[max(0, at - 300) : at + 4000]}")
                break
    slowest.sort(reverse=True)
    return {
        "statuses": dict(sorted(statuses.items())),
        "tracebacks": tracebacks,
        "excerpts": excerpts,
        "slowest": slowest[:3],
    }


def print_run(title, args, servers, result, memory, side) -> dict:
    print()
    print("=" * 78)
    print(title)
    print("=" * 78)
    header = (
        f"{'request type':<24} {'requests':>8} {'failures':>8} {'p50 ms':>7} "
        f"{'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'req/s':>6}"
    )
    print(header)
    print("-" * len(header))
    total = None
    for row in result["stats"]:
        name = "overall" if row["name"] == "Aggregated" else row["name"]
        if name == "overall":
            total = row
            print("-" * len(header))
        print(
            f"{name:<24} {row['requests']:>8} {row['failures']:>8} {row['p50']:>7.0f} "
            f"{row['p95']:>7.0f} {row['p99']:>7.0f} {row['max']:>7.0f} {row['rps']:>6.1f}"
        )
    requests_n = total["requests"] if total else 0
    failures_n = total["failures"] if total else -1
    print("(client-side latency, exact, nearest-rank percentiles; req/s over the whole run)")
    print()
    print(
        f"Requests: {requests_n}; failures: {failures_n}"
        f"{'' if failures_n == 0 else '  <-- MUST BE 0'}"
    )
    for e in result.get("errors", []):
        print(f"  failure: {e['occurrences']} x {e['method']} {e['name']}: {e['error']}")
    for sign_in in result.get("sign_in_failures", []):
        print(f"  sign-in failed: {sign_in}")
    print(f"Sign-ins: {result.get('sign_ins', '?')} of {args.users} users (real form, CSRF)")
    print(
        f"Edits: {result.get('edits_saved', '?')} saved; {result.get('conflicts', '?')} "
        f"conflicts (409, expected with concurrent editors, not failures); "
        f"{result.get('resaved_after_conflict', '?')} saved again after one"
    )
    if len(servers) > 1:
        spread = ", ".join(
            f"{h.rsplit(':', 1)[1]}: {n}" for h, n in sorted(result.get("per_host", {}).items())
        )
        print(f"Requests per server (port: requests): {spread}")
    five = sum(n for s, n in side["statuses"].items() if s.startswith("5"))
    print(
        f"Server side (gunicorn access logs): statuses {side['statuses']}; 5xx: {five}; "
        f"tracebacks in gunicorn's log: {side['tracebacks']}"
    )
    if side["slowest"]:
        print(
            "Slowest requests (server time): "
            + "; ".join(f"{m} {u} {t} ms" for t, m, u in side["slowest"])
        )
    for excerpt in side["excerpts"]:
        print("--- from gunicorn's log " + "-" * 50)
        print(excerpt)
        print("-" * 74)
    print(f"Worker memory (RSS of {args.workers} workers per server, every {SAMPLE_SECONDS} s):")
    for line in memory["lines"]:
        print(line)
    return {
        "title": title.split(":")[0],
        "requests": requests_n,
        "failures": failures_n,
        "p95": f"{total['p95']:.0f}" if total else "?",
        "rps": total["rps"] if total else 0.0,
        "conflicts": result.get("conflicts", 0),
        "five": five,
        "tracebacks": side["tracebacks"],
        "memory": memory,
        "ok": failures_n == 0
        and five == 0
        and side["tracebacks"] == 0
        and memory["ok"]
        and not result.get("sign_in_failures"),
    }


def one_run(n_servers, args, app_url, data, data_path, logs, found: dict) -> dict:
    tag = f"{n_servers}server"
    flush_redis(args.redis_url)
    what = "One app server" if n_servers == 1 else f"{n_servers} app servers"
    print()
    print(
        f"{what}: starting gunicorn ({args.workers} workers each, APP_ENV=production, "
        f"Redis {args.redis_url}) ..."
    )
    servers = start_servers(n_servers, args, app_url, logs, tag)
    try:
        exports = found["exports"] = probe(servers[0], data, found.get("exports"))
        sampler = MemorySampler(servers)
        sampler.start()
        print(
            f"{what}: locust, {args.users} users (+{args.spawn_rate:g}/s), {args.minutes:g} min, "
            f"{', '.join(s['url'] for s in servers)} ..."
        )
        try:
            result = run_locust(args, servers, data_path, exports, logs, tag, sampler)
        finally:
            sampler.stop()
    finally:
        for s in servers:
            _terminate(s["proc"], grace=20)
            STARTED.remove(s["proc"])
    ports = ", ".join(str(s["port"]) for s in servers)
    title = (
        f"{what}: gunicorn x{n_servers} on 127.0.0.1 ({ports}), {args.workers} workers each; "
        f"{args.users} users, {args.minutes:g} min"
    )
    memory = sampler.report()
    memory["lines"].append("  " + sampler.cpu_line())
    return print_run(title, args, servers, result, memory, server_side(servers))


def flush_redis(url: str) -> None:
    client = redis.Redis.from_url(url, socket_timeout=5)
    client.flushdb()  # only the database number in the URL
    client.close()


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    counts = {"1": [1], "2": [2], "both": [1, 2]}[args.servers]
    logs = Path(tempfile.mkdtemp(prefix="kv-load-"))
    summary, ok = [], False
    print(
        f"Load and soak: {args.persons} persons, {args.users} users, {args.minutes:g} min per "
        f"run, {counts} app server(s), {args.workers} workers each on {os.cpu_count()} cores; "
        f"logs in {logs}"
    )
    try:
        with fresh_database(args.database_url, "kvload") as database:
            app_url = database.server_url
            print(f"Schema {database.schema} in {args.database_url}")
            data_path = logs / "data.json"
            data = build(database, args, data_path)
            found: dict = {}
            for n in counts:
                summary.append(one_run(n, args, app_url, data, data_path, logs, found))
        ok = bool(summary) and all(r["ok"] for r in summary)
    finally:
        stop_all()
        with suppress(Exception):
            flush_redis(args.redis_url)
        if summary:
            print()
            print("Summary")
            for r in summary:
                m = r["memory"]
                mem = "memory n/a"
                if "first" in m:
                    mem = (
                        f"worker RSS {m['first']:.0f} -> {m['last']:.0f} MiB "
                        f"({m['change']:+.1f} %, {'flat' if m['ok'] else 'NOT flat'})"
                    )
                print(
                    f"  {r['title']}: {r['requests']} requests, {r['failures']} errors, "
                    f"p95 {r['p95']} ms, {r['rps']:.1f} req/s, {r['conflicts']} edit conflicts "
                    f"(409), {r['five']} 5xx; {mem}"
                )
        if ok and not args.keep_logs:
            shutil.rmtree(logs, ignore_errors=True)
        else:
            print(f"Logs kept in {logs}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
