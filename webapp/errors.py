"""Every expected error of the product, in one hierarchy (rq's `exceptions.py` habit).

An `AppError` carries a one-sentence `message` (clipped: SPEC §12) and a `status_code`:

- a `Refusal` answers a request: the API and the pages turn it into that HTTP status
  (webapp/http_errors.py), with `details` as extra fields of the JSON body;
- a `JobFailure` ends a job: the runner records it as the job's `failed` state, with the
  message as the job's `message` and the code as its `status_code`.

`JobCancelled` is not an error: it stops a running pipeline when its job was cancelled
(or, as `JobLost`, taken away from a stale run), and nothing is written.
"""

from __future__ import annotations

from typing import Any

from webapp.text import clip_message


class AppError(Exception):
    """An expected failure with a human message and an HTTP-like status code."""

    status_code = 500

    def __init__(self, message: str, status_code: int | None = None, **details: Any):
        message = clip_message(message)
        super().__init__(message)
        self.message = message
        self.details = details
        if status_code is not None:
            self.status_code = status_code


# -- refusals: a request is answered with the status, nothing is stored -------------------

class Refusal(AppError):
    status_code = 400


class BadRequest(Refusal):
    status_code = 400


class Forbidden(Refusal):
    """The caller sees what they asked for, but may not change it."""

    status_code = 403


class NotFound(Refusal):
    status_code = 404


class Conflict(Refusal):
    status_code = 409


class Invalid(Refusal):
    status_code = 422


class Unavailable(Refusal):
    status_code = 503


# -- failures: a job ends failed with the status code, nothing is written ----------------

class JobFailure(AppError):
    """Providers, sinks and job kinds raise these; the job ends `failed` with them."""


class InvalidFile(JobFailure):
    """The uploaded file cannot be read as the expected CSV (empty, binary, wrong columns)."""

    status_code = 400


class InvalidRows(JobFailure):
    """Rows failed validation and the error policy is `abort`, or no row is valid."""

    status_code = 422


class CredentialsRefused(JobFailure):
    """The upstream refused our credentials (401) or our rights (403)."""

    status_code = 401


class UpstreamError(JobFailure):
    """The upstream answered with an error we cannot recover from (after retries)."""

    status_code = 502


class UpstreamUnreachable(JobFailure):
    """The upstream could not be reached at all (DNS, refused connection)."""

    status_code = 503


class UpstreamTimeout(JobFailure):
    """The upstream did not answer in time."""

    status_code = 504


class ProviderUnavailable(JobFailure):
    """The provider is not configured on this server (e.g. Tableau variables missing)."""

    status_code = 503


class NothingToCopy(JobFailure):
    """A copy forward's source year holds nothing to copy (no inventory, module, entries
    or factors of that year); nothing is written, the stored rows are kept."""

    status_code = 422


class ReplaceNotConfirmed(JobFailure):
    """The load would take away more than half of a slice, and nobody confirmed it."""

    status_code = 409


class TreeChanged(JobFailure):
    """An undo of a units import would overwrite what changed since, or break the tree."""

    status_code = 409


# -- not errors: a running job stops --------------------------------------------------------

class JobCancelled(Exception):
    """Raised inside the pipeline when the job was cancelled; nothing is written."""


class JobLost(JobCancelled):
    """This attempt no longer owns its job (failed as worker lost, or cancelled): the
    stale process stops and writes nothing. A JobCancelled, so the pipeline stops as for
    a cancel."""
