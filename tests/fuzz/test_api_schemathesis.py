"""Property-based fuzz of the whole API from its OpenAPI description (Schemathesis).

Every operation of ``amelipro/static/openapi.json`` is called in process (WSGI) with data
generated from its description, valid and invalid, authenticated with a test token, and every
answer is checked: no server error, a documented status code, the documented content type,
documented headers and a body that matches the documented schema. Bounded for CI
(``AMELIPRO_FUZZ_EXAMPLES`` examples per operation and mode, 25 by default; the whole run
stays well under 3 minutes). Failures of all operations are reported together.
"""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("AMELIPRO_FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


def _summary(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return " | ".join(lines[:12])[:700]


def _fuzz(operation, mode, headers: dict, failures: dict[str, set[str]]):
    """The Hypothesis test of one operation in one generation mode; failures collected."""
    label = f"{operation.label} ({mode})"

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case):
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except BaseException as exc:  # noqa: BLE001 - every failure is collected
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.setdefault(label, set()).add(_summary(exc))

    return call


def test_every_operation_answers_as_described(fse_env):
    app = fse_env.app
    app.config["RIGHTS_LOOKUP_LIMIT"] = 10**9  # the throttle is tested elsewhere
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {fse_env.token}"}
    failures: dict[str, set[str]] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, headers, failures)()
            except BaseException as exc:  # noqa: BLE001 - e.g. nothing invalid can be generated
                if type(exc).__name__ != "Unsatisfiable":
                    raise
    assert operations >= 20
    report = "\n".join(f"{label}:\n  " + "\n  ".join(sorted(found)[:5]) for label, found in failures.items())
    assert not failures, report
