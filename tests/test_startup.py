"""What `inbox serve` readies before its first request, so that no first request pays for it."""

from __future__ import annotations

import fastapi.routing
import pytest
from fastapi.testclient import TestClient

from inbox.main import create_app


@pytest.mark.parametrize("serving", [True, False])
def test_a_served_app_resolves_every_route_before_its_first_request(runtime, monkeypatch, serving):
    # FastAPI resolves an included router's routes (their dependencies, from signatures) on
    # the first request that reaches it, on the event loop, where every form post in flight
    # waits for it. `inbox serve` (serving=True) does it at start-up.
    app = create_app(runtime=runtime, serving=serving)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        resolved: list[str] = []
        original = fastapi.routing._populate_api_route_state

        def counting(route, path, *args, **kwargs):
            resolved.append(path)
            return original(route, path, *args, **kwargs)

        monkeypatch.setattr(fastapi.routing, "_populate_api_route_state", counting)
        assert client.get("/login").status_code == 200
        assert client.get("/inbox").status_code == 303  # to the sign-in page
        assert client.get("/contact").status_code == 200
    if serving:
        assert resolved == []
    else:  # the default that `serving` changes: the first requests resolve their routers
        assert "/login" in resolved and "/contact" in resolved
