"""Members (SPEC §13): a role in a unit holds in every unit below it; admins and a
unit's managers manage its members, through the API and `flask members`."""

from __future__ import annotations

import psycopg
import pytest

from tests.integration.test_units import TREE, run_import
from tests.support.accounts import ApiClient


@pytest.fixture
def people(app, tmp_path, create_user, api_token):
    """The tree of test_units, a manager of the institute I-10, an editor of the school,
    a plain user, and an API client for each."""
    assert run_import(app, tmp_path, TREE).exit_code == 0
    found = {}
    for name in ("manager", "editor", "plain"):
        user = create_user("viewer", email=f"{name}@example.org", unit=None)
        found[name] = ApiClient(app.test_client(), api_token(user))
    runner = app.test_cli_runner()
    for email, unit, role in (("manager@example.org", "I-10", "manager"),
                              ("editor@example.org", "S-1", "editor")):
        result = runner.invoke(args=["members", "add", email, unit, role])
        assert result.exit_code == 0, result.output
    return found


def test_me_lists_the_callers_memberships(people):
    assert people["manager"].get("/me").get_json() == {
        "email": "manager@example.org", "admin": False,
        "memberships": [{"unit_code": "I-10", "role": "manager", "source": "manual"}]}
    assert people["plain"].get("/me").get_json()["memberships"] == []


def test_a_manager_manages_the_members_of_the_units_below(people, db_url):
    manager = people["manager"]
    # The lab is below the institute the manager manages.
    put = manager.client.put("/api/v1/units/L-101/members/plain@example.org",
                             headers=manager.headers, json={"role": "editor"})
    assert put.status_code == 200, put.get_json()
    assert put.get_json() == {"email": "plain@example.org", "unit_code": "L-101",
                              "role": "editor", "source": "manual"}
    assert manager.get("/units/L-101/members").get_json()["items"] == [put.get_json()]
    assert people["plain"].get("/me").get_json()["memberships"] == [
        {"unit_code": "L-101", "role": "editor", "source": "manual"}]
    gone = manager.client.delete("/api/v1/units/L-101/members/plain@example.org",
                                 headers=manager.headers)
    assert gone.status_code == 204
    assert manager.get("/units/L-101/members").get_json()["items"] == []
    with psycopg.connect(db_url) as conn:
        actions = [row[0] for row in conn.execute(
            "SELECT action FROM audit_log WHERE action LIKE 'member.%' ORDER BY id")]
    assert actions == ["member.set", "member.set", "member.set", "member.removed"]


@pytest.mark.parametrize(("who", "unit", "status"), [
    ("manager", "I-20", 404),  # a sibling institute: out of the manager's sight
    ("manager", "S-1", 404),  # the school above it: out of sight too
    ("editor", "L-101", 403),  # an editor sees the lab, but is no manager
    ("plain", "L-101", 404),  # no role at all: sees nothing
])
def test_only_the_units_managers_manage_its_members(people, who, unit, status):
    client = people[who]
    listed = client.get(f"/units/{unit}/members")
    assert listed.status_code == status
    if status == 403:
        assert f"managing the members of {unit} needs the manager role" in \
            listed.get_json()["message"]
    else:
        assert listed.get_json()["message"] == f"no unit has the code '{unit}'"
    put = client.client.put(f"/api/v1/units/{unit}/members/plain@example.org",
                            headers=client.headers, json={"role": "viewer"})
    assert put.status_code == status


def test_refusals_name_what_is_wrong(people, admin_api):
    def put(path, body):
        return admin_api.client.put(f"/api/v1{path}", headers=admin_api.headers, json=body)

    assert put("/units/NOPE/members/plain@example.org", {"role": "viewer"}).status_code == 404
    unknown = put("/units/S-1/members/ghost@example.org", {"role": "viewer"})
    assert unknown.status_code == 404 and "ghost@example.org" in unknown.get_json()["message"]
    bad = put("/units/S-1/members/plain@example.org", {"role": "owner"})
    assert bad.status_code == 422
    assert bad.get_json()["message"] == "role must be one of viewer, editor, manager"
    not_member = admin_api.client.delete("/api/v1/units/S-1/members/plain@example.org",
                                         headers=admin_api.headers)
    assert not_member.status_code == 404
    assert not_member.get_json()["message"] == "plain@example.org is not a member of S-1"


def test_flask_members_add_and_remove(app, people):
    runner = app.test_cli_runner()
    added = runner.invoke(args=["members", "add", "plain@example.org", "S-1", "viewer"])
    assert added.exit_code == 0
    assert added.output.strip() == "plain@example.org is viewer of S-1 and every unit below it"
    removed = runner.invoke(args=["members", "remove", "plain@example.org", "S-1"])
    assert removed.output.strip() == "plain@example.org is no longer a member of S-1"
    again = runner.invoke(args=["members", "remove", "plain@example.org", "S-1"])
    assert again.exit_code == 1 and "is not a member of S-1" in again.output
    wrong = runner.invoke(args=["members", "add", "plain@example.org", "S-1", "owner"])
    assert wrong.exit_code == 2 and "owner" in wrong.output
    unknown = runner.invoke(args=["members", "add", "plain@example.org", "NOPE", "viewer"])
    assert unknown.exit_code == 1 and "no unit has the code 'NOPE'" in unknown.output
