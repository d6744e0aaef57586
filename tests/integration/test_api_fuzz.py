"""Schemathesis against /api/v1/openapi.json: generated requests, valid and invalid, to
every operation, in-process through the WSGI app. No answer may be a 500, and every answer
must be one the document describes (status code, content type, body schema).

Bounded by count (EXAMPLES per operation and mode) and run derandomized, so the run is
the same every time and stays well under two minutes in CI. (Schemathesis' own pytest
loader needs a pytest internal that pytest 9 removed, so the operations are walked here.)
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation.modes import GenerationMode

EXAMPLES = 10
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def _fuzz(operation, mode: GenerationMode, headers: dict) -> str | None:
    """Run one operation's examples; the first failure as text, or None."""

    @given(case=operation.as_strategy(generation_mode=mode))
    # No shrinking: the first failing example is reported as found, which keeps a red
    # run as quick as a green one.
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:  # nothing invalid to send (an operation without parameters)
        return None
    except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001 - reported together
        return f"{operation.label} [{mode}]: {type(error).__name__}: {error}"[:2000]
    return None


def test_no_server_error_and_every_answer_is_documented(app, admin_api):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app,
                                            headers=admin_api.headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15, "the document lost its operations"
    failures = [failure for operation in operations
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
                if (failure := _fuzz(operation, mode, admin_api.headers))]
    assert not failures, "\n\n".join(failures)
