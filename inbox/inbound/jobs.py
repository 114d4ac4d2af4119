"""The worker's periodic jobs of inbound mail, for the composition root to register."""

from __future__ import annotations

from collections.abc import Callable

from inbox.inbound.imap import ImapPoller
from inbox.inbound.process import process_pending
from inbox.runtime import Runtime


def inbound_jobs(runtime: Runtime) -> list[Callable[[Runtime], int]]:
    """IMAP polling when INBOX_INBOUND=imap, then processing stored mail (always: the pipe works
    in every mode)."""
    polling = [ImapPoller()] if runtime.settings.inbound == "imap" else []
    return [*polling, process_pending]
