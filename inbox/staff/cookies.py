"""The staff side's cookies, all with the same attributes: HttpOnly, SameSite=Lax, Path=/,
and on https Secure with the `__Host-` prefix (the browser then refuses them unless Secure,
host-only and Path=/)."""

from __future__ import annotations

from fastapi import Response

from inbox.config import Settings


def name(settings: Settings, base: str) -> str:
    """`inbox_<base>`, as `__Host-inbox_<base>` on https."""
    return f"__Host-inbox_{base}" if settings.secure_cookies else f"inbox_{base}"


def put(
    response: Response, *, settings: Settings, base: str, value: str, max_age: int | None = None
) -> None:
    """Set a cookie; without `max_age` it lasts as long as the browser session."""
    response.set_cookie(
        name(settings, base),
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )


def drop(response: Response, *, settings: Settings, base: str) -> None:
    response.delete_cookie(
        name(settings, base),
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
