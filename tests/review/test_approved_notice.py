"""The "approved, queued for sending" notice is true when shown: once the reply has gone out, a
reload of the page (its address still ends in ?done=approved) no longer says it is queued."""

from __future__ import annotations

from tests.followups.conftest import settings  # noqa: F401  (the real SMTP server)
from tests.followups.support import deliver
from tests.review.test_conversation import page_of, post, signed_in, stored, version_in  # noqa: F401
from tests.smtp import SmtpServer


def test_the_approved_notice_goes_once_the_reply_is_sent(
    signed_in,  # noqa: F811
    runtime,
    smtp_server: SmtpServer,  # noqa: F811
):
    conversation_id = stored(runtime)
    html = page_of(signed_in, conversation_id)
    location = post(signed_in, conversation_id, "approve", html, version=version_in(html)).headers[
        "location"
    ]
    assert "queued for sending" in signed_in.get(location).text

    assert deliver(runtime) >= 1
    assert any(item.recipients for item in smtp_server.received)

    reloaded = signed_in.get(location).text
    assert "queued for sending" not in reloaded
    assert 'class="badge state-sent"' in reloaded
