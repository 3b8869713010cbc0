"""Telephony in the console: the status switch in the top bar, the screen pop of a ringing
call (its HTML; the browser learns of the call over Server-Sent Events) and "Oddzwoń"."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from msgspec import Meta

from api.deps import ActorDep, ContainerDep
from tickets.core.db import utcnow
from tickets.domain.errors import NotFound, ValidationFailed
from tickets.telephony import callbacks, feed, statuses
from tickets.telephony.lookup import caller_view
from tickets.telephony.orm import CallRow
from ui.web import language, page, safe_next


class StatusForm(msgspec.Struct, kw_only=True):
    status: Annotated[str, Meta(min_length=1, max_length=32)]
    next: Annotated[str, Meta(max_length=2000)] = "/"


def _user_id(actor: Any) -> int:
    if actor.user_id is None:
        raise ValidationFailed("user", "only a user has a telephone status")
    return int(actor.user_id)


@get("/fragments/telephony/status", sync_to_thread=True)
def status_fragment(
    request: Request[Any, Any, Any], container: ContainerDep, actor: ActorDep
) -> Template:
    """The top bar's status switch: the caller's status and the dictionary to choose from."""
    with container.db.read() as s:
        me = statuses.current_line(s, _user_id(actor), utcnow(), language(request))
        options = statuses.status_entries(s, active_only=True)
    return page(request, "_tel_status.html", actor=actor, me=me, options=options)


@post("/telephony/status", sync_to_thread=True, status_code=303)
def status_submit(
    container: ContainerDep, actor: ActorDep, data: URLEncodedBody[StatusForm]
) -> Response[Any]:
    with container.db.transaction() as s:
        statuses.set_status(s, _user_id(actor), data.status, utcnow())
    return Redirect(safe_next(data.next), status_code=303)


@get("/fragments/telephony/pop/{call_row_id:int}", sync_to_thread=True)
def pop_fragment(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    call_row_id: FromPath[int],
) -> Template:
    """Who is calling: warnings first, the contact and client, recent tickets, the ZT event."""
    with container.db.read() as s:
        call = s.get(CallRow, call_row_id)
        if call is None:
            raise NotFound("call", call_row_id)
        view = feed.call_view(s, call)
        caller = caller_view(s, call.number_e164, call.number)
    return page(request, "_tel_pop.html", actor=actor, call=view, caller=caller)


@get("/telephony/callbacks", sync_to_thread=True)
def callbacks_page(
    request: Request[Any, Any, Any], container: ContainerDep, actor: ActorDep
) -> Template:
    with container.db.read() as s:
        items = callbacks.list_callbacks(s)
    return page(request, "callbacks.html", actor=actor, items=items)


@post("/telephony/callbacks/{call_row_id:int}/done", sync_to_thread=True, status_code=303)
def callback_done(
    container: ContainerDep, actor: ActorDep, call_row_id: FromPath[int]
) -> Response[Any]:
    with container.db.transaction() as s:
        callbacks.mark_called_back(s, call_row_id, actor.user_id, utcnow())
    return Redirect("/telephony/callbacks", status_code=303)


PAGES: list[Any] = [status_fragment, status_submit, pop_fragment, callbacks_page, callback_done]
