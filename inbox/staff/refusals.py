"""Refused requests: failed access-control and CSRF decisions, logged and counted.

Each refusal is one JSON log line (logger `inbox.security`: who, which route pattern, method,
why; the log line's time; never the query string or a form value) and one increment of
`inbox_refused_requests_total{reason=…}` on `/metrics`.
"""

from __future__ import annotations

import logging

from fastapi import Request
from prometheus_client import CollectorRegistry, Counter, generate_latest

from inbox.runtime import Runtime

log = logging.getLogger("inbox.security")

CSRF = "csrf"
NOT_ADMIN = "not_admin"
SIGNED_OUT = "signed_out"
PASSWORD_CHANGE_DUE = "password_change_due"


class RefusalMetrics:
    """The refusals counted by this process (Prometheus adds up the processes)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.refused = Counter(
            "inbox_refused_requests",
            "Requests refused by an access-control or CSRF check, by reason.",
            ["reason"],
            registry=self.registry,
        )
        for reason in (CSRF, NOT_ADMIN, SIGNED_OUT, PASSWORD_CHANGE_DUE):
            self.refused.labels(reason=reason)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def refusal_metrics(runtime: Runtime) -> RefusalMetrics:
    """The runtime's RefusalMetrics, made on first use (each app and test has its own)."""
    found = runtime.__dict__.get("_refusal_metrics")
    if found is None:
        found = runtime.__dict__.setdefault("_refusal_metrics", RefusalMetrics())
    return found


def record(request: Request, *, reason: str, user: str | None = None) -> None:
    """Log and count one refused request."""
    if user is None:
        signed_in = getattr(request.state, "signed_in", None)
        user = signed_in.staff.email if signed_in is not None else None
    route = request.scope.get("route")
    fields = {
        "event": "request_refused",
        "reason": reason,
        "user": user,
        "method": request.method,
        "route": getattr(route, "path", None) or request.url.path,
    }
    level = logging.INFO if reason == SIGNED_OUT else logging.WARNING
    log.log(level, "request refused: %s", reason, extra={"fields": fields})
    refusal_metrics(request.app.state.runtime).refused.labels(reason=reason).inc()
