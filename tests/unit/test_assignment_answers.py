"""What an assignee's reply answers, and what a signed answer link proves."""

from __future__ import annotations

import datetime as dt

import pytest

from tickets.assignments import links
from tickets.assignments.replies import read_answer

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
SECRET = "test-secret"


@pytest.mark.parametrize(
    ("text", "answer", "reason"),
    [
        ("Potwierdzam", "confirmed", ""),
        ("potwierdzam.\n\nAnia", "confirmed", "Ania"),
        ("Akceptuję, biorę to.", "confirmed", "biorę to."),
        ("OK", "confirmed", ""),
        ("Tak — zajmę się tym jutro", "confirmed", "zajmę się tym jutro"),
        ("Yes, on it", "confirmed", "on it"),
        ("Odrzucam: jestem na urlopie do piątku.", "rejected", "jestem na urlopie do piątku."),
        ("Nie, to moduł Kadry.\nNiech zajmie się Marek.", "rejected",
         "to moduł Kadry.\nNiech zajmie się Marek."),
        ("Odmawiam", "rejected", ""),
        ("Decline - wrong module", "rejected", "wrong module"),
    ],
)  # fmt: skip
def test_the_first_word_decides(text: str, answer: str, reason: str) -> None:
    assert read_answer(text) == (answer, reason)


def test_quoted_mail_and_signature_are_not_the_answer() -> None:
    quoted = (
        "\n\nW dniu 1.12.2026 o 10:00 Sedno <pomoc@sedno.test> napisał:\n"
        "> Potwierdzam: https://sedno.test/assignments/answer?...\n> Odrzucam: ..."
    )
    assert read_answer("Odrzucam, nie znam tego modułu." + quoted) == (
        "rejected",
        "nie znam tego modułu.",
    )
    # Only the quote and a signature: nothing of the assignee's own decides.
    assert read_answer("\n-- \nAnia Konsultant\ntel. 500 600 700" + quoted) == (None, "")
    assert read_answer("> Potwierdzam\n> Odrzucam") == (None, "")
    assert read_answer("On Tue, Dec 1, 2026 Sedno wrote:\n> Potwierdzam")[0] is None


def test_anything_else_decides_nothing_and_keeps_the_text() -> None:
    assert read_answer("Zadzwonię do klienta i dam znać.") == (
        None,
        "Zadzwonię do klienta i dam znać.",
    )
    assert read_answer("Oki doki") == (None, "Oki doki")  # not a word of the list
    assert read_answer("") == (None, "")


def _query(url: str) -> dict[str, str]:
    from urllib.parse import parse_qs, urlparse

    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def test_a_link_names_its_assignment_and_answer_until_it_expires() -> None:
    url = links.answer_url("https://sedno.test", SECRET, 7, "rejected", NOW)
    assert url.startswith("https://sedno.test/assignments/answer?")
    q = _query(url)
    link = links.read_link(SECRET, q["a"], q["d"], q["e"], q["s"], NOW + dt.timedelta(days=13))
    assert (link.assignment_id, link.answer) == (7, "rejected")
    with pytest.raises(links.LinkRefused) as expired:
        links.read_link(SECRET, q["a"], q["d"], q["e"], q["s"], NOW + dt.timedelta(days=15))
    assert expired.value.expired


@pytest.mark.parametrize(
    "change",
    [{"a": "8"}, {"d": "confirmed"}, {"e": "9999999999"}, {"s": "x" * 24}, {"a": "7x"}],
)
def test_a_changed_link_is_refused(change: dict[str, str]) -> None:
    q = {**_query(links.answer_url("", SECRET, 7, "rejected", NOW)), **change}
    with pytest.raises(links.LinkRefused) as refused:
        links.read_link(SECRET, q["a"], q["d"], q["e"], q["s"], NOW)
    assert not refused.value.expired


def test_another_installation_s_secret_does_not_sign_our_links() -> None:
    q = _query(links.answer_url("", "other-secret", 7, "confirmed", NOW))
    with pytest.raises(links.LinkRefused):
        links.read_link(SECRET, q["a"], q["d"], q["e"], q["s"], NOW)


def test_text_that_reads_like_an_auto_reply_answers_only_with_an_explicit_verb() -> None:
    away = "Nie będę dostępna, jestem na urlopie do 7.12."
    assert read_answer(away)[0] == "rejected"
    assert read_answer(away, explicit_only=True) == (None, away)
    assert read_answer("Odrzucam, jestem na urlopie.", explicit_only=True) == (
        "rejected",
        "jestem na urlopie.",
    )
