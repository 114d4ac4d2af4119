"""Malformed and odd mails, as senders and broken clients produce them."""

from __future__ import annotations

TO = b"To: patient-service@kidney-hospital.example\r\n"


def _mail(headers: bytes, body: bytes) -> bytes:
    return headers + TO + b"\r\n" + body


MALFORMED: dict[str, bytes] = {
    "zero bytes": b"",
    "only a blank line": b"\r\n\r\n",
    "no header separator": b"From: a@example.net\r\nSubject: hi\r\nthis line is body text",
    "broken multipart without boundary": _mail(
        b"From: a@example.net\r\nMessage-ID: <b1@x>\r\nContent-Type: multipart/mixed\r\n",
        b"--nothing\r\nhello\r\n",
    ),
    "boundary never closed": _mail(
        b"From: a@example.net\r\nMessage-ID: <b2@x>\r\n"
        b'Content-Type: multipart/alternative; boundary="zz"\r\n',
        b"--zz\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        b"--zz\r\nContent-Type: text/html\r\n\r\n<p>hi",
    ),
    "unknown charset": _mail(
        b"From: a@example.net\r\nMessage-ID: <c1@x>\r\n"
        b"Content-Type: text/plain; charset=x-klingon\r\n",
        b"\xff\xfe cramps \xe9\r\n",
    ),
    "wrong charset declared": _mail(
        b"From: a@example.net\r\nMessage-ID: <c2@x>\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n",
        "Krämpfe nach der Dialyse, Brustschmerzen".encode("latin-1"),
    ),
    "8-bit headers": _mail(
        "From: Jürgen Müller <j@example.net>\r\nSubject: Krämpfe\r\nMessage-ID: <h8@x>\r\n".encode(
            "latin-1"
        ),
        b"body\r\n",
    ),
    "broken encoded word": _mail(
        b"From: =?utf-8?B?broken?= <e@example.net>\r\nSubject: =?x-unknown?Q?=ZZ?=\r\n"
        b"Message-ID: <ew@x>\r\n",
        b"text\r\n",
    ),
    "huge header": _mail(
        b"From: a@example.net\r\nMessage-ID: <hh@x>\r\nX-Long: " + b"a" * 200_000 + b"\r\n",
        b"hello\r\n",
    ),
    "huge references": _mail(
        b"From: a@example.net\r\nMessage-ID: <hr@x>\r\nReferences: "
        + b" ".join(b"<%d@x>" % n for n in range(5000))
        + b"\r\n",
        b"hello\r\n",
    ),
    "nested message/rfc822": _mail(
        b"From: a@example.net\r\nMessage-ID: <n1@x>\r\n"
        b'Content-Type: multipart/mixed; boundary="o"\r\n',
        b"--o\r\nContent-Type: message/rfc822\r\n\r\n"
        b'Content-Type: multipart/mixed; boundary="i"\r\n\r\n'
        b"--i\r\nContent-Type: message/rfc822\r\n\r\n"
        b"Subject: deep\r\n\r\ninner\r\n--i--\r\n--o--\r\n",
    ),
    "attachments only": _mail(
        b"From: a@example.net\r\nMessage-ID: <a1@x>\r\n"
        b'Content-Type: multipart/mixed; boundary="q"\r\n',
        b"--q\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="lab.pdf"\r\n\r\nJVBERi0xLjQK\r\n--q--\r\n',
    ),
    "broken base64": _mail(
        b"From: a@example.net\r\nMessage-ID: <b64@x>\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n",
        b"!!!not*base64@@@\r\n",
    ),
    "no From at all": _mail(b"Message-ID: <nf@x>\r\nSubject: who am I\r\n", b"hello\r\n"),
    "NUL bytes in the body": _mail(
        b"From: a@example.net\r\nMessage-ID: <nul@x>\r\n", b"hel\x00lo chest\x00 pain\r\n"
    ),
}
