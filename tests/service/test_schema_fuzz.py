"""Property-based run over the OpenAPI schema (schemathesis): requests generated from the
schema, valid and invalid, for every operation, sent with an admin key; no server error,
and every answer matches the status codes and the schema it is documented with.

The operations are listed from the app's schema at collection; schemathesis' pytest
plugin (from_fixture) does not run under pytest 9, so each test draws its cases with
Hypothesis directly from the operation's strategies.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from service_support import END

import segmento
from segmento.service.app import create_app


# A schema-valid request may still be refused with a 422: JSON Schema cannot say "a real
# calendar day", "not in the future" or "a customer that exists".
NOT_CHECKED = [schemathesis.checks.positive_data_acceptance]
EXAMPLES = int(os.environ.get("SEGMENTO_FUZZ_EXAMPLES", "15"))  # per operation


def operation_labels() -> list[str]:
    with segmento.connect("duckdb://") as ws:  # the schema does not depend on the data
        app = create_app(ws)
        paths = app.openapi()["paths"]
    return [f"{method.upper()} {path}" for path, methods in paths.items() for method in methods]


@pytest.fixture(scope="module")
def fuzzed_schema(workspace):
    app = create_app(workspace, as_of=END)
    app.state.service.profiles.rebuild()
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    app.state.service.stop()


@pytest.mark.parametrize("label", operation_labels())
def test_no_server_error_and_answers_match_the_schema(fuzzed_schema, base, label: str) -> None:
    operation = fuzzed_schema.find_operation_by_label(label)
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers={"X-API-Key": base.keys["admin"]}, excluded_checks=NOT_CHECKED)

    run()
