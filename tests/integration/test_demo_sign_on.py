"""`make demo`'s single sign-on provider (webapp/standalone/sign_on.py), in this process:
the app signs its demo people in, and their groups claim makes them members of the demo
university's units; the package's interactive debugger is not served."""

from __future__ import annotations

import pytest
import requests

from tests.support.app import create_extra_app
from tests.support.sso import sso_login, start
from webapp.organisation.demo_university import seed_demo_university
from webapp.standalone.sign_on import DEMO_PEOPLE, SignOnProvider


@pytest.fixture
def provider():
    with_port = SignOnProvider(port=0)
    with_port.start()
    yield with_port
    with_port.stop()


@pytest.fixture
def demo_app(app, provider):
    with app.app_context():
        seed_demo_university()
    return create_extra_app({**app.config, **provider.settings()})


def test_each_demo_person_signs_in_with_the_units_their_groups_name(demo_app, provider):
    for person in DEMO_PEOPLE:
        client = demo_app.test_client()
        answer = sso_login(client, person.sub)
        assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
        me = client.get("/api/v1/me").get_json()
        claimed = {group.split(":")[2]: group.split(":")[1] for group in person.groups
                   if group.startswith("carbon:")}
        assert me["email"] == person.email and not me["admin"]
        assert {m["unit_code"]: m["role"] for m in me["memberships"]} == claimed
    assert len(DEMO_PEOPLE) == 3


def test_the_login_page_sends_people_to_the_provider_which_offers_them(demo_app, provider):
    authorization_url = start(demo_app.test_client())
    assert authorization_url.startswith(f"{provider.issuer}/oauth2/authorize?")
    form = requests.get(authorization_url, timeout=5)
    assert form.status_code == 200
    assert all(person.sub in form.text for person in DEMO_PEOPLE)  # one click each
    discovery = requests.get(f"{provider.issuer}/.well-known/openid-configuration",
                             timeout=5).json()
    assert discovery["issuer"] == provider.issuer


def test_the_debugger_console_is_not_served(provider):
    # oidc-provider-mock wraps its app in Werkzeug's debugger, which answers this.
    answer = requests.get(f"{provider.issuer}/", timeout=5,
                          params={"__debugger__": "yes", "cmd": "resource", "f": "debugger.js"})
    assert "javascript" not in answer.headers["Content-Type"]
    assert "EVALEX" not in answer.text
