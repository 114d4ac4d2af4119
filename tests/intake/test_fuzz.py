"""Whatever a client sends to the public endpoints, the answer is never a 500."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FIELDS = ["name", "email", "subject", "message", "page", "next", "form_token", "website", "x"]
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=zz",
    "multipart/form-data",
    "application/json",
    "application/json; charset=latin-1",
    "text/plain",
    "",
]
fuzz = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@fuzz
@given(body=st.binary(max_size=3000), content_type=st.sampled_from(CONTENT_TYPES))
def test_raw_bytes_never_give_a_500(client, body, content_type):
    for path in ("/contact", "/api/v1/messages"):
        response = client.post(path, content=body, headers={"content-type": content_type})
        assert response.status_code < 500, (path, body[:80], response.text[:200])


@fuzz
@given(fields=st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=400), max_size=9))
def test_any_text_fields_never_give_a_500(client, fields):
    assert client.post("/contact", data=fields).status_code in (303, 400, 422, 429)
    assert client.post("/api/v1/messages", json=fields).status_code in (201, 422, 429)


@fuzz
@given(
    payload=st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=50),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.sampled_from(FIELDS), children, max_size=6)
        ),
        max_leaves=12,
    )
)
def test_any_json_shape_never_gives_a_500(client, payload):
    body = json.dumps(payload).encode()
    response = client.post(
        "/api/v1/messages", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code in (201, 422, 429)
