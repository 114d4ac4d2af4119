"""Routes of the staff inbox: the list (and search, dashboard) and the conversation page."""

from fastapi import APIRouter

from inbox.review import conversation_views, dashboard_views, list_views, mail_views, team_views

router = APIRouter()
router.include_router(conversation_views.router)
router.include_router(list_views.router)
router.include_router(dashboard_views.router)
router.include_router(team_views.router)
router.include_router(mail_views.router)
