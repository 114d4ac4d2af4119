"""`make run` seeds a demo login and demo messages so a newcomer sees a working inbox."""

import sqlalchemy as sa
from sqlmodel import Session

from inbox.conversations.models import Conversation, Message
from inbox.demo import DEMO_EMAIL, DEMO_MESSAGES, seed_demo


def test_demo_seed_creates_a_login_and_messages_once(runtime, client):
    login = seed_demo(runtime)
    seed_demo(runtime)  # a second start adds nothing
    with Session(runtime.engine) as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Message)).scalar() == len(
            DEMO_MESSAGES
        )
        urgent = session.execute(sa.select(Conversation.urgent, Conversation.subject)).all()
    assert "Pain in my chest now" in {subject for flag, subject in urgent if flag}
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"email": login.email, "password": login.password, "csrf_token": token}
    )
    assert response.status_code == 303
    assert login.email == DEMO_EMAIL
