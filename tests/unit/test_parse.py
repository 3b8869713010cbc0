"""Mail parsing: Polish charsets, broken headers, HTML, attachments, what is not mail."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest

from intake.html import html_to_text, sanitize_html
from intake.parse import ParseError, decode_bytes, decode_header_value, parse_mail

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mail"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_iso_8859_2_quoted_printable_body_and_q_encoded_subject() -> None:
    mail = parse_mail(fixture("iso-8859-2.eml"))
    assert mail.subject == "Zgłoszenie błędu świąteczne"
    assert "zgłaszam błąd w module Kadry Płace" in mail.text
    assert "ŻŁÓBEK i ąę" in mail.text
    assert mail.sender is not None
    assert (mail.sender.address, mail.sender.name) == ("jan.kowalski@firma.pl", "Jan Kowalski")
    assert mail.date == datetime(2025, 3, 3, 9, 15, tzinfo=UTC)
    assert mail.message_id == "abc123@firma.pl"


def test_windows_1250_body_b_encoded_subject_and_recipients() -> None:
    mail = parse_mail(fixture("windows-1250.eml"))
    assert mail.subject == "Faktura nie księguje się – pilne"
    assert "Księgowość zgłasza: ŚŹĄ śźą" in mail.text
    assert mail.sender is not None
    assert mail.sender.name == "Małgorzata Świętochowska"
    assert [a.address for a in mail.to] == ["pomoc@sedno.example.pl", "druga@biuro.pl"]
    assert mail.to[0].name == "Pomoc Sedno"
    assert [(a.address, a.name) for a in mail.cc] == [("pawel@biuro.pl", "Paweł")]
    assert mail.in_reply_to == "parent@sedno.example.pl"
    assert mail.references == ("root@sedno.example.pl", "parent@sedno.example.pl")


def test_utf8_with_a_character_split_across_two_encoded_words() -> None:
    mail = parse_mail(fixture("utf-8.eml"))
    assert mail.subject == "Zażółć gęślą jaźń"
    assert "„błąd 404”" in mail.text


@pytest.mark.parametrize(
    ("name", "subject", "body"),
    [
        ("undeclared-cp1250.eml", "Błąd wydruku – ściąga źle", "Świetnie działało"),
        ("undeclared-iso-8859-2.eml", "Środa: źle się liczą składki", "Ściągnięto złą"),
    ],
)
def test_undeclared_8bit_polish_is_recognised(name: str, subject: str, body: str) -> None:
    mail = parse_mail(fixture(name))
    assert mail.subject == subject
    assert body in mail.text


def test_undeclared_8bit_display_name() -> None:
    mail = parse_mail(fixture("undeclared-cp1250.eml"))
    assert mail.sender is not None
    assert mail.sender.name == "Łukasz Źrebiec"


def test_broken_encoded_words_and_headers_do_not_stop_parsing() -> None:
    mail = parse_mail(fixture("broken-headers.eml"))
    assert mail.subject.startswith("Pytanie o licencję")
    assert "łę" in mail.subject  # an unknown charset label falls back to guessing
    assert mail.sender is not None
    assert mail.sender.address == "zbyszek@firma.pl"
    assert "x@y.pl" in [a.address for a in mail.to]
    assert all("<" not in a.address for a in mail.to)
    assert mail.date is None
    assert mail.message_id == "no-brackets@firma.pl"
    assert mail.text == "Treść w nieznanym kodowaniu."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("=?utf-8?q?Zg=C5=82oszenie?=", "Zgłoszenie"),
        ("=?UTF-8?B?WmfFgm9zemVuaWU?=", "Zgłoszenie"),  # missing base64 padding
        ("=?iso-8859-2?Q?=A3=F3d=BC?= =?iso-8859-2?Q?_miasto?=", "Łódź miasto"),
        ("Re: =?windows-1250?Q?=8Cl=B9sk?=", "Re: Śląsk"),
        ("=?utf-8*pl?Q?Pa=C5=84stwo?=", "Państwo"),  # RFC 2231 language suffix
        ("=?utf-8?Q?broken", "=?utf-8?Q?broken"),  # not an encoded word: left alone
    ],
)
def test_rfc2047_words(raw: str, expected: str) -> None:
    assert decode_header_value(raw) == expected


def test_body_declared_utf8_but_really_cp1250_is_decoded_as_polish() -> None:
    assert decode_bytes("Zażółć gęślą".encode("cp1250"), "utf-8") == "Zażółć gęślą"


def test_html_only_mail_gets_readable_text() -> None:
    mail = parse_mail(fixture("html-only.eml"))
    assert "Dzień dobry," in mail.text
    assert "wdrożenie zakończone." in mail.text
    assert "- moduł Handel" in mail.text
    assert "alert" not in mail.text and "background" not in mail.text


def test_sanitised_html_has_no_script_handlers_javascript_or_remote_images() -> None:
    mail = parse_mail(fixture("html-only.eml"))
    assert mail.html is not None
    html = mail.html.lower()
    for forbidden in ("<script", "alert(", "onload", "onclick", "javascript:", "tracker.example"):
        assert forbidden not in html
    assert "<iframe" not in html and "<style" not in html
    assert '<img src="cid:logo@partner.pl"' in mail.html  # inline image stays for the UI
    assert "<b>zakończone</b>" in mail.html
    assert 'href="https://partner.pl/raport"' in mail.html


def test_sanitise_replaces_remote_image_with_alt_text() -> None:
    cleaned = sanitize_html('<p>x</p><img src="http://t.example/a.png" alt="Logo firmy">')
    assert "<img" not in cleaned
    assert "[Logo firmy]" in cleaned


def test_html_to_text_skips_head_and_breaks_blocks() -> None:
    text = html_to_text("<head><title>T</title></head><div>a</div><div>b<br>c</div>")
    assert text == "a\n\nb\nc"


def test_attachments_are_extracted_with_polish_names_and_inline_images() -> None:
    mail = parse_mail(fixture("attachments.eml"))
    assert mail.text == "W załączeniu faktura i zrzut ekranu."
    by_type = {a.content_type: a for a in mail.attachments}
    pdf = by_type["application/pdf"]
    assert pdf.filename == "Faktura VAT żółta.pdf"
    assert pdf.data.startswith(b"%PDF-1.4")
    assert pdf.size == len(pdf.data)
    assert not pdf.inline
    image = by_type["image/png"]
    assert image.inline
    assert image.content_id == "zrzut1@firma.pl"
    assert image.data.startswith(b"\x89PNG")


def test_classifier_headers_are_exposed() -> None:
    raw = (
        b"From: a@b.pl\nTo: c@d.pl\nSubject: x\nAuto-Submitted: auto-replied\n"
        b"Precedence: bulk\nX-Loop: pomoc@sedno.example.pl\nX-Sedno-Loop: 1\n"
        b"List-Id: <lista.b.pl>\nList-Unsubscribe: <mailto:u@b.pl>\nReturn-Path: <>\n"
        b"X-Autoreply: yes\nX-Autorespond: yes\nX-Auto-Response-Suppress: All\n\nbody\n"
    )
    mail = parse_mail(raw)
    assert mail.auto_submitted == "auto-replied"
    assert mail.precedence == "bulk"
    assert mail.x_loop == ("pomoc@sedno.example.pl",)
    assert mail.own_loop == "1"
    assert mail.list_id == "<lista.b.pl>"
    assert mail.list_unsubscribe == "<mailto:u@b.pl>"
    assert mail.return_path == "<>"
    assert (mail.x_autoreply, mail.x_autorespond) == ("yes", "yes")
    assert mail.x_auto_response_suppress == "All"
    assert mail.headers["subject"] == ["x"]
    assert mail.header("X-SEDNO-LOOP") == "1"


def test_custom_loop_header_name() -> None:
    mail = parse_mail(b"From: a@b.pl\nX-Our-Loop: yes\n\nx\n", loop_header="X-Our-Loop")
    assert mail.own_loop == "yes"


def test_dsn_report_type_and_enclosed_parts() -> None:
    mail = parse_mail(fixture("bounce-dsn.eml"))
    assert mail.content_type == "multipart/report"
    assert mail.report_type == "delivery-status"
    types = [a.content_type for a in mail.attachments]
    assert types == ["message/delivery-status", "message/rfc822"]
    assert b"Subject: Re: ZS/2025/7" in mail.attachments[1].data


def test_forward_as_attachment_only_shows_enclosed_text() -> None:
    inner = b"From: Ala <ala@x.pl>\nSubject: Pierwotna\n\nTresc pierwotna\n"
    raw = (
        b"From: b@y.pl\nSubject: Fwd\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="B"\n\n--B\n'
        b"Content-Type: message/rfc822\n\n" + inner + b"--B--\n"
    )
    mail = parse_mail(raw)
    assert "Tresc pierwotna" in mail.text
    assert mail.attachments[0].content_type == "message/rfc822"


def test_leading_blank_lines_and_crlf() -> None:
    mail = parse_mail(b"   \r\n\r\nFrom: a@b.pl\r\nSubject: Hej\r\n\r\nLinia 1\r\nLinia 2\r\n")
    assert mail.subject == "Hej"
    assert mail.text == "Linia 1\nLinia 2"


def test_text_never_holds_nul_or_lone_surrogates() -> None:
    mail = parse_mail(b"From: a@b.pl\nSubject: a\x00b\n\nx\x00y \xff\xfe\n")
    for value in (mail.subject, mail.text):
        value.encode("utf-8")  # raises on lone surrogates
        assert "\x00" not in value


@pytest.mark.parametrize(
    "raw",
    [b"", b"   \n\n", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), b"just some words, no headers"],
)
def test_not_mail_raises_parse_error(raw: bytes) -> None:
    with pytest.raises(ParseError):
        parse_mail(raw)


def test_base64_body_with_broken_padding_still_decodes() -> None:
    body = base64.b64encode("Błąd!".encode()).rstrip(b"=")
    assert not body.endswith(b"=") and len(body) % 4
    raw = (
        b"From: a@b.pl\nSubject: s\nContent-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: base64\n\n" + body + b"\n"
    )
    assert parse_mail(raw).text == "Błąd!"
