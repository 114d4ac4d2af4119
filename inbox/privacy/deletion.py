"""Delete conversations with everything that hangs off them, in foreign-key order.

Used by the purge (spam and closed conversations past their time) and by erase (everything of
one address). Inbound mail of a conversation (its raw bytes too) goes with it. Audit entries
stay: they name conversations by id, never their content.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlmodel import Session

from inbox.conversations.models import Contact, Conversation, ConversationTag, Message, PhoneCall
from inbox.drafting.models import Draft, Note, TriageLabel
from inbox.errors import DatabaseUnavailable
from inbox.followups.models import FollowUp
from inbox.inbound.models import InboundMail
from inbox.outbox.models import DeliveryAttempt, MailState, OutboxMail

CHUNK = 500  # ids per statement (SQLite's bound-parameter limit, PostgreSQL's plan size)


def _t(model: type) -> sa.Table:
    return model.__table__  # type: ignore[attr-defined, no-any-return]


def conversations_being_sent(session: Session, conversation_ids: Sequence[int]) -> set[int]:
    """Those of the conversations with a mail a worker is sending right now; every mail of the
    conversations is locked meanwhile, so no worker claims one before they are deleted (the
    claim skips locked rows). Deleting a mail in a worker's hands would break its bookkeeping."""
    mail = _t(OutboxMail)
    busy: set[int] = set()
    ids = sorted(set(conversation_ids))
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(
            sa.select(mail.c.conversation_id, mail.c.state)
            .where(mail.c.conversation_id.in_(ids[start : start + CHUNK]))
            .with_for_update()
        ).all()
        busy.update(row[0] for row in rows if row[1] == MailState.SENDING)
    return busy


