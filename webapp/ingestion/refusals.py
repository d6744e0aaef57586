"""Service-layer refusals, each mapped to one HTTP status by the API and the pages."""

from __future__ import annotations

from webapp.ingestion.limits import clip_message


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str, **details):
        message = clip_message(message)
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(ServiceError):
    status = 404


class Invalid(ServiceError):
    status = 422


class BadRequest(ServiceError):
    status = 400


class Conflict(ServiceError):
    status = 409


class Unavailable(ServiceError):
    status = 503
