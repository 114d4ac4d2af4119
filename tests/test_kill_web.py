"""kill -9 of the web process while patients are posting: every submission the service
acknowledged (303 to the thank-you page, or 201) is in the database afterwards. On SQLite and
PostgreSQL (INBOX_TEST_DATABASE_URL).

Bounded: four patients post for at most 3 s (and at most 400 posts) before the kill.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import httpx
import pytest
import sqlalchemy as sa

from inbox.clock import FrozenClock
from inbox.conversations.models import Message
from inbox.db import create_db_engine
from tests.conftest import TEST_SECRET_KEY
from tests.factories import api_payload, form_fields
from tests.served import start

pytestmark = pytest.mark.slow

PATIENTS = 4
LOAD_SECONDS = 3.0
MAX_POSTS = 400


def test_kill_9_under_load_loses_no_acknowledged_submission(tmp_path, database_url):
    served = start(
        tmp_path,
        database_url=database_url,
        INBOX_RATE_LIMIT_IP="0",
        INBOX_RATE_LIMIT_ADDRESS="0",
    )
    acknowledged: list[str] = []
    refused: list[str] = []
    sent = iter(range(MAX_POSTS))
    lock = threading.Lock()
    stop = threading.Event()
    keys = SimpleNamespace(secret_key=TEST_SECRET_KEY)  # the served process's key

    def patient(number: int) -> None:
        with httpx.Client(base_url=served.url, timeout=10) as http:
            while not stop.is_set():
                with lock:
                    index = next(sent, None)
                if index is None:
                    return
                email = f"p{number}-{index}@example.com"
                try:
                    if index % 2:
                        response = http.post("/api/v1/messages", json=api_payload(email=email))
                    else:
                        fields = form_fields(keys, FrozenClock(datetime.now(UTC)), email=email)
                        response = http.post("/contact", data=fields)
                except httpx.TransportError:
                    return  # the process died under this request: never acknowledged
                with lock:
                    (acknowledged if response.status_code in (201, 303) else refused).append(email)

    threads = [threading.Thread(target=patient, args=(n,)) for n in range(PATIENTS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + LOAD_SECONDS
    while len(acknowledged) < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    served.kill()  # mid-load: requests are in flight
    stop.set()
    for thread in threads:
        thread.join(timeout=20)

    assert len(acknowledged) >= 20, "the load ran before the kill"
    assert refused == []
    engine = create_db_engine(database_url, pooled=False)
    try:
        with engine.connect() as connection:
            stored = set(connection.execute(sa.select(Message.__table__.c.email)).scalars())
    finally:
        engine.dispose()
    lost = [email for email in acknowledged if email not in stored]
    assert lost == [], f"{len(lost)} of {len(acknowledged)} acknowledged submissions lost"
    print(f"kill -9: {len(acknowledged)} acknowledged, {len(stored)} stored, 0 lost")
