"""The "Oddzwoń" list: unanswered calls from known callers nobody has called back yet."""

from __future__ import annotations

import datetime as dt

import msgspec
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tickets.core.orm import ClientRow, ContactRow
from tickets.core.phone_numbers import display
from tickets.domain.errors import NotFound
from tickets.telephony.orm import CallRow


class Callback(msgspec.Struct):
    id: int
    """The latest unanswered call from this number."""
    number: str
    number_display: str
    attempts: int
    first_at: dt.datetime
    last_at: dt.datetime
    client_id: int | None
    client_name: str | None
    contact_name: str | None
    do_not_contact: bool


def resolve_callbacks(session: Session, e164: str, at: dt.datetime, user_id: int | None) -> int:
    """An answered call with this number (either way) settles the missed calls before it."""
    result = session.execute(
        update(CallRow)
        .where(
            CallRow.number_e164 == e164,
            CallRow.state == "missed",
            CallRow.callback_done_at.is_(None),
            CallRow.started_at <= at,
        )
        .values(callback_done_at=at, callback_by_id=user_id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def list_callbacks(session: Session, limit: int = 200) -> list[Callback]:
    """One line per number, the most recent attempt first; only known callers."""
    rows = session.scalars(
        select(CallRow)
        .where(
            CallRow.state == "missed",
            CallRow.direction == "inbound",
            CallRow.callback_done_at.is_(None),
            CallRow.number_e164.is_not(None),
            (CallRow.client_id.is_not(None)) | (CallRow.contact_id.is_not(None)),
        )
        .order_by(CallRow.started_at.desc())
        .limit(limit * 5)
    )
    grouped: dict[str, list[CallRow]] = {}
    for row in rows:
        grouped.setdefault(row.number_e164 or "", []).append(row)
    out: list[Callback] = []
    for number, calls in list(grouped.items())[:limit]:
        latest = calls[0]
        client = session.get(ClientRow, latest.client_id) if latest.client_id else None
        contact = session.get(ContactRow, latest.contact_id) if latest.contact_id else None
        partner = client.partner if client is not None else None
        out.append(
            Callback(
                id=latest.id,
                number=number,
                number_display=display(number),
                attempts=len(calls),
                first_at=calls[-1].started_at,
                last_at=latest.started_at,
                client_id=client.id if client else None,
                client_name=client.name if client else None,
                contact_name=contact.name if contact else None,
                do_not_contact=bool(
                    (client and client.do_not_contact) or (partner and partner.do_not_contact)
                ),
            )
        )
    return out


def mark_called_back(
    session: Session, call_row_id: int, user_id: int | None, now: dt.datetime
) -> int:
    """A consultant called the number back: every open attempt from it leaves the list."""
    call = session.get(CallRow, call_row_id)
    if call is None or call.state != "missed":
        raise NotFound("callback", call_row_id)
    if call.number_e164 is None:
        call.callback_done_at, call.callback_by_id = now, user_id
        session.flush()
        return 1
    return resolve_callbacks(session, call.number_e164, now, user_id)
