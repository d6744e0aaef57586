"""HTMX plumbing for the page blueprints, after the django-htmx example app: a fragment is
rendered by the same view as its page, so every fragment URL is also a readable page."""

from __future__ import annotations

from flask import Response, make_response, render_template, request

# Events a job panel's responses fire on the page. Badges, history and job facts listen
# to job-changed (`hx-trigger="job-changed from:body"`) and refresh only when a job
# changes state, instead of polling too; job-started/job-finished say which change it was.
JOB_CHANGED = "job-changed"
JOB_STARTED = "job-started"
JOB_FINISHED = "job-finished"


def is_htmx() -> bool:
    """True for requests htmx sends to swap a fragment.

    A history-restore request (the user went back and htmx's cache missed) needs the
    whole page, so it does not count.
    """
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def page_or_fragment(page: str, fragment: str, http_status: int = 200, **context
                     ) -> Response:
    """Render `fragment` for htmx and the full `page` (which includes it) otherwise."""
    response = make_response(render_template(fragment if is_htmx() else page, **context),
                             http_status)
    response.vary.add("HX-Request")  # one URL, two bodies: keep caches from mixing them
    return response


def trigger(response: Response, *events: str) -> Response:
    """Fire `events` on the page once htmx receives this response."""
    if events:
        response.headers["HX-Trigger"] = ", ".join(events)
    return response
