"""The intake queue and mail display in headless Chromium."""

from __future__ import annotations

import re
import uuid
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select

from intake.context import IntakeContext
from intake.ingest import ingest_mail
from intake.orm import IntakeCallRow
from intake.parse import parse_mail
from tests.e2e.ui.conftest import Server, login, screenshot
from tickets.core.db import utcnow
from tickets.core.orm import TicketMessageRow, TicketRow
from tickets.core.schemas import SYSTEM, TicketCreate
from tickets.core.services import create_ticket

REMOTE = "tracker.example.net"
HOSTILE_HTML = f"""
<html><head><script>alert('head-script')</script></head>
<body onload="alert('onload')">
<p>Dzień dobry, w załączeniu <b>zrzut ekranu</b> błędu.</p>
<script>alert('body-script'); parent.document.title = 'PWNED';</script>
<img src="http://{REMOTE}/pixel.gif?id=1" alt="logo firmy" onerror="alert('onerror')">
<img src="https://{REMOTE}/track.png" width="1" height="1">
<a href="javascript:alert('link')" id="evil-link">kliknij tutaj</a>
<a href="https://pomoc.enova.pl/artykul/kb-1021">artykuł</a>
<div style="background:url(http://{REMOTE}/bg.png)" onmouseover="alert('hover')">najedź</div>
<iframe src="http://{REMOTE}/frame"></iframe>
<form action="http://{REMOTE}/steal"><input name="x"><button>Wyślij</button></form>
<svg onload="alert('svg')"><circle r="5"/></svg>
<object data="http://{REMOTE}/x.swf"></object>
</body></html>
"""


