"""Who may get automatic mail: do-not-contact, bouncing addresses, complaints.

Every automatic mail (acknowledgements, state and assignment notices, digests, appointment
mail) leaves through one `mail.send` handler, which asks `blocked_reason` for each recipient
with the latest data; the services that compose mail ask it too, so the ticket's history says
at once why nothing was sent. A bounce of our mail counts against the address; after
`BOUNCE_LIMIT` of them nothing more goes to it until its owner writes to us again. A
feedback-loop complaint stops automatic mail to the address for good.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from intake.orm import AddressStatusRow
from intake.parse import ParsedMail
from tickets.core.client_warnings import DO_NOT_CONTACT
from tickets.core.db import utcnow
from tickets.core.orm import TicketRow
from tickets.notices.optout import OPTED_OUT, opted_out
from tickets.notifications.service import do_not_contact_reason

BOUNCE_LIMIT: Final = 3
"""Hard bounces after which an address gets no more mail."""
NOT_SENT: Final = "nie wysłano"
_RECIPIENT_FIELD: Final = re.compile(
    r"^(final|original)-recipient\s*:\s*(?:rfc822\s*;\s*)?<?([^\s<>;]+@[^\s<>;]+?)>?\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_ACTION_FAILED: Final = re.compile(r"^action\s*:\s*failed", re.IGNORECASE | re.MULTILINE)
_ARF_RECIPIENT: Final = re.compile(
    r"^(original-rcpt-to|removal-recipient)\s*:\s*<?([^\s<>;]+@[^\s<>;]+?)>?\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_ENCLOSED_TO: Final = re.compile(r"^to\s*:.*?([\w.+'-]+@[\w-]+(?:\.[\w-]+)+)", re.I | re.M)
_ANY_ADDRESS: Final = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


def blocked_reason(
    session: Session, address: str, ticket: TicketRow | None = None, *, staff: bool = False
) -> str | None:
    """Why no automatic mail may go to `address` (about `ticket`), or None when it may.
    `staff`: mail to a Sedno user (a notice), which a client's do-not-contact does not stop."""
    address = address.strip().lower()
    dnc = None if staff else do_not_contact_reason(session, ticket, address)
    if dnc is not None:
        return f"{DO_NOT_CONTACT} ({dnc})"
    if opted_out(session, address):
        return OPTED_OUT
    status = session.get(AddressStatusRow, address)
    if status is not None:
        if status.complained_at is not None:
            return "adres zgłosił skargę na naszą pocztę (feedback loop)"
        if status.bounces >= BOUNCE_LIMIT:
            return f"adres odbija pocztę ({status.bounces} zwrotów)"
    return None


def _status(session: Session, address: str) -> AddressStatusRow:
    row = session.get(AddressStatusRow, address, with_for_update=True)
    if row is None:
        row = AddressStatusRow(address=address, bounces=0, last_bounce_reason="")
        session.add(row)
    return row


def record_bounces(session: Session, addresses: Iterable[str], reason: str) -> list[str]:
    """Count a hard bounce against each address; return them, lower-cased."""
    counted: list[str] = []
    for address in dict.fromkeys(a.strip().lower() for a in addresses if "@" in a):
        row = _status(session, address)
        row.bounces = (row.bounces or 0) + 1
        row.last_bounce_at = utcnow()
        row.last_bounce_reason = reason[:1000]
        counted.append(address)
    session.flush()
    return counted


def record_complaints(session: Session, addresses: Iterable[str]) -> list[str]:
    """Stop automatic mail to each address; return them, lower-cased."""
    marked: list[str] = []
    for address in dict.fromkeys(a.strip().lower() for a in addresses if "@" in a):
        row = _status(session, address)
        row.complained_at = row.complained_at or utcnow()
        marked.append(address)
    session.flush()
    return marked


# Asked for every mail a person sends: one cached statement, nothing loaded.
_CLEAR_BOUNCES: Final = (
    update(AddressStatusRow)
    .where(AddressStatusRow.address == bindparam("who"), AddressStatusRow.bounces > 0)
    .values(bounces=0)
)


def clear_bounces(session: Session, address: str) -> None:
    """A person wrote from the address: it works again (a complaint stays)."""
    session.connection().execute(_CLEAR_BOUNCES, {"who": address.strip().lower()})


def _report_text(mail: ParsedMail) -> str:
    """The machine-readable parts of a report, where the recipients are named."""
    chunks = [
        a.data[:20_000].decode("utf-8", "replace")
        for a in mail.attachments
        if a.content_type.startswith(("message/", "text/rfc822-headers"))
    ]
    return "\n".join(chunks)


def bounced_recipients(mail: ParsedMail, own_domain: str) -> list[str]:
    """The addresses a bounce says our mail could not reach (failed, not delayed)."""
    report = _report_text(mail)
    found = [m.group(2) for m in _RECIPIENT_FIELD.finditer(report)]
    if found:
        return found if _ACTION_FAILED.search(report) else []
    # A plain-text bounce: the addresses it names, except its own and ours.
    sender = mail.sender.address.lower() if mail.sender else ""
    own = "@" + own_domain.lower()
    return [
        a
        for a in dict.fromkeys(_ANY_ADDRESS.findall(mail.text[:5000]))
        if a.lower() != sender and not a.lower().endswith(own)
    ]


def complaining_recipients(mail: ParsedMail) -> list[str]:
    """Whom an ARF complaint is about: the recipient of the mail they marked as spam."""
    report = _report_text(mail)
    found = [m.group(2) for m in _ARF_RECIPIENT.finditer(report)]
    if not found:
        found = [m.group(1) for m in _ENCLOSED_TO.finditer(report)]
    return found
