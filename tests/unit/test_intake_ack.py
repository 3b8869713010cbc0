"""Signed Message-IDs, who may get an automatic answer, and the outgoing message shape."""

from __future__ import annotations

from intake.ack import may_auto_reply
from intake.mailer import build_message
from tickets.core.message_ids import is_own_message_id, new_message_id, ticket_id_from_token
from tickets.core.settings import load_settings


def test_a_signed_message_id_names_its_ticket_only_with_our_secret_and_domain() -> None:
    mid = new_message_id(17, domain="sedno.test", secret="s3cret")
    assert mid.startswith("sedno.17.") and mid.endswith("@sedno.test")
    assert ticket_id_from_token(f"<{mid}>", domain="sedno.test", secret="s3cret") == 17
    assert ticket_id_from_token(mid, domain="sedno.test", secret="other") is None
    assert ticket_id_from_token(mid, domain="elsewhere.test", secret="s3cret") is None
    tampered = mid.replace("sedno.17.", "sedno.18.")
    assert ticket_id_from_token(tampered, domain="sedno.test", secret="s3cret") is None


def test_the_token_is_found_inside_quoted_text() -> None:
    mid = new_message_id(5, domain="sedno.test", secret="k")
    body = f"Dziękuję.\n\n> Pozdrawiamy\n> [ref: {mid}]\n"
    assert ticket_id_from_token(body, domain="sedno.test", secret="k") == 5


def test_two_message_ids_of_one_ticket_differ() -> None:
    assert new_message_id(1, domain="d.test", secret="k") != new_message_id(
        1, domain="d.test", secret="k"
    )


def test_own_message_id() -> None:
    assert is_own_message_id("sedno.1.a.b@sedno.test", "sedno.test")
    assert not is_own_message_id("x@klient.pl", "sedno.test")


def test_no_automatic_answer_to_robots_or_ourselves() -> None:
    settings = load_settings({"SEDNO_MAIL_FROM": "pomoc@sedno.test"})
    assert may_auto_reply("jan@klient.pl", settings)
    for address in (
        "MAILER-DAEMON@mx.pl",
        "postmaster@klient.pl",
        "noreply@bank.pl",
        "no-reply@x.pl",
        "pomoc@sedno.test",
        "",
    ):
        assert not may_auto_reply(address, settings), address


def test_build_message_carries_every_header() -> None:
    message = build_message(
        {
            "from": "Pomoc <pomoc@sedno.test>",
            "to": ["jan@klient.pl"],
            "subject": "[ZS/2026/1] Faktura",
            "message_id": "<sedno.1.a.b@sedno.test>",
            "headers": {"Auto-Submitted": "auto-replied", "X-Sedno-Loop": "sedno.test"},
            "text": "Zażółć gęślą jaźń",
        }
    )
    assert message["Message-ID"] == "<sedno.1.a.b@sedno.test>"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message.get_content().strip() == "Zażółć gęślą jaźń"
