"""The first look at a new message: may it describe an emergency? (for the thank-you page)

The check (the rules' red flags, then the learned model) costs a few tenths of a millisecond of
Python, which on the event loop was most of what a form post cost. `inbox serve` therefore runs
it in a helper process of its own (`FirstLook.begin`), on the machine's other core. The loop
talks to it over a socket pair, with asyncio's own streams: the questions of one turn of the
loop go as one frame, without waiting for the answers to the ones before (the helper works
through them in order), and the answers come back as one frame per list. No thread of ours
stands between the two, so no answer waits for the interpreter lock to change hands.

Should the helper be slow (`ANSWER_SECONDS` by default) or gone, the check runs here instead
and a new helper is started: a patient never waits on it for long, and no message is refused
for it.
An app built without `serving` (tests, tools) checks on the loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import signal
import socket
import struct
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from inbox.knowledge.loader import Knowledge, load_knowledge
from inbox.knowledge.service import assess_urgency, ready
from inbox.runtime import Runtime

log = logging.getLogger(__name__)

ANSWER_SECONDS = 1.0  # the longest wait for the helper before the check runs here instead
START_SECONDS = 60.0  # the helper loading the articles and the model
_LENGTH = struct.Struct("!I")  # every frame: its length, then JSON


def looks_urgent(knowledge: Knowledge, subject: str, text: str) -> bool:
    """Whether a new message may describe an emergency: urgent or a possible one."""
    return bool(assess_urgency(knowledge, subject=subject, text=text))


def _frame(value: Any) -> bytes:
    body = json.dumps(value, separators=(",", ":")).encode()
    return _LENGTH.pack(len(body)) + body


async def _read_frame(reader: asyncio.StreamReader) -> Any:
    head = await reader.readexactly(_LENGTH.size)
    return json.loads(await reader.readexactly(_LENGTH.unpack(head)[0]))


@dataclass(frozen=True)
class _Source:
    """What the helper needs to load the same knowledge as the app (sent to it pickled)."""

    directory: Path
    site_base_url: str


def _serve(channel: socket.socket, source: _Source) -> None:
    """The helper's whole life: load, say ready, then answer frames until the socket closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops us
    knowledge = load_knowledge(source.directory, site_base_url=source.site_base_url)
    ready(knowledge)
    incoming = channel.makefile("rb")
    channel.sendall(_frame("ready"))
    while True:
        head = incoming.read(_LENGTH.size)
        if len(head) < _LENGTH.size:  # the server closed its end, or is gone
            return
        questions = json.loads(incoming.read(_LENGTH.unpack(head)[0]))
        answers = [looks_urgent(knowledge, subject, text) for subject, text in questions]
        channel.sendall(_frame(answers))


@dataclass
class _Question:
    subject: str
    text: str
    future: asyncio.Future[bool]


@dataclass
class _Helper:
    """One helper process, the loop's streams to it, and the lists it has not answered yet."""

    process: BaseProcess
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    asked: deque[list[_Question]] = field(default_factory=deque)
    deadline: asyncio.TimerHandle | None = None  # for the oldest list not answered
    listening: asyncio.Task[None] | None = None


