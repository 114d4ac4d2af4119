"""The one migration history matches the models on both databases, and runs down and up."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from inbox.db import create_db_engine
from inbox.schema import metadata

# full-text search objects are created by migrations 0006, 0007 and 0021 by hand, per database
IGNORED_TABLES = {
    "message_fts",
    "message_fts_data",
    "message_fts_idx",
    "message_fts_docsize",
    "message_fts_config",
    "message_fts_content",
    "message_fts_progress",
    "message_term",  # 0021: the words of message_fts, SQLite only
    "message_term_pending",
}


def _include(obj, name, type_, reflected, compare_to) -> bool:
    if type_ == "table" and name in IGNORED_TABLES:
        return False
    if type_ == "column" and name == "search_document":  # 0024: PostgreSQL's stored document
        return False
    return not (type_ == "index" and name and "search" in name)


def test_migrations_match_the_models(database_url):
    engine = create_db_engine(database_url, pooled=False)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": _include}
        )
        differences = compare_metadata(context, metadata())
    engine.dispose()
    assert differences == []
