"""A row id no database can hold (past 2^63 - 1) is a 404 on every route that takes one."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.staff.factories import csrf_token, make_staff, sign_in

TOO_BIG = str(2**63)


def routes_with_ids(app) -> list[tuple[str, str]]:
    """(method, path) of every route whose path holds a row id (`{…_id}`), staff routes (which
    the public OpenAPI document leaves out) included, so that a new route is covered too."""
    found = []

    def walk(routes, prefix: str) -> None:
        for route in routes:
            included = getattr(route, "original_router", None)
            if included is not None:
                walk(included.routes, prefix + route.include_context.prefix)
                continue
            if getattr(route, "methods", None) and re.search(r"\{[a-z_]+_id\}", route.path):
                found.extend((method, prefix + route.path) for method in sorted(route.methods))

    walk(app.router.routes, "")
    return found


def test_every_route_with_an_id_is_found(app):
    assert len(routes_with_ids(app)) >= 13


@pytest.mark.parametrize("value", [TOO_BIG, "-" + TOO_BIG, "9" * 40])
def test_an_id_past_the_largest_row_id_is_404_on_every_route(app, runtime, value):
    client = TestClient(
        app, base_url="http://testserver", raise_server_exceptions=False, follow_redirects=False
    )
    staff = make_staff(runtime)
    assert sign_in(client, email=staff.email).status_code == 303
    token = csrf_token(client.get("/inbox").text)
    answers = {}
    for method, path in routes_with_ids(app):
        url = re.sub(r"\{[a-z_]+_id\}", value, path)
        response = client.request(
            method, url, data={"csrf_token": token} if method == "POST" else None
        )
        answers[f"{method} {path}"] = response.status_code
    assert set(answers.values()) == {404}, answers
