"""The code's shape that import contracts cannot state: a page holds no form and
writes no row itself.

`.importlinter` (checked by `make lint`) keeps the core from importing a
feature and lets only the app factory import pages. What a page module may
*do* is read here, from the same list of page modules: its forms live in the
feature's `forms` module, and what it changes it changes through the
feature's operations (which flush), so the page only commits or rolls back.
"""

import ast
import configparser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WRITES = {"add", "add_all", "delete", "merge", "bulk_save_objects", "bulk_insert_mappings",
          "bulk_update_mappings"}
STATEMENTS = {"insert", "update", "delete"}


def page_modules() -> list[Path]:
    """The modules `.importlinter` protects as pages, as files."""
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    names = config["importlinter:contract:pages-are-leaves"]["protected_modules"].split()
    files = []
    for name in names:
        files += sorted(ROOT.glob(name.replace(".", "/") + ".py"))
    return files


def problems(source: str) -> list[str]:
    """What in a page module's source belongs elsewhere, a line each."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            bases = {ast.unparse(base).rsplit(".", 1)[-1] for base in node.bases}
            if bases & {"Form", "FlaskForm", "ConfirmForm"}:
                found.append(f"line {node.lineno}: form {node.name} (belongs in forms.py)")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = ast.unparse(node.func.value)
            if node.func.attr in WRITES and receiver.endswith("session"):
                found.append(f"line {node.lineno}: {receiver}.{node.func.attr}(...) "
                             "(a write belongs in the feature's operations)")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            for alias in node.names:
                if alias.name in STATEMENTS:
                    found.append(f"line {node.lineno}: imports sqlalchemy's {alias.name} "
                                 "(a write belongs in the feature's operations)")
    return found


def test_every_view_is_in_a_page_module_the_checks_read(app):
    """A view in a module outside the list would escape both checks."""
    files = {str(f.relative_to(ROOT)) for f in page_modules()}
    homes = {view.__module__.replace(".", "/") + ".py" for view in app.view_functions.values()
             if view.__module__.startswith("directory")}
    assert homes <= files, homes - files
    assert len(homes) >= 17


@pytest.mark.parametrize("path", page_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_page_holds_no_form_and_writes_no_row_itself(path):
    assert problems(path.read_text(encoding="utf-8")) == []


def test_the_check_sees_a_form_and_a_write_in_a_page():
    source = (
        "from sqlalchemy import select, update\n"
        "from directory.core.forms import Form\n"
        "class StartForm(Form):\n    pass\n"
        "def page():\n"
        "    db.session.add(Thing())\n"
        "    db.session.commit()\n"
        "    rows = db.session.scalars(select(Thing))\n"
    )
    found = problems(source)
    assert [line.split(":")[0] for line in found] == ["line 1", "line 3", "line 6"], found
