"""Saved replies: admins keep them (audited), a bad template is shown as a sentence and never a
500, and staff insert one, filled in for the patient, into a draft without saving it."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from sqlmodel import Session, select

from inbox.drafting.models import Draft
from inbox.saved_replies.fields import SavedReplyProblem, fill_in
from inbox.saved_replies.models import SavedReply
from inbox.staff.models import AuditEntry
from inbox.worker import draft_new_messages
from tests.drafting.support import UNRELATED, store_message
from tests.staff.factories import csrf_token, make_staff, sign_in

BILLING = "Billing office"
BILLING_TEXT = (
    "{% if name %}Dear {{ name }},{% endif %}\n\nThe billing office of {{ hospital_name }} "
    "answers on weekdays from 9 to 4."
)


@pytest.fixture
def admin_client(client, runtime):
    admin = make_staff(runtime, email="admin@hospital.example", admin=True)
    assert sign_in(client, email=admin.email).status_code == 303
    return client


def text_box(page: str) -> str:
    found = re.search(r'<textarea id="text"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, "the page has no text box"
    return html_lib.unescape(found.group(1))


def create(client, *, title: str, body: str):
    token = csrf_token(client.get("/admin/saved-replies").text)
    return client.post(
        "/admin/saved-replies", data={"csrf_token": token, "title": title, "body": body}
    )


def saved(runtime) -> list[SavedReply]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(SavedReply)))


def audited(runtime) -> list[str]:
    with Session(runtime.engine) as session:
        query = select(AuditEntry.action).where(AuditEntry.target_type == "saved_reply")
        return list(session.exec(query.order_by(AuditEntry.id)))


def test_an_admin_adds_changes_and_deletes_a_saved_reply_each_audited(admin_client, runtime):
    created = create(admin_client, title=BILLING, body=BILLING_TEXT)
    assert created.status_code == 303
    page = admin_client.get(created.headers["location"]).text
    assert "was added" in page and BILLING in page
    (reply,) = saved(runtime)

    edit_page = admin_client.get(f"/admin/saved-replies/{reply.id}").text
    changed = admin_client.post(
        f"/admin/saved-replies/{reply.id}",
        data={"csrf_token": csrf_token(edit_page), "title": "Billing", "body": "Call us."},
    )
    assert changed.status_code == 303 and saved(runtime)[0].body == "Call us."
    deleted = admin_client.post(
        f"/admin/saved-replies/{reply.id}/delete", data={"csrf_token": csrf_token(edit_page)}
    )
    assert deleted.status_code == 303 and saved(runtime) == []
    assert audited(runtime) == ["saved_reply_create", "saved_reply_edit", "saved_reply_delete"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("Dear {{ name }", "Line 1"),
        ("Dear {{ patient_name }}", "there is no field “patient_name”"),
        ("{{ name.__class__.__mro__ }}", "only fields"),
        ("{% for i in range(100000) %}{{ i }}{% endfor %}", "only fields"),
        ("{{ ''.join(['a']) }}", "only fields"),
        ("{{ name | attr('x') }}", "not available"),
    ],
)
def test_a_template_error_is_shown_on_the_form_and_nothing_is_stored(
    admin_client, runtime, body, says
):
    response = create(admin_client, title="Broken", body=body)

    assert response.status_code == 422
    assert says in html_lib.unescape(response.text)
    assert body in html_lib.unescape(response.text)  # what was typed is kept
    assert saved(runtime) == []


def test_staff_cannot_manage_saved_replies(client, runtime):
    staff = make_staff(runtime)
    sign_in(client, email=staff.email)
    token = csrf_token(client.get("/account/password").text)

    assert client.get("/admin/saved-replies").status_code == 403
    fields = {"csrf_token": token, "title": "x", "body": "y"}
    posted = client.post("/admin/saved-replies", data=fields)
    assert posted.status_code == 403 and saved(runtime) == []


def test_the_sandbox_fills_in_only_the_fixed_fields():
    assert fill_in("Hi {{ name | upper }}", {"name": "ann"}) == "Hi ANN"
    with pytest.raises(SavedReplyProblem):
        fill_in("{{ cycler.__init__.__globals__ }}", {})


def test_staff_insert_a_saved_reply_in_place_of_the_placeholder_without_saving(
    admin_client, runtime
):
    create(admin_client, title=BILLING, body=BILLING_TEXT)
    with Session(runtime.engine) as session:
        cid = store_message(
            session, settings=runtime.settings, now=runtime.clock.now(), name="Karim <b>H</b>",
            message=UNRELATED, subject="invoice",
        ).conversation_id  # fmt: skip
        session.commit()
    draft_new_messages(runtime)
    conversation = admin_client.get(f"/inbox/conversations/{cid}").text
    (reply,) = saved(runtime)

    response = admin_client.post(
        f"/inbox/conversations/{cid}/saved-reply",
        data={
            "csrf_token": csrf_token(conversation), "subject": "Re: invoice",
            "text": text_box(conversation),
            "saved_reply_id": str(reply.id), "version": "1",
        },
    )  # fmt: skip

    assert response.status_code == 200 and "is not saved yet" in response.text
    box = text_box(response.text)
    assert "Dear Karim <b>H</b>,\n\nThe billing office of" in box
    assert "[STAFF: write the answer here]" not in box
    assert "Karim &lt;b&gt;H&lt;/b&gt;" in response.text  # escaped in the page
    with Session(runtime.engine) as session:
        stored_draft = session.exec(select(Draft).where(Draft.conversation_id == cid)).one()
        assert "[STAFF: write the answer here]" in stored_draft.editable_body  # not saved
