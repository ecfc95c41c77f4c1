"""CardDAV against Radicale's own file store: first sync, sync after one change, memory.

Builds a fresh database (temporary SQLite file, or a schema of its own on
PostgreSQL), fills it with the synthetic region, renders the card cache, makes
a viewer with a device password, and then, in the same run:

1. serves the app with gunicorn (one sync worker) on loopback, lists the
   book once untimed (as Radicale gets in step 2, where its item cache is
   built then), and times a
   first sync of the `directory` book with vdirsyncer (a real CardDAV client)
   into an empty folder, to the end of the process;
2. puts exactly the cards our server gave into Radicale's own file store
   (one .vcf per card), serves it with Radicale on loopback and times the same
   vdirsyncer first sync from it;
3. changes one person's number (through the ORM, as an edit does) and times
   a `sync-collection` REPORT with the previous token against our server,
   checking that it lists exactly that card; and vdirsyncer's second sync
   (which compares ETags) against ours after the change;
4. reads the gunicorn worker's peak RSS after those requests, for a small
   region (`--small`) and the large one, to show memory flat.

    .venv/bin/python bench/carddav.py [--persons 2000] [--small 200] [--runs 3]
        [--database-url postgresql://...]
"""

import argparse
import base64
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.setup import build_region, fresh_database, make_app  # noqa: E402
from bench.vcard_export import (  # noqa: E402
    fill_radicale,
    our_server,
    radicale_server,
    worker_peak_rss,
)
from directory.accounts.devices import create_device_password  # noqa: E402
from directory.accounts.users import create_user  # noqa: E402
from directory.core.extensions import db  # noqa: E402
from directory.core.models import ContactPoint, UserRole  # noqa: E402

VIEWER = "bench-carddav@example.org"
VDIRSYNCER = str(Path(sys.executable).parent / "vdirsyncer")
SYNC_BODY = ('<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>{}'
             '</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop>'
             "</d:sync-collection>")  # fmt: skip


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=2_000)
    parser.add_argument("--small", type=int, default=200,
                        help="persons in the small region of the memory check")
    parser.add_argument("--runs", type=int, default=3, help="timed first syncs per server")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


def build(app, persons: int, seed: int) -> str:
    """The region, its cards, a viewer; returns the viewer's device password."""
    build_region(app, persons, seed, cards=True)
    with app.app_context():
        user = create_user(VIEWER, secrets.token_urlsafe(24), UserRole.VIEWER)
        _device, secret = create_device_password(user, "bench")
        db.session.commit()
    return secret


def vdirsyncer_sync(url: str, username: str, password: str, collection: str,
                    folder: Path) -> tuple[float, int, str]:
    """Seconds of `discover` + `sync` into an empty folder, cards fetched, log."""
    local = folder / "local"
    local.mkdir()
    config = folder / "config"
    config.write_text(
        f'[general]\nstatus_path = "{folder / "status"}"\n\n'
        f'[pair p]\na = "server"\nb = "phone"\ncollections = ["{collection}"]\n\n'
        f'[storage server]\ntype = "carddav"\nurl = "{url}"\nusername = "{username}"\n'
        f'password = "{password}"\nread_only = true\n\n'
        f'[storage phone]\ntype = "filesystem"\npath = "{local}/"\nfileext = ".vcf"\n'
    )
    env = {**os.environ, "VDIRSYNCER_CONFIG": str(config)}
    started = time.perf_counter()
    for command in ("discover", "sync"):
        done = subprocess.run([VDIRSYNCER, command], env=env, input="y\n" * 10,  # noqa: S603
                              capture_output=True, text=True, timeout=3600)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"vdirsyncer {command} failed:\n{done.stderr[-2000:]}")
    seconds = time.perf_counter() - started
    cards = sum(1 for _ in (local / collection).glob("*.vcf"))
    return seconds, cards, done.stdout + done.stderr


def vdirsyncer_again(folder: Path) -> tuple[float, int]:
    """A second `sync` of a synced folder: seconds, cards updated."""
    env = {**os.environ, "VDIRSYNCER_CONFIG": str(folder / "config")}
    started = time.perf_counter()
    done = subprocess.run([VDIRSYNCER, "sync"], env=env, capture_output=True, text=True,  # noqa: S603
                          timeout=3600)  # fmt: skip
    seconds = time.perf_counter() - started
    return seconds, len(re.findall(r"Copying \(updating\)", done.stdout + done.stderr))


def report(url: str, auth: dict, token: str) -> tuple[float, str, list[str]]:
    """Seconds of one sync-collection REPORT; the new token and the hrefs listed."""
    request = urllib.request.Request(  # noqa: S310 - our loopback URL
        url, data=SYNC_BODY.format(token).encode(), method="REPORT",
        headers={**auth, "Depth": "1", "Content-Type": "application/xml"},
    )  # fmt: skip
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=3600) as response:  # noqa: S310
        body = response.read().decode()
    seconds = time.perf_counter() - started
    new_token = re.search(r"<[^>]*sync-token>([^<]+)<", body)[1]
    hrefs = re.findall(r"<[^>]*href>([^<]+\.vcf)<", body)
    return seconds, new_token, hrefs


