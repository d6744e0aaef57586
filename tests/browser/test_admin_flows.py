"""The admin pages in a browser (SPEC §13): an admin creates a user, gives them a role,
creates an API token (shown once) and revokes it; a manager adds a member to a lab below
their institute."""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import login
from tests.integration.test_units import TREE, run_import

pytestmark = pytest.mark.browser


def _status_with_token(base_url: str, token: str) -> int:
    """GET /api/v1/me with the token alone (the tab's session cookie would win)."""
    request = urllib.request.Request(f"{base_url}/api/v1/me",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_an_admin_creates_a_user_gives_a_role_and_a_token_shown_once(
        page, logged_in, live_server, screenshot_dir):
    logged_in("admin")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    create = page.get_by_role("form", name="Create a user")
    create.get_by_label("Email").fill("ada@example.org")
    create.get_by_label("Name").fill("Ada Lovelace")
    create.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("status")).to_contain_text("Created ada@example.org")

    page.get_by_role("link", name="ada@example.org").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ada Lovelace")
    give = page.get_by_role("form", name="Give a role")
    give.get_by_label("Unit code").fill("F0892")
    give.get_by_label("Role").select_option("editor")
    give.get_by_role("button", name="Give role").click()
    expect(page.get_by_role("status")).to_contain_text(
        "ada@example.org is editor of F0892")
    roles = page.get_by_role("region", name="Roles in units")
    expect(roles.get_by_role("row", name="F0892")).to_contain_text("editor")
    page.screenshot(path=screenshot_dir / "admin-user.png", full_page=True)

    page.get_by_role("link", name="API tokens of ada@example.org").click()
    new = page.get_by_role("form", name="Create a token")
    new.get_by_label("Token name").fill("nightly export")
    new.get_by_role("button", name="Create token").click()
    shown = page.get_by_label("New token")
    expect(shown).to_have_value(re.compile(r"^cs_"))
    token = shown.input_value()
    assert _status_with_token(live_server.url, token) == 200

    # The page again (a reload would post the form again: a second token): the token
    # is not there any more.
    page.goto("/users/ada@example.org/tokens")
    expect(page.get_by_role("row", name="nightly export")).to_be_visible()
    expect(page.get_by_label("New token")).to_have_count(0)
    assert token not in page.content()

    page.get_by_role("button", name="Revoke nightly export").click()
    expect(page.get_by_role("status")).to_contain_text("is revoked")
    expect(page.get_by_role("row", name="nightly export")).to_contain_text("revoked")
    assert _status_with_token(live_server.url, token) == 401


def test_a_manager_adds_a_member_to_a_lab_below_their_institute(
        app, page, create_user, tmp_path):
    assert run_import(app, tmp_path, TREE).exit_code == 0
    manager = create_user("manager", unit="I-10")
    create_user("viewer", email="kim@uni.example", unit=None)
    login(page, manager["email"], manager["password"])

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Units").click()
    expect(page.locator("#unit-I-10")).to_be_visible()
    expect(page.locator("#unit-S-1")).to_have_count(0)  # above the manager's institute
    page.get_by_role("link", name="1 unit in I-10").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Units in I-10")
    page.get_by_role("link", name="Members of L-101").click()

    add = page.get_by_role("form", name="Add a member")
    add.get_by_label("Email").fill("kim@uni.example")
    add.get_by_label("Role").select_option("editor")
    add.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("status")).to_contain_text("kim@uni.example is editor of L-101")
    row = page.get_by_role("row", name="kim@uni.example")
    expect(row.get_by_label("Role of kim@uni.example", exact=True)).to_have_value("editor")

    row.get_by_label("Role of kim@uni.example", exact=True).select_option("viewer")
    row.get_by_role("button", name="Change the role of kim@uni.example").click()
    expect(page.get_by_role("status")).to_contain_text("kim@uni.example is viewer of L-101")
