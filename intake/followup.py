"""A reply to a finished ticket: reopen it, or start a new call that names it.

Like Zammad's follow-up rule: a customer's reply to a ticket completed at most
`reopen_days` ago reopens it (completed → in_progress, with the reason in its history); a
later reply, or one to a cancelled ticket, becomes a new call with the earlier ticket as its
hint. Only ham gets here: auto-replies, bounces and loops never thread, so never reopen.
"""

from __future__ import annotations

import datetime as dt
from typing import Final, Literal

import msgspec
from sqlalchemy.orm import Session

from intake.settings import IntakeSettings
from tickets.core import definitions as defs
from tickets.core.orm import TicketRow
from tickets.core.schemas import SYSTEM
from tickets.core.services import apply_transition

REOPEN_STATE: Final = "in_progress"
"""Where a reopened ticket goes; a definition without completed → in_progress never reopens."""


class FollowUp(msgspec.Struct, frozen=True):
    """What a reply does to its ticket, and why (for the history or the new call's reason)."""

    action: Literal["attach", "reopen", "new_call"]
    reason: str = ""


def decide_follow_up(
    session: Session, ticket: TicketRow, settings: IntakeSettings, now: dt.datetime
) -> FollowUp:
    """Attach to an open ticket; reopen a recently completed one; else a new call."""
    definition = defs.get_definition(session, ticket.definition_code)
    if ticket.state not in definition.final_states:
        return FollowUp("attach")
    if ticket.state != "completed" or REOPEN_STATE not in definition.allowed_from("completed"):
        return FollowUp("new_call", f"reply to {ticket.number}, which is {ticket.state}")
    age = now - (ticket.completed_at or ticket.updated_at)
    days = max(0, age.days)
    if settings.reopen_days > 0 and age <= dt.timedelta(days=settings.reopen_days):
        return FollowUp("reopen", f"customer replied {days} day(s) after completion")
    return FollowUp(
        "new_call",
        f"reply to {ticket.number}, completed {days} days ago "
        f"(a reply reopens only within {settings.reopen_days} days)",
    )


def reopen_for_reply(session: Session, ticket: TicketRow, sender: str, reason: str) -> None:
    """completed → in_progress through the ticket service, the reason in the history."""
    definition = defs.get_definition(session, ticket.definition_code)
    note = f"reopened by a mail from {sender or 'an unknown sender'}: {reason}"
    apply_transition(session, SYSTEM, ticket, definition, REOPEN_STATE, note=note)