def warm_up(url: str, username: str, password: str) -> None:
    """One untimed PROPFIND of a book's ETags (Radicale builds its item cache then)."""
    auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - our loopback URL
        url, method="PROPFIND", headers={"Authorization": auth, "Depth": "1"},
        data=b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/>'
             b"</d:prop></d:propfind>",
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=3600) as response:  # noqa: S310
        response.read()


def change_one_number(app) -> int:
    with app.app_context():
        point = db.session.scalar(
            select(ContactPoint).where(ContactPoint.person_id.is_not(None),
                                       ContactPoint.confidential.is_(False),
                                       ContactPoint.deleted_at.is_(None))
            .order_by(ContactPoint.id).limit(1)
        )  # fmt: skip
        point.value = "+46701740699" if point.value != "+46701740699" else "+46701740698"
        person_id = point.person_id
        db.session.commit()
    return person_id


def run_region(args, persons: int, label: str, *, compare: bool) -> dict:
    found: dict = {"persons": persons}
    with fresh_database(args.database_url, f"kvdav_{label}") as database, \
            tempfile.TemporaryDirectory(prefix="kv-carddav-") as scratch:  # fmt: skip
        scratch = Path(scratch)
        app = make_app(database)
        secret = build(app, persons, args.seed)
        auth = {"Authorization": "Basic " + base64.b64encode(
            f"{VIEWER}:{secret}".encode()).decode()}  # fmt: skip
        with our_server(database) as (base, process):
            warm_up(f"{base}/dav/{VIEWER}/directory/", VIEWER, secret)
            times = []
            for run in range(args.runs if compare else 1):
                folder = scratch / f"ours-{run}"
                folder.mkdir()
                seconds, cards, _log = vdirsyncer_sync(f"{base}/dav/", VIEWER, secret,
                                                       "directory", folder)  # fmt: skip
                times.append(seconds)
            found["ours"] = times
            found["cards"] = cards
            book = f"{base}/dav/{VIEWER}/directory/"
            _s, token, _hrefs = report(book, auth, "")
            _s, same_token, unchanged = report(book, auth, token)
            person_id = change_one_number(app)
            seconds, _new, hrefs = report(book, auth, token)
            found["report"] = seconds
            found["report_exact"] = (not unchanged and same_token == token
                                     and [h.rsplit("/", 1)[-1] for h in hrefs]
                                     == [f"person-{person_id}.vcf"])  # fmt: skip
            found["again"] = vdirsyncer_again(scratch / "ours-0")
            found["rss"] = worker_peak_rss(process.pid)
        if compare:
            synced = (scratch / "ours-0/local/directory").glob("*.vcf")
            ours_cards = [p.read_bytes() for p in synced]
            store = scratch / "radicale"
            store.mkdir()
            # Radicale is given the cards the client got from us, with CRLF lines.
            fill_radicale(store, [c.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
                                  for c in ours_cards])  # fmt: skip
            with radicale_server(store) as (rbase, _process):
                warm_up(f"{rbase}/bench/contacts/", "bench", "bench")
                times = []
                for run in range(args.runs):
                    folder = scratch / f"radicale-{run}"
                    folder.mkdir()
                    seconds, rcards, _log = vdirsyncer_sync(f"{rbase}/", "bench", "bench",
                                                            "contacts", folder)  # fmt: skip
                    times.append(seconds)
                found["radicale"] = times
                found["radicale_cards"] = rcards
                change = store / "collections/collection-root/bench/contacts/000000.vcf"
                change.write_bytes(change.read_bytes().replace(b"FN:", b"FN:Ny ", 1))
                found["radicale_again"] = vdirsyncer_again(scratch / "radicale-0")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return found


def main(argv=None) -> int:
    args = parse_args(argv)
    small = run_region(args, args.small, "small", compare=False)
    large = run_region(args, args.persons, "large", compare=True)
    ours, radicale = statistics.median(large["ours"]), statistics.median(large["radicale"])
    print(f"Database: {args.database_url or 'SQLite (temporary file)'}")
    print(f"Cards in the directory book: ours {large['cards']}, Radicale {large['radicale_cards']}")
    print()
    print(f"{'vdirsyncer first sync (discover + sync)':<46} {'median':>8}   runs")
    for name, times in (("Kontaktvägar /dav/ (our storage)", large["ours"]),
                        ("Radicale 3.9 file store, same cards", large["radicale"])):
        print(f"{name:<46} {statistics.median(times):>7.2f}s   "
              + ", ".join(f"{t:.2f}" for t in times))
    print(f"Ratio (Radicale / ours): {radicale / ours:.2f}x")
    print()
    print(f"sync-collection REPORT after one change, previous token: {large['report']:.3f} s, "
          f"lists exactly the changed card: {'yes' if large['report_exact'] else 'NO'}")
    print(f"vdirsyncer second sync after one change (ETag compare): ours "
          f"{large['again'][0]:.2f} s ({large['again'][1]} card fetched); Radicale "
          f"{large['radicale_again'][0]:.2f} s ({large['radicale_again'][1]} card fetched)")
    print()
    for found in (small, large):
        rss = found["rss"]
        print(f"gunicorn worker peak RSS after the syncs, {found['cards']:>7} cards: "
              f"{rss / (1 << 20):.1f} MiB" if rss else "worker RSS not readable")
    if small["rss"] and large["rss"]:
        print(f"Difference: {(large['rss'] - small['rss']) / (1 << 20):+.1f} MiB")
    return 0 if large["report_exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
