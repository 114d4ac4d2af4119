"""What a worker holds and how long it may still prove it: the bookkeeping that keeps a live
worker from sending a mail twice when the database stalls.

- Every claimed mail stays "in hand" until its outcome is written or it is given back; the
  worker renews the leases of everything in hand every quarter lease, and a renewal that leaves a
  mail out means another worker took it over: that mail is dropped unsent.
- A mail is started only while the lease the worker last proved outlasts a whole send (capped at
  half a lease: a healthy worker renews long before that, a stalled one stops starting sends
  half a lease before its claims could be taken over).
- A database call that fails, or takes longer than a quarter lease, is a stall: every worker's
  renewals may have failed in it too, so the leases that ran out meanwhile prove nothing about
  their owners being dead. For one lease after such a call the worker takes over no expired
  lease; the live owners use that time to write their outcomes and renew their claims.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from inbox.outbox.claims import ClaimedMail


class Hands:
    """The mails one worker holds, with the lease deadline it last proved for each."""

    def __init__(self, *, lease: timedelta, longest_send: timedelta):
        self.lease = lease
        self.send_window = min(longest_send, lease / 2)
        self.renew_every = lease.total_seconds() / 4
        self._held: dict[int, ClaimedMail] = {}
        self._renewed_at = time.monotonic()
        self._no_takeover_until: datetime | None = None

    def __len__(self) -> int:
        return len(self._held)

    def ids(self) -> list[int]:
        return list(self._held)

    def take(self, mails: Iterable[ClaimedMail]) -> None:
        for mail in mails:
            self._held[mail.id] = mail

    def let_go(self, mail_ids: Iterable[int]) -> None:
        """The outcomes are written, or the mails given back: no longer ours."""
        for mail_id in mail_ids:
            self._held.pop(mail_id, None)

    def may_send(self, mail: ClaimedMail, now: datetime) -> bool:
        """Still ours, and the lease we proved lasts for the longest send from `now`."""
        return mail.id in self._held and now + self.send_window < mail.lease_expires_at

    # --- renewals

    def renewal_due(self) -> bool:
        return bool(self._held) and time.monotonic() - self._renewed_at >= self.renew_every

    def renewed(self, asked: Iterable[int], kept: set[int], *, deadline: datetime) -> list[int]:
        """Record a renewal of `asked` that kept `kept` until `deadline`; returns the ids lost."""
        self._renewed_at = time.monotonic()
        lost = []
        for mail_id in asked:
            mail = self._held.get(mail_id)
            if mail is None:
                continue
            if mail_id in kept:
                mail.lease_expires_at = deadline
            else:
                lost.append(mail_id)
                del self._held[mail_id]
        return lost

    # --- stalls

    def database_call(self, seconds: float, *, failed: bool, now: datetime) -> None:
        """Note how a call went; a failed or slow one holds off take-overs for one lease."""
        if failed or seconds > self.renew_every:
            self._no_takeover_until = now + self.lease

    def may_take_over(self, now: datetime) -> bool:
        return self._no_takeover_until is None or now >= self._no_takeover_until
