"""Whole-directory vCard export against Radicale: speed, and memory while streaming.

Builds a fresh database (a temporary SQLite file, or a schema of its own on
PostgreSQL that is dropped at the end), fills it with `directory.operations.synth`,
renders the card cache (`card_cache.rebuild_all()`, what `flask cards rebuild`
does after a bulk load), and then, in the same run:

1. serves the app with gunicorn on loopback, signs in as a viewer through
   /login and times `GET /export/directory.vcf` to the last byte;
2. puts exactly the cards that answer held into Radicale's own file store (one
   .vcf per card in an address book), serves it with Radicale on loopback and
   times `GET` of the address book collection (all its cards, one body);
3. measures the memory of streaming the export in-process with tracemalloc,
   for a small region (about 1 000 cards) and the large one, to show it flat.

Both servers get one untimed request first (Radicale builds its item cache on
the first read), then `--runs` timed ones; best and median are printed, and
the ratio of the medians.

    .venv/bin/python bench/vcard_export.py [--persons 91000] [--small 910] [--runs 3]
        [--database-url postgresql://...] [--uncached]
"""

import argparse
import base64
import gc
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import delete  # noqa: E402

from bench.setup import Region, build_region, fresh_database, make_app  # noqa: E402
from directory.accounts.users import create_user  # noqa: E402
from directory.core.extensions import db  # noqa: E402
from directory.core.models import UserRole, VCardCache  # noqa: E402

VIEWER_EMAIL = "bench-viewer@example.org"
CARD_START = b"BEGIN:VCARD\r\n"
ADDRESS_BOOK = "/bench/contacts/"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=91_000,
                        help="persons in the large region (91 000 give about 100 000 cards)")
    parser.add_argument("--small", type=int, default=910,
                        help="persons in the small region of the memory check (about 1 000 cards)")
    parser.add_argument("--runs", type=int, default=3, help="timed requests per server")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic region")
    parser.add_argument("--uncached", action="store_true",
                        help="also time our export with the card cache emptied (vobject per card)")
    return parser.parse_args(argv)


# --- Databases and the app ---------------------------------------------------------


def build(app, persons: int, seed: int, password: str) -> Region:
    """Schema, synthetic region, rendered cards and a viewer."""
    region = build_region(app, persons, seed, cards=True)
    with app.app_context():
        create_user(VIEWER_EMAIL, password, UserRole.VIEWER, name="Bench viewer")
        db.session.commit()
    return region


def sign_in_test_client(client, password: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]
    response = client.post("/login", data={"email": VIEWER_EMAIL, "password": password,
                                           "csrf_token": token})  # fmt: skip
    if response.status_code != 302:
        raise RuntimeError(f"/login answered {response.status_code}")


def streaming_memory(app, password: str) -> dict:
    """Peak Python memory (tracemalloc) while the export streams, in-process."""
    client = app.test_client()
    sign_in_test_client(client, password)
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get("/export/directory.vcf", buffered=False)
    size = cards = 0
    for chunk in response.response:
        size += len(chunk)
        cards += chunk.count(CARD_START)
    response.close()
    seconds = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"cards": cards, "bytes": size, "peak": peak, "seconds": seconds}


# --- Servers on loopback --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()  # noqa: S310 - our loopback URL
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def our_server(database: dict) -> Iterator[str]:
    """The app under gunicorn (one sync worker), as in production."""
    port = free_port()
    env = {**os.environ, "APP_ENV": "development", "DATABASE_URL": database.server_url,
           "SECRET_KEY": secrets.token_urlsafe(32), "PYTHONPATH": str(ROOT)}  # fmt: skip
    gunicorn = Path(sys.executable).parent / "gunicorn"
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [str(gunicorn), "--workers", "1", "--bind", f"127.0.0.1:{port}", "--timeout", "900",
         "--log-level", "warning", "wsgi:app"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/healthz", process)
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def radicale_server(store: Path) -> Iterator[str]:
    """Radicale with its own file store, no TLS, any password (owner-only rights)."""
    port = free_port()
    config = store / "radicale.conf"
    config.write_text(
        "[server]\n"
        f"hosts = 127.0.0.1:{port}\n"
        "timeout = 900\n"
        "[auth]\ntype = none\n"
        "[rights]\ntype = owner_only\n"
        f"[storage]\nfilesystem_folder = {store / 'collections'}\n"
        "[web]\ntype = none\n"
        "[logging]\nlevel = warning\n"
    )
    process = subprocess.Popen([sys.executable, "-m", "radicale", "--config", str(config)],  # noqa: S603
                               cwd=store)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/", process)
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def fill_radicale(store: Path, cards: list[bytes]) -> None:
    """One .vcf file per card in an address book of user `bench`, as Radicale keeps them."""
    book = store / "collections" / "collection-root" / "bench" / "contacts"
    book.mkdir(parents=True)
    (book / ".Radicale.props").write_text(json.dumps({"tag": "VADDRESSBOOK"}))
    for number, card in enumerate(cards):
        (book / f"{number:06d}.vcf").write_bytes(card)


def sign_in_http(base: str, password: str):
    """An opener with our session cookie, signed in through the /login form."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]
    form = urllib.parse.urlencode({"email": VIEWER_EMAIL, "password": password,
                                   "csrf_token": token}).encode()  # fmt: skip
    opener.open(f"{base}/login", data=form).read()
    return opener


def fetch(opener, url: str, headers=None, keep: bool = False) -> tuple[float, int, int, bytes]:
    """Seconds to the last byte, bytes, cards (and the body when `keep`)."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback
    started = time.perf_counter()
    parts, size, cards, tail = [], 0, 0, b""
    with opener.open(request, timeout=900) as response:
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")
        while chunk := response.read(1 << 20):
            size += len(chunk)
            window = tail + chunk
            cards += window.count(CARD_START) - tail.count(CARD_START)
            tail = window[-len(CARD_START):]
            if keep:
                parts.append(chunk)
    return time.perf_counter() - started, size, cards, b"".join(parts)


def timed(opener, url: str, runs: int, headers=None) -> dict:
    first = fetch(opener, url, headers)  # untimed: warms caches
    times = [fetch(opener, url, headers)[0] for _ in range(runs)]
    return {"times": times, "best": min(times), "median": statistics.median(times),
            "bytes": first[1], "cards": first[2], "warmup": first[0]}


def split_cards(body: bytes) -> list[bytes]:
    return [CARD_START + part for part in body.split(CARD_START)[1:]]


def worker_peak_rss(master_pid: int) -> int | None:
    """The gunicorn worker's peak resident memory (VmHWM), in bytes, where /proc has it."""
    try:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
        status = Path(f"/proc/{children[0]}/status").read_text()
    except (OSError, IndexError):
        return None
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match[1]) * 1024 if match else None


