"""The OpenAPI document tells the truth about the public JSON API: schemathesis generates valid
and invalid requests for every operation it lists, and checks each answer's status code,
content type, headers and body against what the document promises (and that none is a 500).

Bounded for CI: a fixed number of examples per operation and mode, no example database.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

MAX_EXAMPLES = 40


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_answer_of_the_public_api_is_one_its_document_promises(app, client, mode):
    # `client` keeps the app started (its lifespan) while schemathesis calls it over ASGI
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {operation.label for operation in operations} >= {
        "POST /api/v1/messages",
        "GET /api/v1/form-token",
    }
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not has_inputs(operation):
            continue  # nothing to send wrong (GET /api/v1/form-token takes no parameter)

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_as_documented(case):
            case.call_and_validate()

        answers_as_documented()


def has_inputs(operation) -> bool:
    parameters = [*operation.path_parameters, *operation.query, *operation.headers]
    return bool(parameters or list(operation.body))
