"""Single sign-on in Chromium: from the login page to the provider's own login form (the
real oidc-provider-mock server) and back to the dashboard."""

from __future__ import annotations

import logging
import re
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from tests.support.app import create_extra_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def sso_server(app, oidc_provider):
    """The app with single sign-on, on 127.0.0.1:<free port>."""
    served = create_extra_app({**app.config, **oidc_provider.settings()})
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="sso-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


def test_sso_login_from_the_login_page_to_the_dashboard(browser, sso_server, oidc_provider,
                                                        ctx):
    oidc_provider.set_user("u-grace", email="grace@uni.example", name="Grace Hopper",
                           groups=["carbon:editor:F0892"])
    context = browser.new_context(base_url=sso_server)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto("/")
        expect(page).to_have_url(re.compile(r"/login"))
        page.get_by_role("link", name="Log in with your university account").click()
        # The provider's own page, on its own origin.
        expect(page).to_have_url(re.compile(re.escape(oidc_provider.issuer)))
        page.get_by_placeholder("sub").fill("u-grace")
        page.get_by_role("button", name="Authorize").click()
        expect(page).to_have_url(f"{sso_server}/")
        expect(page.get_by_role("heading", name="Inventories")).to_be_visible()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
    finally:
        context.close()

    from webapp.extensions import db
    from webapp.models import Membership, User
    user = db.session.execute(db.select(User).filter_by(email="grace@uni.example")).scalar_one()
    assert (user.admin, user.oidc_subject) == (False, "u-grace")
    assert [(m.unit.code, m.role, m.source) for m in db.session.execute(
        db.select(Membership).filter_by(user_id=user.id)).scalars()] == \
        [("F0892", "editor", "sso")]