# --- The run ----------------------------------------------------------------------------


def mib(n: float) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def main(argv=None) -> int:
    args = parse_args(argv)
    password = secrets.token_urlsafe(16)
    memory = {}
    with fresh_database(args.database_url, "kvvcard_small") as small:
        app = make_app(small)
        built = build(app, args.small, args.seed, password)
        memory["small"] = streaming_memory(app, password)
        with app.app_context():
            db.engine.dispose()
        print(f"Small region: {memory['small']['cards']} cards "
              f"(generated in {built.generate:.1f} s)")

    with fresh_database(args.database_url, "kvvcard_large") as large, \
            tempfile.TemporaryDirectory(prefix="kv-radicale-") as radicale_dir:  # fmt: skip
        print(f"Database: {large.label}")
        app = make_app(large)
        built = build(app, args.persons, args.seed, password)
        print(f"Generated {built.made()} in {built.generate:.1f} s")
        print(f"Rendered the card cache ({built.cache_rows} rows) in {built.render:.1f} s")
        memory["large"] = streaming_memory(app, password)

        with our_server(large) as (base, process):
            opener = sign_in_http(base, password)
            rss_before = worker_peak_rss(process.pid)
            url = f"{base}/export/directory.vcf"
            _seconds, _size, _cards, body = fetch(opener, url, keep=True)
            ours = timed(opener, url, args.runs)
            ours["worker_peak_rss"] = (rss_before, worker_peak_rss(process.pid))
        our_cards = split_cards(body)
        del body

        store = Path(radicale_dir)
        started = time.perf_counter()
        fill_radicale(store, our_cards)
        fill_seconds = time.perf_counter() - started
        auth = {"Authorization": "Basic " + base64.b64encode(b"bench:bench").decode()}
        with radicale_server(store) as (base, _process):
            opener = urllib.request.build_opener()
            url = f"{base}{ADDRESS_BOOK}"
            _seconds, _size, _cards, radicale_body = fetch(opener, url, auth, keep=True)
            radicale = timed(opener, url, args.runs, auth)
        same = sorted(split_cards(radicale_body)) == sorted(our_cards)
        del radicale_body
        shutil.rmtree(store / "collections", ignore_errors=True)

        uncached = None
        if args.uncached:
            with app.app_context():
                db.session.execute(delete(VCardCache))
                db.session.commit()
            with our_server(large) as (base, _process):
                opener = sign_in_http(base, password)
                uncached = fetch(opener, f"{base}/export/directory.vcf")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

    print()
    print(f"Cards served: ours {ours['cards']} ({mib(ours['bytes'])}), "
          f"Radicale {radicale['cards']} ({mib(radicale['bytes'])}); "
          f"the same cards: {'yes' if same else 'NO'}")
    print(f"Radicale store: {len(our_cards)} files written in {fill_seconds:.1f} s; "
          f"its first (cache-building) read took {radicale['warmup']:.1f} s")
    print()
    header = f"{'server':<44} {'best':>8} {'median':>8}   runs"
    print(header)
    print("-" * len(header))
    for name, result in (("Kontaktvägar GET /export/directory.vcf", ours),
                         (f"Radicale 3 GET {ADDRESS_BOOK} (file store)", radicale)):
        runs = ", ".join(f"{t:.2f}" for t in result["times"])
        print(f"{name:<44} {result['best']:>7.2f}s {result['median']:>7.2f}s   {runs}")
    ratio = radicale["median"] / ours["median"]
    print(f"Ratio (Radicale median / ours median): {ratio:.1f}x "
          f"({'faster' if ratio > 1 else 'SLOWER'} than Radicale)")
    if uncached is not None:
        print(f"Ours without the card cache (vobject for every card): {uncached[0]:.2f} s")
    print()
    print("Memory while streaming the export (tracemalloc peak, in-process):")
    for name in ("small", "large"):
        m = memory[name]
        print(f"  {m['cards']:>7} cards, {mib(m['bytes']):>10}: peak {mib(m['peak'])} "
              f"({m['seconds']:.1f} s under tracemalloc)")
    before, after = ours["worker_peak_rss"]
    if before and after:
        print(f"gunicorn worker peak RSS: {mib(before)} signed in, before any export; "
              f"{mib(after)} after {args.runs + 2} exports of {ours['cards']} cards")
    ok = same and ratio > 1 and ours["cards"] == radicale["cards"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