def delete_conversations(session: Session, conversation_ids: Sequence[int]) -> dict[str, int]:
    """Delete the conversations and their messages, drafts, notes, follow-ups, outbox mails,
    delivery attempts, staff's triage labels, tags and call log; returns how many rows of each
    went."""
    counts = dict.fromkeys(
        ("conversations", "messages", "drafts", "notes", "follow_ups", "mails", "attempts",
         "inbound_mails", "labels", "tags", "calls"),
        0,
    )  # fmt: skip
    ids = sorted(set(conversation_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        mail, follow_up, message = _t(OutboxMail), _t(FollowUp), _t(Message)
        mail_ids = sa.select(mail.c.id).where(mail.c.conversation_id.in_(chunk)).scalar_subquery()
        inbound = _t(InboundMail)
        steps = (
            (
                "inbound_mails",  # raw bytes included; bounces of the mails, replies' messages
                sa.delete(inbound).where(
                    inbound.c.conversation_id.in_(chunk) | inbound.c.bounce_mail_id.in_(mail_ids)
                ),
            ),
            ("follow_ups", sa.delete(follow_up).where(follow_up.c.conversation_id.in_(chunk))),
            (
                "attempts",
                sa.delete(_t(DeliveryAttempt)).where(_t(DeliveryAttempt).c.mail_id.in_(mail_ids)),
            ),
            ("mails", sa.delete(mail).where(mail.c.conversation_id.in_(chunk))),
            ("drafts", sa.delete(_t(Draft)).where(_t(Draft).c.conversation_id.in_(chunk))),
            ("notes", sa.delete(_t(Note)).where(_t(Note).c.conversation_id.in_(chunk))),
            (
                "labels",
                sa.delete(_t(TriageLabel)).where(_t(TriageLabel).c.conversation_id.in_(chunk)),
            ),
            (
                "tags",
                sa.delete(_t(ConversationTag)).where(
                    _t(ConversationTag).c.conversation_id.in_(chunk)
                ),
            ),
            ("calls", sa.delete(_t(PhoneCall)).where(_t(PhoneCall).c.conversation_id.in_(chunk))),
        )
        for name, statement in steps:
            counts[name] += _rows(session.execute(statement))
        # duplicates point at their original: clear the pointers, then delete every message
        session.execute(
            sa.update(message)
            .where(message.c.conversation_id.in_(chunk))
            .values(duplicate_of_id=None)
        )
        counts["messages"] += _rows(
            session.execute(sa.delete(message).where(message.c.conversation_id.in_(chunk)))
        )
        counts["conversations"] += _rows(
            session.execute(sa.delete(_t(Conversation)).where(_t(Conversation).c.id.in_(chunk)))
        )
    return counts


def delete_orphan_contacts(session: Session, contact_ids: Sequence[int]) -> int:
    """Delete those of the contacts that have no conversation and no message left."""
    contact, conversation, message = _t(Contact), _t(Conversation), _t(Message)
    deleted = 0
    ids = sorted(set(contact_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        deleted += _rows(
            session.execute(
                sa.delete(contact)
                .where(contact.c.id.in_(chunk))
                .where(~sa.exists().where(conversation.c.contact_id == contact.c.id))
                .where(~sa.exists().where(message.c.contact_id == contact.c.id))
            )
        )
    return deleted


def _rows(result: sa.Result) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# SQLite: the list of the search index's words (migration 0021), made again from the merged index
_WORDS_AGAIN = [
    "DELETE FROM message_term",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.message_fts_terms "
    "USING fts5vocab(main, message_fts, 'row')",
    "INSERT INTO message_term(term) SELECT term FROM temp.message_fts_terms",
    "DELETE FROM message_term_pending",
]


# SQLite: the index words of messages about to be deleted, tokenised by FTS5 with the index's own
# tokenizer (inbox.review.vocabulary's), so that those no message has any more leave the list
_WORDS_OF = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.message_fts_leaving USING fts5(name, email, "
    "subject, body, content='', detail=none, columnsize=0, "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.message_fts_leaving_terms "
    "USING fts5vocab(temp, message_fts_leaving, 'row')",
]
_LEAVING = """INSERT INTO temp.message_fts_leaving(rowid, name, email, subject, body)
    SELECT id, name, email, subject, body FROM message WHERE conversation_id IN :ids"""
# a word is still used when the index finds it (a lazy look-up that stops at the first hit)
_UNUSED = """SELECT term FROM temp.message_fts_leaving_terms AS leaving
    WHERE NOT EXISTS
        (SELECT 1 FROM message_fts WHERE message_fts MATCH '"' || leaving.term || '"')"""


def drop_words_of(session: Session, conversation_ids: Sequence[int]) -> Callable[[], int]:
    """SQLite: note the search words of these conversations' messages; the function returned,
    called once they are deleted, removes from `message_term` those that no message has any
    more, and returns how many. PostgreSQL keeps no word list."""
    connection = session.connection()
    if connection.dialect.name != "sqlite" or not conversation_ids:
        return lambda: 0
    for statement in _WORDS_OF:
        connection.exec_driver_sql(statement)
    ids = sorted(set(conversation_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        leaving = sa.text(_LEAVING).bindparams(sa.bindparam("ids", expanding=True))
        connection.execute(leaving, {"ids": chunk})

    def drop() -> int:
        unused = list(connection.exec_driver_sql(_UNUSED).scalars())
        for start in range(0, len(unused), CHUNK):
            gone = sa.text("DELETE FROM message_term WHERE term IN :terms")
            connection.execute(
                gone.bindparams(sa.bindparam("terms", expanding=True)),
                {"terms": unused[start : start + CHUNK]},
            )
        connection.exec_driver_sql(
            "INSERT INTO temp.message_fts_leaving(message_fts_leaving) VALUES ('delete-all')"
        )
        return len(unused)

    return drop


def wipe_deleted(engine: sa.engine.Engine) -> None:
    """After an erase, on SQLite: leave nothing of the deleted rows readable in the files.

    Freed space is zeroed as rows go (`PRAGMA secure_delete`, set on every connection); here the
    search index is merged (its older segments still hold the words of deleted messages) and its
    word list (`message_term`) made again from it, and the write-ahead log, whose frames hold the
    pages as they were before, is copied into the database and truncated. PostgreSQL keeps dead
    rows until VACUUM (docs/privacy.md)."""
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO message_fts(message_fts) VALUES ('optimize')")
        for statement in _WORDS_AGAIN:  # inbox.review.vocabulary's list, without their words
            connection.exec_driver_sql(statement)
    raw = engine.raw_connection()  # outside a transaction: a checkpoint cannot run in one
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        busy = (cursor.fetchone() or (1,))[0]
    finally:
        raw.close()
    if busy:
        raise DatabaseUnavailable(
            "Erased, but a reader kept the database's write-ahead log from being emptied, so "
            "old copies of the rows may still be in it. Please run the same erase again in a "
            "minute."
        )
