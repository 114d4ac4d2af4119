"""Saved replies: admins keep them (create, change, delete, each audited); staff insert one into
a draft. Functions flush, never commit."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, func, select

from inbox.errors import InvalidInput, NotFound
from inbox.saved_replies.fields import (
    SavedReplyProblem,
    check_template,
    fill_in,
    sample_values,
)
from inbox.saved_replies.models import SavedReply
from inbox.staff.audit import record
from inbox.staff.models import StaffUser

MAX_TITLE = 120
MAX_BODY = 10000
TARGET = "saved_reply"


def list_saved_replies(session: Session) -> list[SavedReply]:
    """Every saved reply, by title."""
    return list(session.exec(select(SavedReply).order_by(func.lower(SavedReply.title))))


def get_saved_reply(session: Session, *, saved_reply_id: int) -> SavedReply | None:
    """One saved reply, if it exists."""
    return session.get(SavedReply, saved_reply_id)


def create_saved_reply(
    session: Session, *, title: str, body: str, staff: StaffUser, now: datetime
) -> SavedReply:
    """Add a saved reply after checking its title and text."""
    title, body = _checked(session, title=title, body=body, saved_reply_id=None)
    saved = SavedReply(title=title, body=body, created_at=now, updated_at=now,
                       updated_by_id=staff.id)  # fmt: skip
    session.add(saved)
    session.flush()
    record(session, actor=staff, action="saved_reply_create", target_type=TARGET,
           target_id=saved.id, detail=title, now=now)  # fmt: skip
    return saved


def update_saved_reply(
    session: Session, *, saved_reply_id: int, title: str, body: str, staff: StaffUser,
    now: datetime,
) -> SavedReply:  # fmt: skip
    """Change a saved reply's title and text."""
    saved = _existing(session, saved_reply_id)
    saved.title, saved.body = _checked(
        session, title=title, body=body, saved_reply_id=saved_reply_id
    )
    saved.updated_at, saved.updated_by_id = now, staff.id
    record(session, actor=staff, action="saved_reply_edit", target_type=TARGET,
           target_id=saved_reply_id, detail=saved.title, now=now)  # fmt: skip
    session.flush()
    return saved


def delete_saved_reply(
    session: Session, *, saved_reply_id: int, staff: StaffUser, now: datetime
) -> None:
    """Remove a saved reply (drafts it was inserted into keep their text)."""
    saved = _existing(session, saved_reply_id)
    record(session, actor=staff, action="saved_reply_delete", target_type=TARGET,
           target_id=saved_reply_id, detail=saved.title, now=now)  # fmt: skip
    session.delete(saved)
    session.flush()


def insert_into(text: str, snippet: str, *, placeholder: str) -> str:
    """The draft's text with the snippet in place of the placeholder, or at its end."""
    if placeholder in text:
        return text.replace(placeholder, snippet, 1)
    return text.rstrip() + "\n\n" + snippet if text.strip() else snippet


def filled_in(saved: SavedReply, *, values: dict[str, str]) -> str:
    """The saved reply's text for one conversation; InvalidInput says what is wrong with it."""
    try:
        return fill_in(saved.body, values)
    except SavedReplyProblem as problem:
        raise InvalidInput({"saved_reply": f"“{saved.title}”: {problem}"}) from problem


def _existing(session: Session, saved_reply_id: int) -> SavedReply:
    saved = session.get(SavedReply, saved_reply_id)
    if saved is None:
        raise NotFound("This saved reply does not exist (any more).")
    return saved


def _checked(
    session: Session, *, title: str, body: str, saved_reply_id: int | None
) -> tuple[str, str]:
    title = " ".join(title.split())
    body = body.replace("\r\n", "\n").strip()
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = "Please give the saved reply a title."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"Please keep the title under {MAX_TITLE} characters."
    else:
        same = session.exec(
            select(col(SavedReply.id)).where(func.lower(SavedReply.title) == title.lower())
        ).first()
        if same is not None and same != saved_reply_id:
            errors["title"] = "Another saved reply has this title."
    if not body:
        errors["body"] = "Please write the text of the saved reply."
    elif len(body) > MAX_BODY:
        errors["body"] = f"Please keep the text under {MAX_BODY} characters."
    else:
        try:
            check_template(body)
            fill_in(body, sample_values())
        except SavedReplyProblem as problem:
            errors["body"] = str(problem)
    if errors:
        raise InvalidInput(errors)
    return title, body
