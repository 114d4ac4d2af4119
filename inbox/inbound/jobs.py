"""The worker's periodic jobs of inbound mail, for the composition root to register."""

from __future__ import annotations

from collections.abc import Callable

from inbox.inbound.process import process_pending
from inbox.runtime import Runtime


def inbound_jobs(runtime: Runtime) -> list[Callable[[Runtime], int]]:
    """Processing stored mail always (the pipe works in every mode)."""
    return [process_pending]
