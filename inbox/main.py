"""The application factory: `create_app(settings)` wires every domain's routes and background
work."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.routing import iter_route_contexts
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from inbox import health
from inbox.clock import Clock
from inbox.config import PACKAGE_DIR, Settings
from inbox.deps import row_ids_in_range
from inbox.errors import install_handlers
from inbox.feedback import views as feedback_views
from inbox.followups import views as followup_views
from inbox.foreground import ForegroundCount
from inbox.inbound import views as inbound_views
from inbox.intake import api as intake_api
from inbox.intake import views as intake_views
from inbox.intake.first_look import FirstLook
from inbox.intake.writer import IntakeWriter
from inbox.knowledge.service import prepare
from inbox.live import views as live_views
from inbox.middleware import (
    AnswerWithin,
    BodySizeLimit,
    RecordPeer,
    SecurityHeaders,
    TrustedHosts,
)
from inbox.privacy import views as privacy_views
from inbox.review import views as review_views
from inbox.runtime import Runtime, build_runtime
from inbox.saved_replies import views as saved_reply_views
from inbox.serving import share_the_interpreter
from inbox.staff import views as staff_views
from inbox.times import install as install_times
from inbox.worker import start_in_thread

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    runtime: Runtime | None = None,
    serving: bool = False,
) -> FastAPI:
    """Build the web application; the worker runs inside it unless INBOX_RUN_WORKER=false.

    `serving` (for `inbox serve`, not for tests that build many apps in one process): before
    the first request, compile the triage engine (seconds of work that the first form post
    would otherwise do on the event loop), the pages' templates (which the first page views
    would otherwise compile, under load, for as long as a second) and the routes' dependencies
    (``build_routes``), shorten the interpreter's switch interval on PostgreSQL
    (``share_the_interpreter``), then move everything alive
    to the garbage collector's permanent generation, so that full collections do not walk the
    code, articles and templates (docs/performance.md).
    """
    settings = settings or (runtime.settings if runtime else Settings())
    settings.require_strong_secret()  # WeakSecret: no app that signs with a guessable key
    runtime = runtime or build_runtime(settings, clock=clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.knowledge  # noqa: B018 - a bad article file stops the start-up, naming the file
        runtime.renderer  # noqa: B018
        app.state.intake_writer = writer = IntakeWriter(runtime)
        app.state.first_look = first_look = FirstLook(runtime)
        background = await start_in_thread(runtime) if settings.run_worker else None
        if serving:
            share_the_interpreter(sqlite=runtime.sqlite)
            helper = asyncio.create_task(
                first_look.begin() if settings.first_look_helper else asyncio.sleep(0)
            )
            await asyncio.to_thread(prepare, knowledge=runtime.knowledge)
            await asyncio.to_thread(compile_templates, app.state.templates)
            build_routes(app)
            gc.collect()
            gc.freeze()
            await helper
        try:
            yield
        finally:
            if background is not None:
                await background.stop()
            await asyncio.to_thread(writer.close)  # after the batch in progress, if any
            await first_look.close()
            runtime.close()

    app = FastAPI(
        title="inbox",
        summary="Leave Message intake, triage, reply drafting and delivery for a hospital website.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(row_ids_in_range)],
    )
    app.state.runtime = runtime
    # the public form's POST is the app's first route, a plain one (docs/performance.md)
    app.add_route("/contact", intake_views.contact_submit, methods=["POST"], name="contact_submit")
    app.state.templates = Jinja2Templates(directory=str(PACKAGE_DIR / "templates"))
    install_times(app.state.templates.env, timezone=settings.timezone, clock=runtime.clock)
    app.mount("/static", StaticFiles(directory=str(PACKAGE_DIR / "static")), name="static")
    install_handlers(app)

    app.include_router(health.router)
    app.include_router(intake_views.router)
    app.include_router(intake_api.router)
    app.include_router(staff_views.router)
    app.include_router(review_views.router)
    app.include_router(followup_views.router)
    app.include_router(privacy_views.router)
    app.include_router(feedback_views.router)
    app.include_router(inbound_views.router)
    app.include_router(inbound_views.mail_router)
    app.include_router(saved_reply_views.router)
    app.include_router(live_views.router)
    app.state.live_streams = live_views.StreamSlots(settings.live_max_streams)

    app.add_middleware(
        AnswerWithin,
        seconds=settings.answer_within_seconds,
        exempt=("/contact", "/api/v1/messages"),  # the intake writer bounds their wait
    )
    app.add_middleware(
        SecurityHeaders, frame_origins=settings.allowed_origins, https=settings.secure_cookies
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.allowed_origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["content-type"],
        max_age=3600,
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(TrustedHosts, hosts=settings.trusted_hosts())
    if settings.trusted_proxies:  # here, not in uvicorn: RecordPeer must see the proxy first
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
        app.add_middleware(RecordPeer)
    app.add_middleware(ForegroundCount, foreground=runtime.foreground)
    app.openapi = lambda: public_openapi(app)  # type: ignore[method-assign]
    return app


def compile_templates(templates: Jinja2Templates) -> None:
    """Compile every page template now (Jinja2 keeps them compiled)."""
    for name in templates.env.list_templates(extensions=["html"]):
        templates.env.get_template(name)


def build_routes(app: FastAPI) -> None:
    """Resolve every route's dependencies now. FastAPI does it for a whole included router on
    the first request that reaches it, on the event loop, where every request in flight waits
    for it (docs/performance.md)."""
    for _ in iter_route_contexts(app.routes):
        pass


def public_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI schema of the public JSON API only: the staff and admin routes are nobody
    else's business (built once, as FastAPI does)."""
    if app.openapi_schema is None:
        app.openapi_schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=[route for route in iter_route_contexts(app.routes) if _public(route)],
        )
    return app.openapi_schema


def _public(route: Any) -> bool:
    return (getattr(route, "path", None) or "").startswith("/api/")


def create_served_app() -> FastAPI:
    """The app as `inbox serve --workers N` starts it in each process (uvicorn's factory)."""
    return create_app(serving=True)
