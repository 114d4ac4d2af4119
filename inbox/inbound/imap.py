"""IMAP polling (imap-tools): read new mail of one mailbox into the inbound path.

Where reading stands is kept in the database per mailbox (UIDVALIDITY and the last UID taken),
never in the `\\Seen` flag, which people reading the same mailbox change. Nothing is deleted or
flagged: mail is fetched with BODY.PEEK. On the first connection (or when UIDVALIDITY changed,
so old UIDs mean nothing) the mail already there is a backlog nobody asked us to answer: the
cursor starts after it. Each mail is stored and committed before the cursor moves past it; a
crash in between fetches it again, and its Message-ID drops the copy.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from imap_tools import MailBox, MailBoxUnencrypted, MailMessage
from sqlalchemy.engine import Engine

from inbox.config import Settings
from inbox.db import session_scope
from inbox.inbound.models import ImapCursor, InboundSource
from inbox.inbound.store import store_inbound
from inbox.runtime import Runtime

log = logging.getLogger(__name__)
FETCH_LIMIT = 200  # mails per poll; the rest waits for the next one


class RawMailMessage(MailMessage):
    """imap-tools' message that also keeps the bytes exactly as the server sent them."""

    def __init__(self, fetch_data: list) -> None:
        super().__init__(fetch_data)
        self.raw: bytes = self._get_message_data_parts(fetch_data)[0]


def _raw(message: MailMessage) -> bytes:
    """The bytes as the server sent them (the mailbox fetches RawMailMessage)."""
    return message.raw if isinstance(message, RawMailMessage) else message.obj.as_bytes()


@dataclass(frozen=True)
class PollResult:
    stored: int
    skipped_backlog: int  # mails found on first connect, left alone


def mailbox_key(settings: Settings) -> str:
    server = f"{settings.imap_host}:{settings.imap_port}"
    return f"{settings.imap_username}@{server}/{settings.imap_folder}"[:400]


def _open(settings: Settings) -> MailBox | MailBoxUnencrypted:
    cls = MailBox if settings.imap_tls else MailBoxUnencrypted
    box = cls(settings.imap_host, settings.imap_port, timeout=30)
    box.email_message_class = RawMailMessage
    return box


def poll_once(runtime: Runtime) -> PollResult:
    """Connect, take every mail after the cursor into the inbound path, move the cursor."""
    settings, engine = runtime.settings, runtime.engine
    key = mailbox_key(settings)
    box = _open(settings)
    with box.login(settings.imap_username, settings.imap_password, settings.imap_folder):
        status = box.folder.status(settings.imap_folder, ["MESSAGES", "UIDVALIDITY", "UIDNEXT"])
        uidvalidity, uidnext = int(status["UIDVALIDITY"]), int(status["UIDNEXT"])
        cursor = _cursor(engine, key)
        if cursor is None or cursor[0] != uidvalidity:
            _save_cursor(runtime, key, uidvalidity, uidnext - 1)
            backlog = int(status.get("MESSAGES", 0) or 0)
            log.info(
                "IMAP %s: starting after UID %d (UIDVALIDITY %d)", key, uidnext - 1, uidvalidity
            )
            return PollResult(0, backlog)
        last_uid = cursor[1]
        if uidnext - 1 <= last_uid:
            return PollResult(0, 0)
        # "n:*" always matches the newest mail, even below n: filter on the numbers
        uids = [uid for uid in box.uids(f"UID {last_uid + 1}:*") if int(uid) > last_uid]
        uids = sorted(uids, key=int)[:FETCH_LIMIT]
        stored = 0
        for message in box.fetch(uid_list=uids, mark_seen=False, bulk=False):
            uid = int(message.uid or 0)
            store_inbound(
                engine, raw=_raw(message), source=InboundSource.IMAP, envelope_from=None,
                recipients=[], now=runtime.clock.now(),
            )  # fmt: skip
            _save_cursor(runtime, key, uidvalidity, uid)
            stored += 1
        return PollResult(stored, 0)


def _cursor(engine: Engine, key: str) -> tuple[int, int] | None:
    with session_scope(engine) as session:
        row = session.get(ImapCursor, key)
        return (row.uidvalidity, row.last_uid) if row is not None else None


def _save_cursor(runtime: Runtime, key: str, uidvalidity: int, last_uid: int) -> None:
    """Move the cursor forward (never back: two workers may poll the same mailbox)."""
    with session_scope(runtime.engine) as session:
        row = session.get(ImapCursor, key, with_for_update=True)
        now = runtime.clock.now()
        if row is None:
            session.add(
                ImapCursor(mailbox=key, uidvalidity=uidvalidity, last_uid=last_uid, updated_at=now)
            )
        elif row.uidvalidity != uidvalidity or last_uid > row.last_uid:
            row.uidvalidity, row.last_uid, row.updated_at = uidvalidity, last_uid, now


class ImapPoller:
    """The worker's job: poll every INBOX_IMAP_POLL_SECONDS (the pacing is this process's own;
    where reading stands is in the database)."""

    __name__ = "imap_poll"

    def __init__(self) -> None:
        self._next = 0.0

    def __call__(self, runtime: Runtime) -> int:
        now = time.monotonic()
        if now < self._next:
            return 0
        self._next = now + max(1.0, runtime.settings.imap_poll_seconds)
        try:
            return poll_once(runtime).stored
        except Exception as exc:  # the server is down or refuses us: try again next time
            log.warning("IMAP poll of %s failed: %s: %s", mailbox_key(runtime.settings),
                        type(exc).__name__, exc)  # fmt: skip
            return 0
