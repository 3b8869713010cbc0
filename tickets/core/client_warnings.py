"""What a consultant must see before talking to a client: the ticket view, the worklist, the
directory and the call pop all show the same warnings."""

from __future__ import annotations

from typing import Final

from tickets.core.orm import ClientRow, PartnerRow

DO_NOT_CONTACT: Final = "Zakaz kontaktu"


def warnings_for(client: ClientRow | None, partner: PartnerRow | None) -> list[str]:
    """What a consultant must see before talking to this client."""
    out: list[str] = []
    if (client is not None and client.do_not_contact) or (
        partner is not None and partner.do_not_contact
    ):
        out.append(DO_NOT_CONTACT)
    if client is not None and client.sales_note:
        out.append(f"Uwaga handlowa: {client.sales_note}")
    if partner is not None and partner.sales_note:
        out.append(f"Uwaga handlowa (partner): {partner.sales_note}")
    return out
