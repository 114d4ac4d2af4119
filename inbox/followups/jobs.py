"""The worker's periodic jobs from follow-ups and privacy, in the order each tick runs them."""

from __future__ import annotations

from inbox.followups.daily import digest_job
from inbox.followups.delivery import send_due_follow_ups
from inbox.privacy.purge import purge_job

JOBS = (send_due_follow_ups, digest_job, purge_job)
