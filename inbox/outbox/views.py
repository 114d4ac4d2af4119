"""Routes of outbox (filled in by its issue)."""

from fastapi import APIRouter

router = APIRouter()
