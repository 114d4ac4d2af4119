"""Every domain's tables, imported in one place so that metadata is complete (Alembic, tests)."""

from sqlalchemy import MetaData
from sqlmodel import SQLModel

from inbox import ratelimit
from inbox.conversations import models as conversations_models
from inbox.drafting import models as drafting_models
from inbox.feedback import models as feedback_models
from inbox.followups import models as followups_models
from inbox.inbound import models as inbound_models
from inbox.live import models as live_models
from inbox.outbox import models as outbox_models
from inbox.review import models as review_models
from inbox.saved_replies import models as saved_replies_models
from inbox.staff import models as staff_models

DOMAINS = (
    ratelimit,
    conversations_models,
    staff_models,
    drafting_models,
    feedback_models,
    outbox_models,
    followups_models,
    inbound_models,
    review_models,
    saved_replies_models,
    live_models,
)


def metadata() -> MetaData:
    """The metadata of every table."""
    return SQLModel.metadata