def _mail(subject: str, body: str, sender: str, html: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Klient <{sender}>"
    msg["To"] = "pomoc@sedno.localhost"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{uuid.uuid4()}@example.pl>"
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def _ingest(server: Server, raw: bytes) -> Any:
    ctx = IntakeContext(server.container.settings, blobs=server.container.blobs)
    with server.container.db.transaction() as s:
        return ingest_mail(s, ctx, raw)


def test_accept_a_call_from_the_queue_and_see_its_number(page: Any, ui_server: Server) -> None:
    subject = f"Nie działa wysyłka JPK {uuid.uuid4().hex[:6]}"
    ham = _ingest(
        ui_server,
        _mail(
            subject,
            "Dzień dobry,\nplik JPK_V7M jest odrzucany przez bramkę, błąd podpisu 413.\n"
            "Proszę o pomoc.\nEwa Nowak, Biuro Rachunkowe",
            f"ewa.nowak.{uuid.uuid4().hex[:6]}@biuro-rachunkowe.pl",
        ),
    )
    assert ham.status == "pending" and ham.classification == "ham", ham
    login(page, ui_server.url)
    page.click("nav >> text=Kolejka zgłoszeń")
    row = page.locator(f"#call-{ham.call_id}")
    assert subject in row.locator(".subject").inner_text()
    assert row.locator(".badge.class").inner_text() == "zgłoszenie"
    assert "JPK" in row.locator(".similar-inline").inner_text()
    screenshot(page, "queue")
    row.locator("form.accept select[name=definition]").select_option("ZS")
    row.locator("form.accept button[type=submit]").click()
    page.wait_for_url(re.compile(r"/queue\?accepted=\d+"))
    shown = page.locator("#accepted-number").inner_text()
    with ui_server.container.db.read() as s:
        ticket = s.scalar(select(TicketRow).where(TicketRow.title == subject))
        assert ticket is not None
        assert shown == ticket.number and shown.startswith("ZS/")
    assert page.locator(f"#call-{ham.call_id}").count() == 0
    page.click("#accepted-number")
    assert page.locator("h1 .number").inner_text() == shown
    assert "Ewa Nowak" in page.locator(".timeline").inner_text()


def test_bulk_drop_of_spam_and_restore(page: Any, ui_server: Server) -> None:
    tag = uuid.uuid4().hex[:6]
    calls = []
    for i in range(2):
        with ui_server.container.db.transaction() as s:
            call = IntakeCallRow(
                source="mail",
                status="pending",
                classification="spam",
                reason="rules: viagra, bitcoin",
                score=0.7,
                sender=f"promo{i}@spam-{tag}.biz",
                subject=f"TANIE LEKI {tag} #{i}",
                body_text="Kup teraz!",
                received_at=utcnow(),
            )
            s.add(call)
            s.flush()
            calls.append(call.id)
    login(page, ui_server.url)
    page.goto(f"{ui_server.url}/queue")
    page.click("[data-select-spam]")
    for call_id in calls:
        assert page.locator(f"#call-{call_id} input.bulk-pick").is_checked()
    page.click("#bulk-form button[type=submit]")
    page.wait_for_url(re.compile(r"dropped="))
    for call_id in calls:
        assert page.locator(f"#call-{call_id}").count() == 0
    page.click(".tabs >> text=Odrzucone")
    dropped = page.locator(f"#call-{calls[0]}")
    assert "niechciana poczta" in dropped.inner_text()
    dropped.locator("text=Przywróć").click()
    page.wait_for_url(re.compile(r"restored=1"))
    assert page.locator(f"#call-{calls[0]}").count() == 1
    assert page.locator(f"#call-{calls[1]}").count() == 0


def test_mail_html_shows_nothing_executable(page: Any, ui_server: Server) -> None:
    with ui_server.container.db.transaction() as s:
        ticket = create_ticket(
            s, SYSTEM, TicketCreate(definition="ZS", title="Zrzut ekranu błędu w mailu")
        )
        parsed = parse_mail(
            _mail("Zrzut ekranu", "w załączeniu", "klient@example.pl", HOSTILE_HTML)
        )
        assert parsed.html is not None
        s.add(
            TicketMessageRow(
                ticket_id=ticket.id,
                direction="in",
                sender="klient@example.pl",
                subject="Zrzut ekranu (oczyszczony przy przyjęciu)",
                body_text=parsed.text,
                body_html=parsed.html,
                attach_reason="test: mail sanitised by intake",
            )
        )
        # A row stored raw (e.g. by an old import): the page must hold on its own.
        s.add(
            TicketMessageRow(
                ticket_id=ticket.id,
                direction="in",
                sender="klient@example.pl",
                subject="Zrzut ekranu (surowy HTML w bazie)",
                body_text="w załączeniu",
                body_html=HOSTILE_HTML,
                attach_reason="test: raw HTML row",
            )
        )
        ticket_id = ticket.id

    dialogs: list[str] = []
    remote: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.context.on("request", lambda r: remote.append(r.url) if REMOTE in r.url else None)
    login(page, ui_server.url)
    page.goto(f"{ui_server.url}/tickets/{ticket_id}")
    frames = page.locator("iframe.mail-frame")
    assert frames.count() == 2
    for i in range(2):
        assert frames.nth(i).get_attribute("sandbox") == ""
        body = page.frame_locator("iframe.mail-frame").nth(i).locator("body")
        assert "zrzut ekranu" in body.inner_text()
        assert body.locator("script, iframe, object, form, svg").count() == 0
        hrefs = body.locator("a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
        # The javascript: link survives as text only; the real link keeps its address.
        assert [h for h in hrefs if h is not None] == ["https://pomoc.enova.pl/artykul/kb-1021"]
        handlers = body.evaluate(
            "b => [...b.ownerDocument.querySelectorAll('*')]"
            ".flatMap(e => [...e.attributes].map(a => a.name))"
            ".filter(n => n.startsWith('on') || n === 'style')"
        )
        assert handlers == []
        body.locator("text=kliknij tutaj").click()
        body.locator("text=najedź").hover()
    page.mouse.move(10, 10)
    page.wait_for_timeout(800)
    screenshot(page, "ticket-mail")
    assert dialogs == []
    assert remote == []
    assert page.title() != "PWNED"
