"""Background work in the web process steps aside while requests are being answered."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient

from inbox.foreground import Foreground


def test_a_request_is_counted_while_it_is_answered_and_not_after(app, runtime):
    seen: list[int] = []

    def probe() -> dict[str, int]:
        seen.append(runtime.foreground.in_flight)
        return {}

    app.add_api_route("/probe", probe)
    with TestClient(app) as client:
        assert client.get("/probe").status_code == 200
        assert client.get("/healthz").status_code == 200
    assert seen == [1]
    assert runtime.foreground.in_flight == 0
    assert runtime.foreground.step_aside(0) is True  # nothing in flight: no wait at all


def test_a_live_stream_open_for_hours_does_not_hold_background_work(app, runtime):
    seen: list[int] = []
    app.add_api_route("/inbox/probe/events", lambda: seen.append(runtime.foreground.in_flight))
    with TestClient(app) as client:
        client.get("/inbox/probe/events")
    assert seen == [0]


def test_background_work_waits_for_the_request_in_flight_but_never_for_long():
    foreground = Foreground()
    foreground.enter()
    started = time.monotonic()
    assert foreground.step_aside(0.2) is False  # still busy: it gives up waiting, and goes on
    assert 0.15 <= time.monotonic() - started < 5

    waited: list[float] = []

    def background() -> None:
        began = time.monotonic()
        foreground.step_aside(10)
        waited.append(time.monotonic() - began)

    thread = threading.Thread(target=background)
    thread.start()
    time.sleep(0.1)
    foreground.leave()  # the request is answered: the background work goes on at once
    thread.join(timeout=5)
    assert waited and waited[0] < 5
    assert foreground.in_flight == 0
