"""The ticket protocol: the ticket's facts gathered into a template, printed to PDF."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path
from typing import Any

import msgspec
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core.orm import ClientRow, UserRow
from tickets.core.schemas import TicketView
from tickets.core.views import ticket_view
from tickets.domain.errors import Conflict
from tickets.protocol.settings import ProtocolSettings, missing_fonts

TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(("html",)), auto_reload=False
)
STATE_ACTIONS = {"created": "Utworzono", "transition": "Zmiana stanu", "handoff": "Przekazano"}


class ProtocolUnavailable(Conflict):
    """The protocol cannot be printed here (its font is not installed)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, slug="protocol-unavailable")


class TimelineLine(msgspec.Struct, frozen=True):
    at: str
    what: str
    text: str


class TimeLine(msgspec.Struct, frozen=True):
    person: str
    seconds: int


class Protocol(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the protocol prints, already in words."""

    ticket: TicketView
    client_tax_id: str | None
    lead_consultant: str
    timeline: list[TimelineLine]
    time_by_person: list[TimeLine]
    reported_at: str
    printed_at: str


def duration(seconds: int) -> str:
    """`1 h 05 min` (the protocol's way of writing time spent)."""
    minutes = (seconds + 59) // 60
    return f"{minutes // 60} h {minutes % 60:02d} min"


def gather_protocol(
    session: Session, ticket_id: int, tz: zoneinfo.ZoneInfo, now: dt.datetime
) -> Protocol:
    """The protocol of one ticket: fields, timeline of messages and moves, time per person."""
    view = ticket_view(session, ticket_id)
    client = session.get(ClientRow, view.client_id) if view.client_id else None
    user_ids = {e.user_id for e in view.time_entries}
    if view.lead_consultant_id:
        user_ids.add(view.lead_consultant_id)
    names = {u.id: u.name for u in session.scalars(select(UserRow).where(UserRow.id.in_(user_ids)))}

    def local(at: dt.datetime) -> str:
        return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    lines = [
        (m.at, TimelineLine(local(m.at), "Wiadomość" if m.direction == "in" else "Odpowiedź",
                            f"{m.sender}: {m.subject}".strip(": ")))
        for m in view.messages
        if m.direction in ("in", "out") and not m.automatic
    ]  # fmt: skip
    for h in view.history:
        if h.action not in STATE_ACTIONS:
            continue
        text = str(h.new_value or "")
        if h.action == "transition":
            text = f"{h.old_value} → {h.new_value}"
        if h.note:
            text = f"{text} — {h.note}"
        lines.append((h.at, TimelineLine(local(h.at), STATE_ACTIONS[h.action], text)))
    lines.sort(key=lambda pair: pair[0])
    per_person: dict[int, int] = {}
    for e in view.time_entries:
        per_person[e.user_id] = per_person.get(e.user_id, 0) + (e.seconds or 0)
    return Protocol(
        ticket=view,
        client_tax_id=client.tax_id if client else None,
        lead_consultant=names.get(view.lead_consultant_id or 0, "—"),
        timeline=[line for _, line in lines],
        time_by_person=[TimeLine(names.get(uid, f"#{uid}"), s) for uid, s in per_person.items()],
        reported_at=local(view.reported_at),
        printed_at=local(now),
    )


def protocol_html(protocol: Protocol, settings: ProtocolSettings) -> str:
    template = _env.get_template("protocol.html")
    context: dict[str, Any] = {
        "p": protocol,
        "t": protocol.ticket,
        "settings": settings,
        "font_regular": Path(settings.font_regular).as_uri(),
        "font_bold": Path(settings.font_bold).as_uri(),
        "duration": duration,
    }
    return template.render(**context)


def render_pdf(html: str) -> bytes:
    """Print HTML to PDF with WeasyPrint; only local files (the fonts) are read, nothing is
    fetched from the network."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=("file",))
    document: bytes = HTML(string=html, url_fetcher=fetcher).write_pdf()
    return document


def protocol_pdf(
    session: Session,
    ticket_id: int,
    settings: ProtocolSettings,
    tz: zoneinfo.ZoneInfo,
    now: dt.datetime,
) -> tuple[str, bytes]:
    """The ticket's number and its protocol as PDF bytes."""
    missing = missing_fonts(settings)
    if missing:
        raise ProtocolUnavailable(f"no font file at {', '.join(missing)} (fonts-dejavu-core)")
    protocol = gather_protocol(session, ticket_id, tz, now)
    return protocol.ticket.number, render_pdf(protocol_html(protocol, settings))
