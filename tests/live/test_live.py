"""Live pages over HTTP: streams are asked for, bounded and read-only; presence is posted by the
page and shown to colleagues until it goes quiet; a stream reports news as it happens."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from inbox.db import session_scope
from inbox.main import create_app
from inbox.runtime import build_runtime
from tests.conftest import LiveServer, free_port
from tests.drafting.support import store_message
from tests.review.test_conversation import page_of, stored
from tests.staff.factories import PASSWORD, csrf_token, make_staff, sign_in

STREAM = {"accept": "text/event-stream"}


@pytest.fixture
def nurse(client, runtime):
    make_staff(runtime, email="anna@hospital.example")
    assert sign_in(client, email="anna@hospital.example").status_code == 303
    return client


def test_a_plain_get_of_a_stream_is_told_what_it_is_and_writes_nothing(nurse, runtime):
    conversation_id = stored(runtime)
    for path in ("/inbox/events", f"/inbox/conversations/{conversation_id}/events"):
        response = nurse.get(path)
        assert response.status_code == 406 and "server-sent events" in response.text


def test_past_the_cap_a_stream_is_refused_with_retry_after(nurse, runtime, app):
    app.state.live_streams.limit = 0

    response = nurse.get("/inbox/events", headers=STREAM)

    assert response.status_code == 503 and response.headers["retry-after"] == "30"


def test_presence_is_shown_to_colleagues_and_forgotten_when_the_page_goes_quiet(
    client, runtime, clock
):
    conversation_id = stored(runtime)
    make_staff(runtime, email="anna@hospital.example")
    make_staff(runtime, email="ben@hospital.example")
    sign_in(client, email="anna@hospital.example")
    page = page_of(client, conversation_id)
    posted = client.post(
        f"/inbox/conversations/{conversation_id}/presence",
        data={"csrf_token": csrf_token(page), "activity": "editing"},
    )
    assert posted.status_code == 204
    assert "anna@hospital.example is editing" not in page_of(client, conversation_id)  # not me

    client.cookies.clear()
    sign_in(client, email="ben@hospital.example")
    assert "anna@hospital.example is editing the reply" in page_of(client, conversation_id)
    clock.advance(timedelta(seconds=runtime.settings.presence_seconds + 1))
    assert "anna@hospital.example is editing" not in page_of(client, conversation_id)


def _ben_reports_presence(client, runtime) -> tuple[int, Callable[[str, str], None]]:
    """A conversation, Anna and Ben, Ben signed in; and how Ben's page reports (activity, page
    id)."""
    conversation_id = stored(runtime)
    make_staff(runtime, email="anna@hospital.example")
    make_staff(runtime, email="ben@hospital.example")
    sign_in(client, email="ben@hospital.example")
    path = f"/inbox/conversations/{conversation_id}/presence"

    def report(activity: str, page: str) -> None:
        token = csrf_token(page_of(client, conversation_id))
        answer = client.post(path, data={"csrf_token": token, "activity": activity, "page": page})
        assert answer.status_code == 204

    return conversation_id, report


def test_a_report_overtaken_by_its_pages_left_beacon_does_not_bring_the_colleague_back(
    client, runtime
):
    conversation_id, report = _ben_reports_presence(client, runtime)
    report("viewing", "first-tab")
    report("left", "first-tab")  # the tab closes: its beacon...
    report("viewing", "first-tab")  # ...overtook its earlier report, which now arrives

    client.cookies.clear()
    sign_in(client, email="anna@hospital.example")
    assert "ben@hospital.example is viewing" not in page_of(client, conversation_id)

    client.cookies.clear()
    sign_in(client, email="ben@hospital.example")
    report("viewing", "second-tab")  # Ben opens the page again
    client.cookies.clear()
    sign_in(client, email="anna@hospital.example")
    assert "ben@hospital.example is viewing" in page_of(client, conversation_id)


def test_a_late_report_of_a_page_left_for_the_next_one_does_not_bring_the_colleague_back(
    client, runtime
):
    conversation_id, report = _ben_reports_presence(client, runtime)
    report("editing", "before-save")
    report("left", "before-save")  # "Save the draft" loads the next page...
    report("viewing", "after-save")
    report("left", "after-save")  # ...which Ben closes
    report("editing", "before-save")  # the first page's last report arrives only now

    client.cookies.clear()
    sign_in(client, email="anna@hospital.example")
    page = page_of(client, conversation_id)
    assert "ben@hospital.example is editing" not in page
    assert "ben@hospital.example is viewing" not in page


def test_presence_refuses_an_unknown_activity_and_an_unknown_conversation(nurse, runtime):
    conversation_id = stored(runtime)
    token = csrf_token(page_of(nurse, conversation_id))
    odd = nurse.post(
        f"/inbox/conversations/{conversation_id}/presence",
        data={"csrf_token": token, "activity": "dancing"},
    )
    missing = nurse.post(
        "/inbox/conversations/999999/presence", data={"csrf_token": token, "activity": "viewing"}
    )
    assert odd.status_code == 422 and missing.status_code == 404


def test_a_stream_says_ready_then_changed_when_a_message_arrives_and_then_ends(settings):
    live = settings.model_copy(
        update={"live_poll_seconds": 0.1, "live_stream_seconds": 5.0, "run_worker": False}
    )
    runtime = build_runtime(live)
    make_staff(runtime, email="anna@hospital.example")
    server = LiveServer(create_app(runtime=runtime), free_port())
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as web:
            login = web.get("/login")
            web.post("/login", data={
                "email": "anna@hospital.example", "password": PASSWORD,
                "csrf_token": csrf_token(login.text),
            })  # fmt: skip

            def arrive() -> None:
                with session_scope(runtime.engine) as session:
                    store_message(session, settings=runtime.settings, now=runtime.clock.now())

            started = time.monotonic()
            events, stored_at = [], 0.0
            with web.stream("GET", "/inbox/events", headers=STREAM) as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                for line in stream.iter_lines():
                    if not line.startswith("event:"):
                        continue
                    events.append((line.split(":", 1)[1].strip(), time.monotonic() - started))
                    if events[-1][0] == "ready":  # a message arrives once the stream is open
                        arrive()
                        stored_at = time.monotonic() - started
            took = time.monotonic() - started
    finally:
        server.stop()
        runtime.engine.dispose()

    names = [name for name, _ in events]
    assert names[:2] == ["ready", "changed"], events
    assert events[1][1] - stored_at < 3  # within a few polls of the message arriving
    assert 4.5 < took < 12  # the stream ended by itself after its lifetime
