"""Follow-ups after a reply, unsubscribe and suppression, and the once-a-day runs shared by every
worker (the digest lives in inbox.notices, the purge in inbox.privacy).

    schedule.py     when follow-ups fall due (delays, quiet hours)
    service.py      schedule, cancel, move, list; the suppression list
    delivery.py     the worker's job: claim due follow-ups, hand each to the outbox once
    events.py       the delivery listener: schedule after a sent reply, suppress on bounce
    unsubscribe.py  signed tokens, links and List-Unsubscribe headers
    daily.py        once-a-day jobs shared by every worker
    views.py        /unsubscribe/{token} and the staff page /follow-ups
"""
