"""The consultant's lists ("Moje zgłoszenia", open tickets) and the client card."""

from __future__ import annotations

from typing import Annotated, Any, Final

from litestar import Request, get
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Template

from api.container import planner_settings
from api.deps import ActorDep, ContainerDep
from tickets.console.choices import field_choices
from tickets.console.client_card import client_card
from tickets.console.worklist import SORTS, Sort, TicketFilter, find_tickets
from tickets.core import definitions as defs
from tickets.core.db import utcnow
from tickets.core.schemas import Priority
from ui.web import language, page

HOME_ITEMS: Final = 8
PAGE_SIZE: Final = 50


@get("/tickets", sync_to_thread=True)
def ticket_list(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    definition: FromQuery[str] = "",
    ticket_state: Annotated[str, QueryParameter(name="state")] = "",
    priority: FromQuery[Priority | None] = None,
    module: FromQuery[str] = "",
    client_id: FromQuery[int | None] = None,
    sort: FromQuery[Sort] = "newest",
    mine: FromQuery[bool] = False,
    offset: Annotated[int, QueryParameter(ge=0)] = 0,
) -> Template:
    """Open tickets with filters and sorting, overdue first; `mine=1` is "Moje zgłoszenia"."""
    wanted = TicketFilter(
        definition=definition or None,
        state=ticket_state or None,
        priority=priority,
        module=module or None,
        client_id=client_id,
        assigned_to=actor.user_id if mine else None,
        open_only=not ticket_state,
        sort=sort,
        overdue_first=True,
        limit=PAGE_SIZE,
        offset=offset,
    )
    lang = language(request)
    with container.db.read() as s:
        items, total = (
            find_tickets(s, wanted, utcnow(), lang=lang)
            if actor.user_id is not None or not mine
            else ([], 0)
        )
        definitions = defs.list_definitions(s)
        choices = field_choices(s)
    states = sorted({st for d in definitions for st in d.state_codes()})
    return page(
        request,
        "tickets.html",
        actor=actor,
        items=items,
        total=total,
        mine=mine,
        definitions=definitions,
        states=states,
        choices=choices,
        sorts=SORTS,
        current={
            "definition": definition,
            "state": ticket_state,
            "priority": priority or "",
            "module": module,
            "client_id": client_id or "",
            "sort": sort,
        },
        offset=offset,
        page_size=PAGE_SIZE,
    )


@get("/clients/{client_id:int}", sync_to_thread=True)
def client_page(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    client_id: FromPath[int],
) -> Template:
    """The client card, warnings first."""
    with container.db.read() as s:
        card = client_card(
            s, client_id, utcnow(), planner_settings(container).zone, lang=language(request)
        )
    return page(request, "client_card.html", actor=actor, card=card)


def my_open_work(container: Any, user_id: int | None, lang: str) -> list[Any]:
    """The start page's "my open work": the first few of my open tickets, overdue first."""
    if user_id is None:
        return []
    with container.db.read() as s:
        items, _ = find_tickets(
            s,
            TicketFilter(assigned_to=user_id, open_only=True, overdue_first=True, limit=HOME_ITEMS),
            utcnow(),
            lang=lang,
        )
    return items


PAGES: Final = [ticket_list, client_page]
