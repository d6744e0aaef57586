"""Failures a job can end with, each carrying the HTTP-like status code the job records.

Providers raise these; `run_pipeline()` turns them into a failed job with the message
as the job's one-sentence `message` and the class's code as its `status_code`.
"""


class IngestionError(Exception):
    """Base class: an expected failure with a human message and a status code."""

    status_code = 500

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class InvalidFile(IngestionError):
    """The uploaded file cannot be read as the expected CSV (empty, binary, wrong columns)."""

    status_code = 400


class InvalidRows(IngestionError):
    """Rows failed validation and the error policy is `abort`."""

    status_code = 422


class CredentialsRefused(IngestionError):
    """The upstream refused our credentials (401) or our rights (403)."""

    status_code = 401


class UpstreamError(IngestionError):
    """The upstream answered with an error we cannot recover from (after retries)."""

    status_code = 502


class UpstreamUnreachable(IngestionError):
    """The upstream could not be reached at all (DNS, refused connection)."""

    status_code = 503


class UpstreamTimeout(IngestionError):
    """The upstream did not answer in time."""

    status_code = 504


class ProviderUnavailable(IngestionError):
    """The provider is not configured on this server (e.g. Tableau variables missing)."""

    status_code = 503


class JobCancelled(Exception):
    """Raised inside the pipeline when the job was cancelled; nothing is written."""
