"""The embedded loop: answer a mail the built-in catcher caught, as the patient would, and hand
the answer to the inbound path, so a newcomer sees a reply reopen its conversation."""

from __future__ import annotations

import email.policy
import email.utils
from email.message import EmailMessage

from inbox.conversations.models import Conversation
from inbox.db import session_scope
from inbox.inbound.models import InboundMail, InboundSource
from inbox.inbound.parse import header, parse_mail
from inbox.inbound.process import process_pending
from inbox.inbound.store import store_inbound
from inbox.notices.service import conversation_url
from inbox.outbox.compose import new_message_id
from inbox.outbox.models import CaughtMail
from inbox.runtime import Runtime


def build_reply(
    raw: bytes, *, text: str, domain: str = "patient.example"
) -> tuple[bytes, str, str]:
    """A reply to the mail `raw` as its recipient's mail client writes it: (bytes, from, to)."""
    original = parse_mail(raw)
    patient = (original.recipients or ["patient@patient.example"])[0]
    answer_to = email.utils.parseaddr(header(original.message, "Reply-To"))[1] or original.sender
    subject = original.subject
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    quoted = "\n".join(f"> {line}" for line in original.text.splitlines())
    reply = EmailMessage(policy=email.policy.SMTP)
    reply["From"] = patient
    reply["To"] = answer_to
    reply["Subject"] = subject
    reply["Date"] = email.utils.formatdate(localtime=False)
    reply["Message-ID"] = new_message_id(domain)
    if original.message_id:
        reply["In-Reply-To"] = original.message_id
        reply["References"] = " ".join([*original.references, original.message_id])
    reply.set_content(f"{text}\n\nOn {header(original.message, 'Date')}, "
                      f"{header(original.message, 'From')} wrote:\n{quoted}\n")  # fmt: skip
    return reply.as_bytes(), patient, answer_to


def reply_to_caught(runtime: Runtime, *, caught_id: int, text: str) -> str:
    """Store a reply to caught mail `caught_id`, process it at once, and say what happened."""
    with session_scope(runtime.engine) as session:
        caught = session.get(CaughtMail, caught_id)
        if caught is None:
            raise LookupError(f"there is no caught mail {caught_id} (see `inbox mail list`)")
        raw = caught.raw
    reply, patient, answer_to = build_reply(raw, text=text)
    stored = store_inbound(
        runtime.engine, raw=reply, source=InboundSource.CATCHER, envelope_from=patient,
        recipients=[answer_to], now=runtime.clock.now(),
    )  # fmt: skip
    process_pending(runtime)
    if stored.inbound_id is None:
        return "that reply was already taken in"
    with session_scope(runtime.engine) as session:
        inbound = session.get(InboundMail, stored.inbound_id)
        assert inbound is not None
        conversation = (
            session.get(Conversation, inbound.conversation_id) if inbound.conversation_id else None
        )
        if conversation is None:
            return f"inbound mail #{inbound.id}: {inbound.state} {inbound.error or ''}".strip()
        url = conversation_url(runtime, conversation.id or 0)
        urgent = ""
        if inbound.urgent:
            alerted = "staff alerted" if runtime.settings.staff_alert_to else "top of the inbox"
            urgent = f" (urgent: {alerted})"
        return (
            f"inbound mail #{inbound.id} from {patient}: conversation #{conversation.id} is "
            f"{conversation.state}{urgent}; {url}"
        )