class FirstLook:
    """Answers `urgent(subject, text)`: in the helper process once `begin` has run."""

    def __init__(self, runtime: Runtime, *, answer_seconds: float = ANSWER_SECONDS) -> None:
        self.knowledge = runtime.knowledge
        self.answer_seconds = answer_seconds
        self._source = _Source(runtime.settings.knowledge_dir(), runtime.settings.site_base_url)
        self._helper: _Helper | None = None
        self._queue: list[_Question] = []
        self._starting: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def helped(self) -> bool:
        """Whether a helper process is answering."""
        return self._helper is not None

    async def begin(self) -> None:
        """Start the helper and wait until it has loaded; if it cannot start, say so and go on
        checking on the loop."""
        try:
            process, channel = await asyncio.to_thread(self._spawn)
        except OSError:
            log.exception("the first-look helper could not start; checking on the loop")
            return
        try:
            reader, writer = await asyncio.open_unix_connection(sock=channel)
            if await asyncio.wait_for(_read_frame(reader), START_SECONDS) != "ready":
                raise RuntimeError("the first-look helper did not say it was ready")
        except (OSError, RuntimeError, asyncio.IncompleteReadError, ValueError):
            log.exception("the first-look helper could not start; checking on the loop")
            process.kill()
            return
        if self._closed:
            writer.close()
            await asyncio.to_thread(_end, process)
            return
        helper = self._helper = _Helper(process, reader, writer)
        helper.listening = asyncio.create_task(self._listen(helper))

    def _spawn(self) -> tuple[BaseProcess, socket.socket]:
        context = multiprocessing.get_context("spawn")  # never fork a process with threads
        ours, theirs = socket.socketpair()
        process = context.Process(
            target=_serve, args=(theirs, self._source), name="inbox-first-look", daemon=True
        )
        process.start()
        theirs.close()
        return process, ours

    async def close(self) -> None:
        """Stop the helper: it exits when its socket closes."""
        self._closed = True
        if self._starting is not None:
            await self._starting
        helper, self._helper = self._helper, None
        if helper is not None:
            await self._give_up(helper)

    async def urgent(self, subject: str, text: str) -> bool:
        """Whether this new message may describe an emergency."""
        if self._helper is None:
            return looks_urgent(self.knowledge, subject, text)
        question = _Question(subject, text, asyncio.get_running_loop().create_future())
        self._queue.append(question)
        if len(self._queue) == 1:  # the first of this turn: ask once the turn is over
            asyncio.get_running_loop().call_soon(self._ask)
        return await question.future

    def _ask(self) -> None:
        """Send this turn's questions, without waiting for the answers to earlier ones."""
        questions, self._queue = self._queue, []
        helper = self._helper
        if helper is None:
            _answer_here(self.knowledge, questions)
            return
        helper.asked.append(questions)
        helper.writer.write(_frame([(question.subject, question.text) for question in questions]))
        if helper.deadline is None:
            self._time(helper)

    def _time(self, helper: _Helper) -> None:
        """Give the oldest list `helper` has not answered its time from now (none: no timer)."""
        if helper.deadline is not None:
            helper.deadline.cancel()
        helper.deadline = (
            asyncio.get_running_loop().call_later(self.answer_seconds, self._late, helper)
            if helper.asked
            else None
        )

    async def _listen(self, helper: _Helper) -> None:
        """Each list of answers to its questions, in order, until the helper is gone."""
        try:
            while True:
                self._answered(helper, await _read_frame(helper.reader))
        except (asyncio.IncompleteReadError, OSError, ValueError):
            if self._helper is helper:
                log.warning("the first-look helper stopped; starting a new one")
                self._replace()

    def _answered(self, helper: _Helper, answers: list[bool]) -> None:
        if not helper.asked:  # given up meanwhile: its questions were answered here
            return
        questions = helper.asked.popleft()
        self._time(helper)  # the next oldest list gets its own time
        if len(answers) != len(questions):
            raise ValueError("the helper's answers do not match the questions")
        for question, answer in zip(questions, answers, strict=True):
            if not question.future.done():
                question.future.set_result(bool(answer))

    def _late(self, helper: _Helper) -> None:
        """The oldest questions have waited `answer_seconds`."""
        helper.deadline = None
        if self._helper is helper:
            log.warning("the first-look helper did not answer in time; starting a new one")
            self._replace()

    def _replace(self) -> None:
        """Give the helper up and start another; until it is ready, the loop checks."""
        helper, self._helper = self._helper, None
        if helper is not None:
            self._let_go(helper)
            self._starting = asyncio.create_task(self._restart(helper.process))

    async def _restart(self, process: BaseProcess) -> None:
        await asyncio.to_thread(_end, process)
        if not self._closed:
            await self.begin()

    async def _give_up(self, helper: _Helper) -> None:
        self._let_go(helper)
        await asyncio.to_thread(_end, helper.process)

    def _let_go(self, helper: _Helper) -> None:
        """Answer here what `helper` has not answered, and close our end of its socket (it
        exits when it sees that)."""
        if helper.deadline is not None:
            helper.deadline.cancel()
        while helper.asked:
            _answer_here(self.knowledge, helper.asked.popleft())
        helper.writer.close()
        if helper.listening is not None and helper.listening is not asyncio.current_task():
            helper.listening.cancel()


def _answer_here(knowledge: Knowledge, questions: list[_Question]) -> None:
    for question in questions:
        if not question.future.done():
            question.future.set_result(looks_urgent(knowledge, question.subject, question.text))


def _end(process: BaseProcess) -> None:
    """Wait for the helper to exit (its socket is closed), and kill it if it does not."""
    process.join(timeout=2)
    if process.is_alive():
        process.kill()
        process.join(timeout=2)
