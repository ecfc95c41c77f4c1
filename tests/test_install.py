"""A newcomer's install: hashed locks, the Swedish catalogue, the demo password.

The locks are read as files: every package pinned with a hash, every pin of
an input present in its lock, and the Makefile installing with
--require-hashes; axe-core pinned by its integrity hash.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext

from directory import create_app
from directory.accounts.users import create_user, find_user
from directory.core.extensions import db
from directory.core.models import ActorKind, ActorLevel, UserRole
from directory.core.security import verify_password
from tests.conftest import make_actor, make_config

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {
    "requirements.in": "requirements.txt",
    "requirements-dev.in": "requirements-dev.txt",
    "bench/requirements.in": "bench/requirements.txt",
}
NEW_PASSWORD = "a brand new demo password"


# --- The Swedish catalogue -------------------------------------------------------


def config_with_translations(database, directory: Path):
    base = make_config(database)

    class Config(base):
        def __init__(self):
            super().__init__()
            self.BABEL_TRANSLATION_DIRECTORIES = str(directory)

    return Config


def test_the_app_refuses_to_start_without_the_compiled_swedish_catalogue(database, tmp_path):
    shutil.copytree(ROOT / "directory/translations", tmp_path, dirs_exist_ok=True)
    (tmp_path / "sv/LC_MESSAGES/messages.mo").unlink(missing_ok=True)

    with pytest.raises(RuntimeError, match=r"'sv' is missing .*make translations"):
        create_app(config_with_translations(database, tmp_path))


def test_the_app_starts_and_speaks_swedish_with_the_compiled_catalogue(database, tmp_path):
    shutil.copytree(ROOT / "directory/translations", tmp_path, dirs_exist_ok=True)

    app = create_app(config_with_translations(database, tmp_path))

    with app.test_request_context(), force_locale("sv"):
        assert gettext("Sign in") == "Logga in"


# --- The demo password -----------------------------------------------------------


def test_a_second_make_run_tells_how_to_reset_the_demo_password(app, runner):
    make_actor("Haninge kommun")
    create_user("admin@demo.example", "the first demo password", UserRole.ADMIN)
    db.session.commit()

    result = runner.invoke(args=["demo", "load", "--if-empty"])  # what `make run` does

    assert result.exit_code == 0, result.output
    assert "Demo logins: admin@demo.example." in result.output
    hint = re.search(r"flask --app wsgi (users set-password admin@demo\.example)", result.output)
    assert hint, result.output

    # The hint works as printed: it asks for the new password twice.
    reset = runner.invoke(args=hint.group(1).split(), input=f"{NEW_PASSWORD}\n" * 2)
    assert reset.exit_code == 0, reset.output
    db.session.rollback()
    assert verify_password(find_user("admin@demo.example"), NEW_PASSWORD)


def test_no_reset_hint_when_the_database_has_no_demo_logins(app, runner):
    make_actor("Egen aktör", kind=ActorKind.OTHER, level=ActorLevel.LOCAL)
    db.session.commit()

    result = runner.invoke(args=["demo", "load", "--if-empty"])

    assert result.exit_code == 0, result.output
    assert "set-password" not in result.output


def test_loading_over_existing_demo_logins_tells_how_to_reset_their_password(app, runner):
    create_user("viewer@demo.example", "the first demo password", UserRole.VIEWER)
    db.session.commit()

    result = runner.invoke(args=["demo", "load"])

    assert result.exit_code == 0, result.output
    assert "users set-password viewer@demo.example" in result.output
    assert "users set-password admin@demo.example" not in result.output  # new: printed above


# --- make run's address ---------------------------------------------------------


def make_run_command(*args: str, **env: str) -> str:
    """The command `make run` would serve with (make -n runs nothing)."""
    base = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST")}
    result = subprocess.run(  # noqa: S603
        ["make", "-n", "-s", "run", *args],  # noqa: S607
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def test_make_run_serves_on_5000_unless_told_otherwise():
    assert make_run_command().endswith("flask run --host 127.0.0.1 --port 5000")
    assert make_run_command("PORT=5123", "HOST=127.0.0.2").endswith(
        "flask run --host 127.0.0.2 --port 5123"
    )
    # PORT from the environment too; HOST not: some shells export it as the machine's name.
    assert make_run_command(PORT="5124", HOST="a-machine-name").endswith(
        "flask run --host 127.0.0.1 --port 5124"
    )


# --- The locks -------------------------------------------------------------------


def lock_entries(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """{name: (version, hashes)} of every requirement in a uv/pip-tools lock."""
    entries = {}
    text = lock.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        if not line or line.startswith((" ", "#", "-")):
            continue
        spec = line.split(";")[0].split()[0]
        name, version = spec.split("==")
        entries[f"{name.lower()}=={version}"] = (version, re.findall(r"--hash=(\S+)", line))
    return entries


def input_pins(source: Path) -> set[str]:
    pins = set()
    for line in source.read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line or line.startswith("-"):
            continue
        name, version = line.split("==")
        name = re.sub(r"\[.*\]", "", name).lower().replace("_", "-")
        pins.add(f"{name}=={version}")
    return pins


@pytest.mark.parametrize("source", LOCKS)
def test_every_package_of_a_lock_has_a_sha256_hash(source):
    entries = lock_entries(ROOT / LOCKS[source])

    assert entries
    for spec, (_, hashes) in entries.items():
        assert hashes, f"{spec} has no hash"
        assert all(h.startswith("sha256:") for h in hashes), spec


@pytest.mark.parametrize("source", LOCKS)
def test_each_lock_holds_what_its_input_pins(source):
    """Fails when a .in file was edited without `make lock`."""
    locked = set(lock_entries(ROOT / LOCKS[source]))

    missing = input_pins(ROOT / source) - locked
    assert not missing, f"run `make lock`: {sorted(missing)} not in {LOCKS[source]}"


def test_the_dev_and_bench_locks_agree_with_the_runtime_lock():
    """They are installed into one virtualenv: a package has one version."""
    versions = {}
    for lock in LOCKS.values():
        for spec in lock_entries(ROOT / lock):
            name, version = spec.split("==")
            versions.setdefault(name, set()).add(version)
    runtime = {spec.split("==")[0] for spec in lock_entries(ROOT / "requirements.txt")}
    assert {n: v for n, v in versions.items() if n in runtime and len(v) > 1} == {
        "deprecated": {"1.3.1", "3.0.1"}  # one per Python version, by marker
    }


def test_the_makefile_installs_only_from_hashed_locks():
    makefile = (ROOT / "Makefile").read_text()
    installs = [line.strip() for line in makefile.splitlines() if "-r requirements" in line]

    assert "PIP_INSTALL := $(BIN)/pip install --quiet --require-hashes" in makefile
    assert installs == [
        "$(PIP_INSTALL) -r requirements.txt",
        "$(PIP_INSTALL) -r requirements-dev.txt",
    ]
    assert "npm ci " in makefile and "axe-core@" not in makefile


def test_axe_core_is_pinned_with_its_integrity_hash():
    package = json.loads((ROOT / "tests/browser/package.json").read_text())
    lock = json.loads((ROOT / "tests/browser/package-lock.json").read_text())

    version = package["dependencies"]["axe-core"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), "pin an exact version"
    locked = lock["packages"]["node_modules/axe-core"]
    assert locked["version"] == version
    assert re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", locked["integrity"])
