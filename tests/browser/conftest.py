"""Browser tests: the real app served over HTTP from a background thread, the session's
real RQ worker behind it, and the system Chromium driven by Playwright.

Chromium is required, never skipped: `apt-get install chromium` (/usr/bin/chromium), or
set CHROMIUM_PATH to another Chromium or Chrome binary.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.browser.helpers import login
from tests.support.workers import settle

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        pytest.fail(f"Chromium not found (looked for {path!r}). The browser tests need it: "
                    "install it with `apt-get install chromium`, or set CHROMIUM_PATH to a "
                    "Chromium or Chrome binary.", pytrace=False)
    return path


@dataclass
class LiveServer:
    url: str
    app: Flask


@pytest.fixture(scope="session")
def live_server(app):
    """The app, built from the test app's config, on 127.0.0.1:<free port>."""
    from webapp import create_app

    served = create_app(dict(app.config))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per poll in reports
    server = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=served)
    server.shutdown()
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module. Not session-wide: Playwright's sync API keeps an
    event loop running in this thread, and later tests calling asyncio.run() would fail."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                             headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, worker):
    """A fresh browser tab (own cookies) on the live server; the session worker runs jobs.

    Jobs a test leaves running are cancelled, and the worker finishes them, before the
    next test empties the database.
    """
    context = browser.new_context(base_url=live_server.url,
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()
    settle(live_server.app, worker)


@pytest.fixture
def logged_in(page, create_user):
    """Factory: logged_in("viewer") logs the tab in as a new user with that role."""

    def as_role(role: str = "editor") -> dict:
        user = create_user(role)
        login(page, user["email"], user["password"])
        return user

    return as_role


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
