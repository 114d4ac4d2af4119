"""The caught-mail page and the frames that show a mail's HTML: escaped, sandboxed, never run."""

from __future__ import annotations

from email.message import EmailMessage

from inbox.outbox.catcher import store_caught
from tests.review.test_conversation import signed_in  # noqa: F401 (a fixture)

SCRIPT = "<script>alert('caught')</script>"


def caught_mail(runtime, *, subject: str, html: str) -> int:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "inbox@hospital.example", "p@example.org", subject
    mail.set_content("Dear Pat,\n\nThe text part " + SCRIPT)
    mail.add_alternative(html, subtype="html")
    stored = store_caught(
        runtime.engine, clock=runtime.clock, mail_from="inbox@hospital.example",
        recipients=["p@example.org"], raw=mail.as_bytes(),
    )  # fmt: skip
    assert stored.id is not None
    return stored.id


def test_caught_mails_are_listed_newest_first_with_their_text_escaped(signed_in, runtime):  # noqa: F811
    first = caught_mail(runtime, subject="First mail", html="<p>one</p>")
    second = caught_mail(runtime, subject="Second " + SCRIPT, html=f"<p>two</p>{SCRIPT}")

    page = signed_in.get("/inbox/caught-mail")

    assert page.status_code == 200
    assert page.text.index("Second &lt;script&gt;") < page.text.index("First mail")
    assert "The text part &lt;script&gt;" in page.text and SCRIPT not in page.text
    assert f'src="/inbox/caught-mail/{second}/html"' in page.text and f"/{first}/html" in page.text


def test_a_caught_mail_html_is_served_only_for_a_sandboxed_frame(signed_in, runtime):  # noqa: F811
    mail_id = caught_mail(runtime, subject="Hi", html=f"<p>two</p>{SCRIPT}")

    frame = signed_in.get(f"/inbox/caught-mail/{mail_id}/html")

    assert frame.status_code == 200 and "<p>two</p>" in frame.text
    policy = frame.headers["content-security-policy"]
    assert "sandbox" in policy and "script-src" not in policy and "default-src 'none'" in policy
    assert signed_in.get("/inbox/caught-mail/999999/html").status_code == 404


def test_signed_out_visitors_cannot_read_caught_mail(client, runtime):
    mail_id = caught_mail(runtime, subject="Hi", html="<p>private</p>")
    for path in ("/inbox/caught-mail", f"/inbox/caught-mail/{mail_id}/html"):
        response = client.get(path)
        assert response.status_code in (303, 401) and "private" not in response.text
