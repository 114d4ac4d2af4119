"""The thank-you page's urgency check in its helper process: the same answers as on the loop,
many at once, and a helper that dies or hangs costs a patient at most a moment, never an answer."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from inbox.intake.first_look import FirstLook, looks_urgent
from inbox.runtime import Runtime

DEV_SET = Path(__file__).resolve().parents[3] / "shared" / "eval" / "messages-dev.jsonl"


def _dev_messages() -> list[tuple[str, str, bool]]:
    rows = [json.loads(line) for line in DEV_SET.read_text().splitlines() if line.strip()]
    return [(row["subject"], row["message"], row["urgent"]) for row in rows]


@pytest.fixture
async def first_look(runtime: Runtime) -> AsyncIterator[FirstLook]:
    look = FirstLook(runtime, answer_seconds=0.5)
    await look.begin()
    assert look.helped, "the helper process did not start"
    yield look
    await look.close()


async def _wait_helped(look: FirstLook, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not look.helped and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert look.helped, "no new helper after the old one was lost"


async def test_the_helper_answers_as_the_loop_would_for_many_messages_at_once(
    first_look: FirstLook, runtime: Runtime
):
    messages = _dev_messages()
    answers = await asyncio.gather(*(first_look.urgent(s, t) for s, t, _ in messages))
    expected = [looks_urgent(runtime.knowledge, s, t) for s, t, _ in messages]
    assert answers == expected
    urgent = [
        answer for answer, (_, _, labelled) in zip(answers, messages, strict=True) if labelled
    ]
    assert urgent and all(urgent), "a labelled emergency was not flagged by the helper"


async def test_a_killed_helper_costs_no_answer_and_is_replaced(
    first_look: FirstLook, runtime: Runtime
):
    subject, text, _ = next(m for m in _dev_messages() if m[2])
    old = first_look._helper
    assert old is not None
    os.kill(old.process.pid, signal.SIGKILL)
    answers = await asyncio.wait_for(
        asyncio.gather(*(first_look.urgent(subject, text) for _ in range(5))), 5
    )
    assert answers == [True] * 5
    await _wait_helped(first_look)
    assert first_look._helper is not old
    assert await first_look.urgent(subject, text) is True


async def test_a_hung_helper_is_given_up_after_its_time(first_look: FirstLook):
    subject, text, _ = next(m for m in _dev_messages() if m[2])
    old = first_look._helper
    assert old is not None
    os.kill(old.process.pid, signal.SIGSTOP)  # alive, but answers nothing
    try:
        started = time.monotonic()
        assert await asyncio.wait_for(first_look.urgent(subject, text), 5) is True
        assert time.monotonic() - started < 2.0  # the helper's time (0.5 s) and the check here
    finally:
        os.kill(old.process.pid, signal.SIGCONT)
    await _wait_helped(first_look)
    assert await first_look.urgent("thank you", "The nurse explained everything.") is False
    assert not old.process.is_alive()
