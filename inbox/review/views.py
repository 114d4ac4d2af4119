"""Routes of the staff inbox: the list (and search, dashboard) and the conversation page."""

from fastapi import APIRouter

from inbox.review import conversation_views

router = APIRouter()
router.include_router(conversation_views.router)
