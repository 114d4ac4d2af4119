"""Delivery metrics in the Prometheus text format, in a registry of their own per runtime.

Counters and the latency histogram count what the workers of THIS process did (Prometheus adds
up the processes); the queue depth by state and the age of the oldest due mail are read from the
database at each scrape, so they are right whichever process asks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from inbox.outbox.models import MailState, OutboxMail

if TYPE_CHECKING:
    from prometheus_client import Metric

    from inbox.runtime import Runtime

_mail = OutboxMail.__table__  # type: ignore[attr-defined]
_DEPTH, _DEPTH_HELP = "inbox_outbox_mails", "Outbox mails by state (database-wide)."
_OLDEST = "inbox_outbox_oldest_due_seconds"
_OLDEST_HELP = "Age of the oldest mail that is due and not yet claimed (0 when none)."
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class QueueCollector(Collector):
    """Queue depth by state and the oldest due mail's age, from the database."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def describe(self) -> Iterator[Metric]:
        """The names, without touching the database (asked when the collector is registered)."""
        yield GaugeMetricFamily(_DEPTH, _DEPTH_HELP, labels=["state"])
        yield GaugeMetricFamily(_OLDEST, _OLDEST_HELP)

    def collect(self) -> Iterator[Metric]:
        now = self.runtime.clock.now()
        with self.runtime.engine.connect() as connection:
            counts = dict.fromkeys(MailState.ALL, 0)
            counts.update(
                connection.execute(
                    sa.select(_mail.c.state, sa.func.count()).group_by(_mail.c.state)
                ).all()
            )
            oldest = connection.execute(
                sa.select(sa.func.min(_mail.c.send_after))
                .where(_mail.c.state == MailState.QUEUED)
                .where(_mail.c.send_after <= now)
            ).scalar()
        depth = GaugeMetricFamily(_DEPTH, _DEPTH_HELP, labels=["state"])
        for state, count in counts.items():
            depth.add_metric([state], count)
        yield depth
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(_OLDEST, _OLDEST_HELP, value=age)


class DeliveryMetrics:
    """The counters of one process's delivery work plus the database-wide queue view."""

    def __init__(self, runtime: Runtime):
        self.registry = CollectorRegistry(auto_describe=True)
        self.sent = Counter(
            "inbox_outbox_sent", "Mails accepted by the SMTP server.", registry=self.registry
        )
        self.failed = Counter(
            "inbox_outbox_failed",
            "Mails failed for good (5xx, or past the retry budget).",
            registry=self.registry,
        )
        self.retried = Counter(
            "inbox_outbox_retried",
            "Attempts that ended in a retry (4xx, disconnect, timeout).",
            registry=self.registry,
        )
        self.latency = Histogram(
            "inbox_outbox_send_seconds",
            "Time to hand one mail to the SMTP server.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(QueueCollector(runtime))

    def count(self, outcomes: dict[str, int]) -> None:
        self.sent.inc(outcomes.get("sent", 0))
        self.failed.inc(outcomes.get("failed", 0))
        self.retried.inc(outcomes.get("retry", 0))

    def render(self) -> bytes:
        return generate_latest(self.registry)


def metrics_for(runtime: Runtime) -> DeliveryMetrics:
    """The process's DeliveryMetrics for this runtime, made on first use (kept on the runtime so
    the in-process worker and `/metrics` share it, and each app/test has its own registry)."""
    found = runtime.__dict__.get("_outbox_metrics")
    if found is None:
        found = runtime.__dict__.setdefault("_outbox_metrics", DeliveryMetrics(runtime))
    return found
