"""What every page carries: a skip link to the main content first, and an icon that
answers at the page's link and at /favicon.ico, even before logging in."""

from __future__ import annotations

import re

from tests.support.web import PageClient

FOCUSABLE = re.compile(r"<(a\s[^>]*href|button|input(?![^>]*type=\"hidden\")|select|textarea)\b")


def test_the_skip_link_is_the_first_focusable_element_and_targets_main(app, create_user):
    pages = {"/login": app.test_client().get("/login").text}
    client = PageClient(app, create_user("viewer"))
    for path in ("/", "/modules/1"):
        pages[path] = client.get(path).text
    for path, html in pages.items():
        body = html.split("<body>", 1)[1]
        first = FOCUSABLE.search(body)
        assert first and body[first.start():].startswith(
            '<a class="skip-link" href="#main">Skip to main content</a>'), path
        assert '<main id="main"' in body, path


def test_the_favicon_answers_as_an_image_linked_from_every_page(app):
    client = app.test_client()  # not logged in: browsers ask for it on the login page too
    html = client.get("/login").text
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html)
    assert icon, "the page links its icon"
    for path in (icon[1], "/favicon.ico"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.mimetype == "image/svg+xml", path
        assert answer.data.lstrip().startswith(b"<svg"), path


def test_every_page_title_is_plain_text(app, create_user):
    """A title block is text: markup in it (once a whole form) shows in the tab as such."""
    admin = create_user("admin")
    client = PageClient(app, admin)
    for path in ("/", "/modules/1", f"/users/{admin['email']}/tokens", "/admin/units",
                 "/admin/users", "/admin/sync", "/audit", "/units/F0892/report/2025"):
        html = client.get(path).text
        title = re.search(r"<title>(.*?)</title>", html, re.S)
        assert title and "<" not in title[1] and title[1].endswith("· Carbon Sync"), path
