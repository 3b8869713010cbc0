"""The assignee's answer as the API takes it (the current assignment is on `TicketView`)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta


class AssignmentAnswer(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The assignee's answer from the console."""

    answer: Literal["confirmed", "rejected"]
    reason: Annotated[str, Meta(max_length=2000)] = ""
