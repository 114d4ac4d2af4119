"""Every route of the app, found at run time, so routes added later are covered by the walks."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi import FastAPI

try:  # FastAPI >= 0.16x keeps included routers nested; this flattens them like the OpenAPI code
    from fastapi.routing import iter_route_contexts
except ImportError:  # pragma: no cover - older FastAPI lists every route in app.routes

    def iter_route_contexts(routes):  # type: ignore[no-redef]
        return iter(routes)


# Served to anyone. Everything else must redirect a signed-out visitor to /login or refuse them.
# /metrics is public on purpose: Prometheus scrapes without a session, the figures are aggregate
# counts without patient data, and operators keep it off the internet at the proxy.
PUBLIC_PATHS = {"/login", "/healthz", "/readyz", "/metrics", "/openapi.json", "/contact"}
PUBLIC_PREFIXES = ("/contact/", "/api/v1/", "/unsubscribe/", "/feedback/", "/static/")
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_PARAM = re.compile(r"{([^}:]+)(:[^}]+)?}")


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def concrete(path: str) -> str:
    """A requestable path: every {parameter} filled with 1."""
    return _PARAM.sub("1", path)


def walk(app: FastAPI) -> Iterator[tuple[str, str, str]]:
    """(method, route path, requestable path) for every route and method except HEAD/OPTIONS.

    A mounted sub-application is yielded with method "MOUNT" so callers can insist it is public.
    """
    for route in iter_route_contexts(app.routes):
        path = getattr(route, "path", None)
        if path is None:
            continue
        methods = getattr(route, "methods", None)
        if methods is None:
            mounted = getattr(route, "path_format", None) or f"{path}/{{path}}"
            yield "MOUNT", mounted, concrete(mounted)
            continue
        for method in sorted(set(methods) - {"HEAD", "OPTIONS"}):
            yield method, path, concrete(path)
