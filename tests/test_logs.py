"""What the logs say: JSON lines, no query strings, never a patient's text."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import sqlalchemy as sa

from tests.review.test_conversation import page_of, post, signed_in, stored  # noqa: F401
from tests.served import start
from tests.staff.factories import make_staff, sign_in

NOTE = "Her fistula bleeds again tonight, ring her daughter Amira on 07700 900123"


def _refuse_notes(runtime) -> None:
    """Make the database itself refuse every new note, as a failing disk or constraint would."""
    with runtime.engine.begin() as connection:
        if runtime.engine.dialect.name == "sqlite":
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_notes BEFORE INSERT ON note "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION refuse_notes() RETURNS trigger AS "
                "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_notes BEFORE INSERT ON note "
                "FOR EACH ROW EXECUTE FUNCTION refuse_notes()"
            )


def _accept_notes(runtime) -> None:
    with runtime.engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER refuse_notes" + _on_note(runtime))
        if runtime.engine.dialect.name != "sqlite":
            connection.exec_driver_sql("DROP FUNCTION refuse_notes()")


def _on_note(runtime) -> str:
    return "" if runtime.engine.dialect.name == "sqlite" else " ON note"


def test_a_failed_write_never_logs_the_patients_text(live_server, runtime, caplog):
    staff = make_staff(runtime)
    conversation_id = stored(runtime)
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        assert sign_in(http, email=staff.email).status_code == 303
        html = page_of(http, conversation_id)
        _refuse_notes(runtime)
        try:
            response = post(http, conversation_id, "notes", html, note=NOTE)
        finally:
            _accept_notes(runtime)
    assert response.status_code >= 500
    assert NOTE not in response.text
    assert caplog.records, "the failure was not logged at all"
    assert "Amira" not in caplog.text and "07700" not in caplog.text


def test_a_nul_character_in_staff_text_is_stripped_not_a_500(signed_in, runtime):  # noqa: F811
    conversation_id = stored(runtime)
    html = page_of(signed_in, conversation_id)
    response = post(signed_in, conversation_id, "notes", html, note="rang her\x00 at six")
    assert response.status_code == 303
    with runtime.engine.connect() as connection:
        bodies = connection.execute(sa.text("SELECT body FROM note")).scalars().all()
    assert bodies == ["rang her at six"]


def test_served_logs_are_json_and_access_lines_carry_no_query_string(tmp_path: Path):
    served = start(tmp_path, keep_stderr=True, INBOX_LOG_LEVEL="INFO")
    try:
        response = httpx.get(f"{served.url}/contact?next=amira%40example.com")
        assert response.status_code == 200
    finally:
        errors = served.stop()
    lines = [json.loads(line) for line in errors.splitlines() if line.startswith("{")]
    assert any(line["logger"].startswith("uvicorn.error") for line in lines)  # start-up, as JSON
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert any("GET /contact " in line["msg"] for line in access)
    assert "amira" not in errors
