"""SQLite: the words of the full-text index, so that a search word is looked up as whole words

`message_term` lists every word `message_fts` holds (see `inbox.review.vocabulary`): a search
for "cramp" then reads ("cramping" OR "cramps"), which FTS5 answers lazily, where "cramp"* made it
gather every hit first. Filled here from the index as it is; `index_new_messages` adds the words
of each message it indexes later, and of each message edited since (`message_term_pending`, kept
by a trigger: an edit can bring words the list does not have yet). PostgreSQL is unchanged.

Revision ID: 0021_search_words
Revises: 0020_presence
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021_search_words"
down_revision: str | None = "0020_presence"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UP = [
    "CREATE TABLE message_term (term TEXT NOT NULL PRIMARY KEY) WITHOUT ROWID",
    "CREATE VIRTUAL TABLE temp.message_fts_terms USING fts5vocab(main, message_fts, 'row')",
    "INSERT INTO message_term(term) SELECT term FROM temp.message_fts_terms",
    "DROP TABLE temp.message_fts_terms",
    "CREATE TABLE message_term_pending (id INTEGER NOT NULL PRIMARY KEY)",
    """CREATE TRIGGER message_term_edit AFTER UPDATE OF name, email, subject, body ON message
    BEGIN
        INSERT OR IGNORE INTO message_term_pending(id) VALUES (new.id);
    END""",
]
DOWN = [
    "DROP TRIGGER message_term_edit",
    "DROP TABLE message_term_pending",
    "DROP TABLE message_term",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in DOWN:
            op.execute(statement)
