"""build_message's cheaper header handling writes the same bytes as email's default policy."""

import email.policy
from email.message import EmailMessage

import pytest

from workers.mail import build_message

CASES = [
    {
        "to": "c1@example.com",
        "subject": "Two hours left",
        "text": "A reminder\nOpen it: https://example.test/tasks/1\n",
        "html": "<p>A reminder</p>",
        "headers": {
            "Message-ID": "<outbox-1-1-0123456789ab@followthrough.invalid>",
            "X-Followthrough-Ids": "1",
            "Auto-Submitted": "auto-generated",
            # Longer than a line: folded.
            "List-Unsubscribe": "<https://example.test/unsubscribe/" + "a" * 120 + ">",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    },
    {  # non-ASCII header and body: encoded words, base64 / quoted-printable parts
        "to": "zoë@example.com",
        "subject": "Thank-you email to Zoë at Société Générale",
        "text": "Héllo\n",
        "html": "<p>é</p>" * 40,
        "headers": {"Message-ID": "<outbox-2-1-0123456789ab@followthrough.invalid>"},
    },
    {  # long subject and long body lines
        "to": "Long Name <a@example.com>",
        "subject": "A very long subject " * 8,
        "text": "x" * 300 + "\n",
        "html": "<p>" + "y" * 300 + "</p>",
        "headers": {},
    },
]


def default_policy_message(to, subject, text, html, headers):
    message = EmailMessage()
    message["To"] = to
    message["Subject"] = subject
    for name, value in headers.items():
        message[name] = value
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


@pytest.mark.parametrize("case", CASES)
def test_same_bytes_as_the_default_policy_apart_from_the_boundary(case):
    for _ in range(2):  # the second time with the Content-* headers already parsed once
        expected = default_policy_message(**case)
        built = build_message(**case)
        assert built.get_boundary().startswith("=_")
        for message in (expected, built):
            message.set_boundary("BOUNDARY")
            message["From"] = "Followthrough <noreply@example.com>"
        assert built.as_bytes(policy=built.policy.clone(linesep="\r\n")) == expected.as_bytes(
            policy=email.policy.SMTP
        )
        assert built.get_body(("plain",)).get_content() == case["text"]


def test_line_breaks_in_a_header_are_still_refused():
    with pytest.raises(ValueError):
        build_message(to="a@example.com", subject="Hi\r\nBcc: b@example.com", text="x")
