"""The tabs of the inbox list (by state, urgency and owner), their order, and the cursor of a
keyset page: what a list is, apart from how `queries` reads it."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from inbox.conversations.models import ConversationState
from inbox.errors import InboxError


class Owner(Enum):
    ME = "assigned to the staff member looking"
    NOBODY = "assigned to nobody"


class Order(Enum):
    URGENT_THEN_OLDEST = "urgent first, then the longest waiting"
    OLDEST = "longest waiting first"
    NEWEST = "newest first"


@dataclass(frozen=True)
class Tab:
    slug: str
    label: str
    states: tuple[str, ...]  # empty: every state
    order: Order
    urgent_only: bool = False
    owner: Owner | None = None  # only conversations of the staff member looking, or of nobody


NEEDS_ACTION = (ConversationState.REVIEW, ConversationState.FAILED)
TABS: tuple[Tab, ...] = (
    Tab("review", "Needs review", (ConversationState.REVIEW,), Order.URGENT_THEN_OLDEST),
    Tab("mine", "Mine", NEEDS_ACTION, Order.URGENT_THEN_OLDEST, owner=Owner.ME),
    Tab(
        "unassigned",
        "Unassigned",
        (ConversationState.REVIEW,),
        Order.URGENT_THEN_OLDEST,
        owner=Owner.NOBODY,
    ),  # fmt: skip
    Tab("urgent", "Urgent", (ConversationState.REVIEW,), Order.OLDEST, urgent_only=True),
    Tab("queued", "Queued", (ConversationState.QUEUED,), Order.NEWEST),
    Tab("sent", "Sent", (ConversationState.SENT,), Order.NEWEST),
    Tab("failed", "Failed", (ConversationState.FAILED,), Order.NEWEST),
    Tab("spam", "Spam", (ConversationState.SPAM,), Order.NEWEST),
    Tab("closed", "Closed", (ConversationState.CLOSED,), Order.NEWEST),
    Tab("all", "All", (), Order.NEWEST),
)
TABS_BY_SLUG = {tab.slug: tab for tab in TABS}


class PageLinkInvalid(InboxError):
    """A `after=` cursor that was not made by us (edited or truncated link)."""

    status = 400


class TabNotFound(InboxError):
    status = 404


def get_tab(slug: str) -> Tab:
    """The tab called `slug`; raises TabNotFound."""
    tab = TABS_BY_SLUG.get(slug)
    if tab is None:
        raise TabNotFound(f"There is no list called {slug!r}.")
    return tab


@dataclass(frozen=True)
class Cursor:
    """The sort key of the last row of a page: where the next page starts."""

    urgent: bool
    last_message_at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{int(self.urgent)}|{self.last_message_at.isoformat()}|{self.id}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            urgent, moment, ident = raw.split("|")
            at = datetime.fromisoformat(moment)
            if urgent not in ("0", "1") or at.tzinfo is None:
                raise ValueError(raw)
            return cls(urgent=urgent == "1", last_message_at=at, id=int(ident))
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise PageLinkInvalid(
                "That page link is not valid; start again from the list."
            ) from exc
