"""The dashboard page and its CSV download (aggregate figures only, no patient's words)."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from inbox.deps import RuntimeDep, SessionDep
from inbox.review import breakdown, dashboard
from inbox.runtime import Runtime
from inbox.staff.deps import CurrentStaff, staff_context

router = APIRouter()


def _figures(session: Session, runtime: Runtime) -> tuple[dashboard.Figures, breakdown.Breakdown]:
    figures = dashboard.figures(
        session, now=runtime.clock.now(), timezone=runtime.settings.timezone
    )
    titles = {section.id: section.title for section in runtime.knowledge.sections()}
    return figures, breakdown.breakdown(session, since=figures.since, titles=titles)


@router.get("/dashboard", name="dashboard")
def show_dashboard(
    request: Request, session: SessionDep, runtime: RuntimeDep, staff: CurrentStaff
) -> Response:
    """Messages per day, time to first reply by urgency, sections suggested and rated, and
    what waits longest."""
    figures, parts = _figures(session, runtime)
    largest_band = max((max(band.urgent, band.routine) for band in parts.first_reply), default=0)
    largest_section = max((row.suggested for row in parts.sections), default=0)
    largest_kind = max((row.conversations for row in parts.kinds), default=0)
    context = {
        **staff_context(request, staff),
        "figures": figures,
        "parts": parts,
        "chart": dashboard.bar_chart(figures.per_day),
        "duration": dashboard.duration_text,
        "band_width": lambda value: breakdown.bar_width(value, largest_band),
        "section_width": lambda value: breakdown.bar_width(value, largest_section),
        "kind_width": lambda value: breakdown.bar_width(value, largest_kind),
    }
    return request.app.state.templates.TemplateResponse(request, "review/dashboard.html", context)


@router.get("/dashboard.csv", name="dashboard_csv")
def download_dashboard(session: SessionDep, runtime: RuntimeDep, staff: CurrentStaff) -> Response:
    """The dashboard's figures as a CSV file (one row per figure and item)."""
    figures, parts = _figures(session, runtime)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        breakdown.rows_for_csv(
            per_day=list(figures.per_day), parts=parts, median=figures.median_first_reply
        )
    )
    day = runtime.clock.now().astimezone(ZoneInfo(runtime.settings.timezone)).date()
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="inbox-dashboard-{day.isoformat()}.csv"',
            "Cache-Control": "no-store",
        },
    )
