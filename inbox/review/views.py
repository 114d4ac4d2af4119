"""Routes of the staff inbox: the list (and search, dashboard) and the conversation page."""

from fastapi import APIRouter

router = APIRouter()
