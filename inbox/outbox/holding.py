"""What a worker holds and how long it may still prove it: the bookkeeping that keeps a live
worker from sending a mail twice when it is slow or the database stalls.

- Every claimed mail stays "in hand" until its outcome is written or it is given back; the
  worker renews the leases of everything in hand every quarter lease, and a renewal that leaves a
  mail out means another worker took it over: that mail is dropped unsent.
- A mail is started only under a lease, written before the start, that outlasts the longest
  send (`SmtpTarget.longest_send`: up to the end of data, then the wait for its reply) by half a
  lease more (timers fire late on a starved machine). A claim writes such a lease (`send_lease`:
  a whole send and a lease more) on the mails it takes, so that a batch sent within half a lease
  of its claim needs no other write; a mail that waited in hand for longer (a slow relay) gets
  its lease and the next mails' extended to cover a send just before it starts (`cover`). A
  renewal that comes late can then cost a mail that was waiting in hand (it is taken over, and
  the cover finds it lost), never one that is being sent: no other worker may take that over
  before its reply has come. A renewal never shortens a lease.
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

    def __init__(self, *, lease: timedelta, longest_send: timedelta, cover_ahead: int):
        self.lease = lease
        self.renew_every = lease.total_seconds() / 4
        self.needed_to_send = longest_send + lease / 2  # left on a lease to start a mail
        self.send_lease = longest_send + lease  # what a cover writes
        self.cover_ahead = max(1, cover_ahead)
        self._held: dict[int, ClaimedMail] = {}  # in claim order, the order they are sent in
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

    def holds(self, mail: ClaimedMail) -> bool:
        return mail.id in self._held

    def may_send(self, mail: ClaimedMail, now: datetime) -> bool:
        """Still ours, under a lease that lasts for the longest send from `now`, and then some."""
        return mail.id in self._held and now + self.needed_to_send <= mail.lease_expires_at

    def to_cover(self, mail: ClaimedMail, now: datetime) -> list[int]:
        """`mail` and the next mails in hand whose lease would not cover a send started `now`:
        the ids whose leases to extend to `now + send_lease` before sending `mail`."""
        ids = [mail.id]
        for other in self._held.values():
            if len(ids) >= self.cover_ahead:
                break
            if other.id != mail.id and now + self.needed_to_send > other.lease_expires_at:
                ids.append(other.id)
        return ids

    # --- renewals and covers

    def renewal_due(self) -> bool:
        return bool(self._held) and time.monotonic() - self._renewed_at >= self.renew_every

    def renewal_made(self) -> None:
        self._renewed_at = time.monotonic()

    def extended(self, asked: Iterable[int], kept: set[int], *, deadline: datetime) -> list[int]:
        """Record that the leases of `kept` now last at least until `deadline` and that the rest
        of `asked` were taken over by another worker (dropped); returns the ids lost."""
        lost = []
        for mail_id in asked:
            mail = self._held.get(mail_id)
            if mail is None:
                continue
            if mail_id in kept:
                mail.lease_expires_at = max(mail.lease_expires_at, deadline)
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
