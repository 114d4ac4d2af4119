"""Sign-in throttling that an attacker cannot turn into a lockout of the real user.

Every attempt is counted before its password (or code) is checked, atomically in the database,
so no number of parallel requests in any number of processes gets more checks than the limits:

- per (account, client): `login_attempts_per_15min` attempts. The client is the browser's
  known-device token when it signed in to this account before, otherwise its IP address;
- per IP address: four times that, so one address cannot try many accounts;
- per account, for clients it has not signed in from: a progressive delay. The first `limit`
  failures are free; each further one doubles the wait before the next (1 s, 2 s, 4 s, … up to
  `MAX_DELAY`). Known devices skip it, so a nurse's own browser gets in while someone elsewhere
  guesses at her password.

Successful attempts are taken back from the counters. Sign-in steps (`password`, `code`) count
separately. Run `count_attempt` in a short transaction and commit it before verifying.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from inbox.config import Settings
from inbox.db import rows_changed, table_of
from inbox.ratelimit import Rule, client_network, forgive, hit_all
from inbox.staff.models import LoginGate

log = logging.getLogger(__name__)

WINDOW_SECONDS = 15 * 60
# An office shares one public IP; its staff mistyping now and then must not lock everyone out,
# while one IP trying many accounts is still stopped.
IP_LIMIT_FACTOR = 4
MAX_DELAY = 15 * 60


@dataclass(frozen=True)
class Client:
    """Who is trying: the IP address and, when it signed in to this account before, the
    browser's known-device token."""

    ip: str | None
    device: str | None = None


def _digest(settings: Settings, text: str) -> str:
    return hmac.new(settings.secret_key.encode(), text.encode(), hashlib.sha256).hexdigest()[:32]


def account_key(settings: Settings, email: str) -> str:
    """A keyed hash of a normalised e-mail address: the account in counters and device cookies."""
    return _digest(settings, "account:" + email.strip().lower())


def _hits(settings: Settings, step: str, account: str, client: Client) -> list[tuple[str, Rule]]:
    limit = settings.login_attempts_per_15min
    network = client_network(client.ip)
    who = f"d:{client.device}" if client.device else f"ip:{_digest(settings, network or '')}"
    hits = [(f"login-{step}:{account}:{who}", Rule(limit=limit, period=WINDOW_SECONDS))]
    if network:
        hits.append(
            (
                f"login-{step}-ip:{_digest(settings, network)}",
                Rule(limit=limit * IP_LIMIT_FACTOR, period=WINDOW_SECONDS),
            )
        )
    return hits


def delay_after(failures: int, *, limit: int) -> int:
    """Seconds an unknown client waits after the account's `failures`-th failure in a row."""
    if limit <= 0 or failures < limit:
        return 0
    return min(2 ** (failures - limit), MAX_DELAY)


def _pass_gate(session: Session, *, key: str, limit: int, epoch: int) -> int | None:
    """Count one attempt at the account's gate; seconds to wait when it is closed, else None."""
    table = table_of(LoginGate)
    session.execute(
        sa.text(
            "INSERT INTO login_gate (key, failures, not_before) VALUES (:key, 0, 0) "
            "ON CONFLICT (key) DO NOTHING"
        ),
        {"key": key},
    )
    failures, not_before = session.execute(
        sa.select(table.c.failures, table.c.not_before).where(table.c.key == key)
    ).one()
    if not_before > epoch:
        return not_before - epoch
    counted = 0 if epoch - not_before >= WINDOW_SECONDS else failures  # a quiet spell forgets
    claimed = session.execute(
        sa.update(table)
        .where(table.c.key == key, table.c.failures == failures)
        .where(table.c.not_before == not_before)
        .values(failures=counted + 1, not_before=epoch + delay_after(counted + 1, limit=limit))
    )
    # another attempt on this account took the same turn a moment ago (compare-and-set lost)
    return None if rows_changed(claimed) == 1 else 1


def count_attempt(
    session: Session,
    *,
    settings: Settings,
    step: str,
    email: str,
    client: Client,
    now: datetime,
) -> int | None:
    """Count one attempt at `step` for this account and client; seconds to wait when it is over
    a limit (the attempt must then not be checked), else None.

    Commit before checking the password or code, also when refused: the count must be visible
    to every other attempt first."""
    account = account_key(settings, email)
    wait = hit_all(session, _hits(settings, step, account, client), now=now)
    if wait is None and client.device is None:
        limit = settings.login_attempts_per_15min
        wait = _pass_gate(session, key=f"{step}:{account}", limit=limit, epoch=int(now.timestamp()))
    if wait is not None:
        log.warning("sign-in %s step throttled", step)
    return wait


def succeeded(
    session: Session,
    *,
    settings: Settings,
    step: str,
    email: str,
    client: Client,
    now: datetime,
) -> None:
    """The attempt at `step` was right: it does not count, and the account's gate opens again
    (unless the attempt came from a known device, which never passed the gate)."""
    account = account_key(settings, email)
    forgive(session, _hits(settings, step, account, client), now=now)
    if client.device is None:
        table = table_of(LoginGate)
        session.execute(
            sa.update(table)
            .where(table.c.key == f"{step}:{account}")
            .values(failures=0, not_before=int(now.timestamp()))
        )


def purge_gates(session: Session, *, before: datetime) -> int:
    """Drop the gates of accounts that had no attempt since `before`: a gate quiet for longer
    than the window has forgotten its failures anyway, so only the row is lost (names tried at
    random would otherwise pile up for ever)."""
    table = table_of(LoginGate)
    result = session.execute(
        sa.delete(table).where(table.c.not_before < int(before.timestamp()) - WINDOW_SECONDS)
    )
    return rows_changed(result)
