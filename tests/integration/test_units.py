"""Units (SPEC §13): importing the tree from a directory file, with `flask units import`
as an operator runs it; every bad row named; a file with errors changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.support.settings import ROOT

TREE = """code,name,parent_code,active
L-101,Lab of glaciers,I-10,yes
S-1,School of engineering,,
I-10,Institute of environment,S-1,yes
I-20,Institute of materials,S-1,no
L-201,Lab of polymers,I-20,
"""


def units(db_url) -> dict[str, tuple]:
    """{code: (name, parent code, active, depth)} of every unit but the demo's."""
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT u.code, u.name, p.code, u.active, u.path FROM units u "
            "LEFT JOIN units p ON p.id = u.parent_id WHERE u.code <> 'F0892'").fetchall()
        ids = dict(conn.execute("SELECT id, code FROM units").fetchall())
    return {code: (name, parent, active, [ids[int(i)] for i in path.strip("/").split("/")])
            for code, name, parent, active, path in rows}


def run_import(app, tmp_path: Path, content: str):
    path = tmp_path / "units.csv"
    path.write_text(content)
    return app.test_cli_runner().invoke(args=["units", "import", str(path)])


def test_a_tree_imports_with_children_before_their_parents(app, db_url, tmp_path):
    result = run_import(app, tmp_path, TREE)
    assert result.exit_code == 0, result.output
    assert "5 created, 0 updated, 0 unchanged" in result.output
    assert units(db_url) == {
        "S-1": ("School of engineering", None, True, ["S-1"]),
        "I-10": ("Institute of environment", "S-1", True, ["S-1", "I-10"]),
        "I-20": ("Institute of materials", "S-1", False, ["S-1", "I-20"]),
        "L-101": ("Lab of glaciers", "I-10", True, ["S-1", "I-10", "L-101"]),
        "L-201": ("Lab of polymers", "I-20", True, ["S-1", "I-20", "L-201"]),
    }


def test_importing_again_is_idempotent_and_a_move_updates_the_subtree(app, db_url, tmp_path):
    assert run_import(app, tmp_path, TREE).exit_code == 0
    again = run_import(app, tmp_path, TREE)
    assert "0 created, 0 updated, 5 unchanged" in again.output
    # The institute moves under a new school: its lab's path follows.
    moved = run_import(app, tmp_path, "code,name,parent_code\nS-2,School of science,\n"
                                      "I-10,Institute of environment,S-2\n")
    assert "1 created, 1 updated, 0 unchanged" in moved.output, moved.output
    tree = units(db_url)
    assert tree["L-101"][3] == ["S-2", "I-10", "L-101"]
    assert tree["I-20"][3] == ["S-1", "I-20"]  # units the file does not name stay


@pytest.mark.parametrize(("content", "expected"), [
    ("code,name,parent_code\nA,Alpha,\nA,Again,\n",
     ["Row 3: code 'A' repeats row 2"]),
    ("code,name,parent_code\nA,Alpha,NOPE\n",
     ["Row 2: parent_code 'NOPE' is not a unit of this file or of the tree"]),
    ("code,name,parent_code\nA,Alpha,B\nB,Beta,A\nC,Gamma,C\n",
     ["Row 2: parent_code 'B' would make A its own ancestor: A → B → A",
      "Row 3: parent_code 'A' would make B its own ancestor: B → A → B",
      "Row 4: parent_code 'C' would make C its own ancestor: C → C"]),
    ("code,name,active\nA,,maybe\n",
     ["Row 2: name is required", "Row 2: active 'maybe' is not yes or no"]),
])
def test_every_bad_row_is_named_and_nothing_changes(app, db_url, tmp_path, content, expected):
    assert run_import(app, tmp_path, TREE).exit_code == 0
    before = units(db_url)
    result = run_import(app, tmp_path, content + "Z,Zeta,S-1\n")
    assert result.exit_code == 1
    assert result.output.splitlines()[:len(expected)] == expected
    assert "nothing was changed" in result.output
    assert units(db_url) == before


def test_a_move_into_its_own_subtree_is_a_cycle(app, db_url, tmp_path):
    assert run_import(app, tmp_path, TREE).exit_code == 0
    result = run_import(app, tmp_path, "code,name,parent_code\nS-1,School,L-101\n")
    assert result.exit_code == 1
    assert "would make S-1 its own ancestor: S-1 → L-101 → I-10 → S-1" in result.output


def test_a_file_without_the_columns_is_refused(app, tmp_path):
    result = run_import(app, tmp_path, "unit,label\nA,Alpha\n")
    assert result.exit_code == 1
    assert "A units file needs the columns code, name" in result.output


def test_the_import_is_audited(app, db_url, tmp_path):
    assert run_import(app, tmp_path, TREE).exit_code == 0
    with psycopg.connect(db_url) as conn:
        action, details = conn.execute(
            "SELECT action, details FROM audit_log WHERE action = 'units.imported'").fetchone()
    assert details["inserted"] == 5 and details["via"] == "cli"


def test_flask_units_import_as_an_operator_runs_it(app, db_url, tmp_path):
    path = tmp_path / "units.csv"
    path.write_text(TREE)
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": app.config["REDIS_URL"]}
    done = subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "wsgi",
                           "units", "import", str(path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "5 created" in done.stdout
    assert set(units(db_url)) == {"S-1", "I-10", "I-20", "L-101", "L-201"}


def test_the_units_api_searches_pages_and_walks_the_tree(app, admin_api, tmp_path):
    api = admin_api  # who sees every unit (scoped listings: test_unit_access.py)
    assert run_import(app, tmp_path, TREE).exit_code == 0
    roots = api.get("/units?parent=").get_json()
    assert [u["code"] for u in roots["items"]] == ["F0892", "S-1"]
    children = api.get("/units?parent=S-1").get_json()
    assert children["items"] == [
        {"code": "I-10", "name": "Institute of environment", "parent_code": "S-1",
         "active": True, "children": 1},
        {"code": "I-20", "name": "Institute of materials", "parent_code": "S-1",
         "active": False, "children": 1}]
    found = api.get("/units?q=LAB%20of").get_json()
    assert [u["code"] for u in found["items"]] == ["L-101", "L-201"]
    page = api.get("/units?limit=2&offset=4").get_json()
    assert page["total"] == 6 and [u["code"] for u in page["items"]] == ["L-201", "S-1"]
    assert api.get("/units?limit=2&offset=40").get_json() == {
        "items": [], "total": 6, "limit": 2, "offset": 40}
    assert api.get("/units?q=100%25").get_json()["total"] == 0  # % is a character, not a wildcard
    missing = api.get("/units?parent=NOPE")
    assert missing.status_code == 404 and "NOPE" in missing.get_json()["message"]
