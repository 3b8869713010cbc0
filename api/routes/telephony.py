"""Telephony routes: statuses and extensions, PBX events, route and caller look-ups, the call
log's call-back list, and the consultant's Server-Sent Events stream of screen pops."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.exceptions import ValidationException
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter, RawBody
from litestar.response import ServerSentEvent, ServerSentEventMessage

from api.deps import ActorDep, ContainerDep, provide_actor, require
from api.errors import problem
from api.routes.devops import secret_matches
from tickets.core.db import utcnow
from tickets.core.phone_numbers import to_e164
from tickets.domain.errors import Conflict, ValidationFailed
from tickets.telephony import callbacks, feed, routing, statuses
from tickets.telephony.calls import CallEventIn, apply_call_event
from tickets.telephony.lookup import CallerView, caller_view

KEEPALIVE_S = 15.0
POLL_S = 1.0
"""How often a stream looks for events recorded by other replicas."""


class StatusList(msgspec.Struct, forbid_unknown_fields=True):
    items: list[statuses.StatusEntry]


class CallbackList(msgspec.Struct):
    items: list[callbacks.Callback]


class CalledBack(msgspec.Struct):
    settled: int
    """How many unanswered calls from that number left the list."""


class PopBell:
    """Wakes this process's open streams at once when an event is recorded here; streams of
    other replicas find it on their next poll."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def ring(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    def subscribe(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Event]:
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.add(waiter)
        return waiter

    def unsubscribe(self, waiter: tuple[asyncio.AbstractEventLoop, asyncio.Event]) -> None:
        with self._lock:
            self._waiters.discard(waiter)


BELL = PopBell()


def _unauthorized(detail: str) -> Response[Any]:
    response = problem(401, "unauthorized", "Unauthorized", detail)
    response.headers["WWW-Authenticate"] = 'Basic realm="sedno-telephony"'
    return response


def _pbx_or_user(request: Request[Any, Any, Any], container: ContainerDep) -> None:
    """The PBX's shared secret, or else a user's bearer token (401 without either)."""
    if secret_matches(request, container.telephony.secret):
        return
    provide_actor(request)


def _decode_event(request: Request[Any, Any, Any], body: bytes) -> CallEventIn:
    """JSON, or a form post (what Asterisk's `CURL(url,postdata)` sends — without a content
    type once `CURLOPT(httpheader)` has set the secret header)."""
    content_type = request.headers.get("content-type", "")
    is_form = content_type.startswith("application/x-www-form-urlencoded")
    looks_like_form = not body.lstrip().startswith((b"{", b"[")) and b"=" in body
    if is_form or (not content_type.startswith("application/json") and looks_like_form):
        fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        return msgspec.convert(fields, CallEventIn, strict=False)
    return msgspec.json.decode(body, type=CallEventIn)


@post("/api/telephony/events", status_code=200, sync_to_thread=True, security=[{}])
def telephony_event(
    container: ContainerDep, request: Request[Any, Any, Any], body: RawBody
) -> Response[Any]:
    """A call event from the PBX (`X-Sedno-Secret` or basic-auth password), once per
    (call_id, event); a repeat answers 200 with `outcome: duplicate`."""
    settings = container.telephony
    if not settings.secret:
        raise Conflict("telephony is not configured (SEDNO_TELEPHONY_SECRET)", "telephony-disabled")
    if not secret_matches(request, settings.secret):
        return _unauthorized("a valid telephony secret is required")
    try:
        data = _decode_event(request, body)
    except msgspec.ValidationError as exc:
        raise ValidationException(detail=str(exc)) from exc  # 400 naming the field
    except msgspec.DecodeError as exc:
        return problem(
            400, "invalid-body", "Invalid request", f"body: not JSON ({exc})", field="body"
        )
    with container.db.transaction() as s:
        outcome = apply_call_event(s, data, settings, utcnow())
    if outcome.outcome == "applied":
        BELL.ring()
    return Response(outcome, status_code=200)


@get(
    "/api/telephony/route",
    sync_to_thread=True,
    security=[{}, {"bearer": []}],
    opt={"response_media": {"text/plain": {"type": "string"}}},
)
def telephony_route(
    container: ContainerDep,
    request: Request[Any, Any, Any],
    caller: Annotated[str, QueryParameter(max_length=64)],
    format: FromQuery[Literal["json", "text"]] = "json",
) -> Response[Any]:
    """Where to ring a call from `caller`; `format=text` answers the bare extension (for a
    dialplan's `CURL()`)."""
    _pbx_or_user(request, container)
    with container.db.read() as s:
        route = routing.route_call(s, to_e164(caller), container.telephony, utcnow())
    if format == "text":
        return Response(route.extension or "", media_type="text/plain")
    return Response(route)


@get("/api/telephony/lookup", sync_to_thread=True, security=[{}, {"bearer": []}])
def telephony_lookup(
    container: ContainerDep,
    request: Request[Any, Any, Any],
    number: Annotated[str, QueryParameter(min_length=1, max_length=64)],
) -> CallerView:
    """The contact, client, partner and warnings of a number written in any format."""
    _pbx_or_user(request, container)
    e164 = to_e164(number)
    if e164 is None:
        raise ValidationFailed("number", f"{number!r} is not a phone number")
    with container.db.read() as s:
        return caller_view(s, e164, number)


class TelephonyController(Controller):
    path = "/api"
    tags = ["telephony"]  # noqa: RUF012

    @get("/telephony/statuses", sync_to_thread=True)
    def list_statuses(self, container: ContainerDep, actor: ActorDep) -> StatusList:
        """The status dictionary (code → Polish and English label, routable = free)."""
        with container.db.read() as s:
            return StatusList(statuses.status_entries(s))

    @put("/telephony/statuses", sync_to_thread=True)
    def put_statuses(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[StatusList]
    ) -> StatusList:
        """Add or relabel statuses (admin); the four built-in ones keep their meaning."""
        require(actor, "admin")
        with container.db.transaction() as s:
            return StatusList(statuses.put_statuses(s, data.items))

    @get("/me/status", sync_to_thread=True)
    def my_status(self, container: ContainerDep, actor: ActorDep) -> statuses.UserTelephony:
        with container.db.read() as s:
            return statuses.current_line(s, _user_id(actor), utcnow())

    @put("/me/status", sync_to_thread=True)
    def put_my_status(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[statuses.StatusChange]
    ) -> statuses.UserTelephony:
        """Set one's own status (available, on_call, break, away or one the desk added)."""
        user_id = _user_id(actor)
        with container.db.transaction() as s:
            row = statuses.set_status(s, user_id, data.status, utcnow())
            return statuses.user_telephony(s, row)

    @put("/users/{user_id:int}/telephony", sync_to_thread=True)
    def put_user_telephony(
        self,
        container: ContainerDep,
        actor: ActorDep,
        user_id: FromPath[int],
        data: JSONBody[statuses.TelephonyPatch],
    ) -> statuses.UserTelephony:
        """A user's extension (SIP number) and module competences; admin, or the user."""
        if actor.user_id != user_id:
            require(actor, "admin")
        with container.db.transaction() as s:
            return statuses.user_telephony(s, statuses.set_telephony(s, user_id, data))

    @get("/telephony/callbacks", sync_to_thread=True)
    def list_callbacks(self, container: ContainerDep, actor: ActorDep) -> CallbackList:
        """ "Oddzwoń": unanswered calls from known callers, one line per number."""
        with container.db.read() as s:
            return CallbackList(callbacks.list_callbacks(s))

    @post("/telephony/callbacks/{call_id:int}/done", status_code=200, sync_to_thread=True)
    def called_back(
        self, container: ContainerDep, actor: ActorDep, call_id: FromPath[int]
    ) -> CalledBack:
        with container.db.transaction() as s:
            return CalledBack(callbacks.mark_called_back(s, call_id, actor.user_id, utcnow()))

    # The console's own stream (an EventSource with the session cookie), not an API for
    # other clients: kept out of the OpenAPI document.
    @get("/telephony/stream", include_in_schema=False)
    async def stream(
        self, container: ContainerDep, actor: ActorDep, request: Request[Any, Any, Any]
    ) -> ServerSentEvent:
        """The caller's screen pops as Server-Sent Events (`ringing`, `answered`, `ended`);
        `Last-Event-ID` replays what a reconnecting browser missed."""
        user_id = _user_id(actor)
        last_id = request.headers.get("last-event-id", "")
        return ServerSentEvent(_pops(container, user_id, last_id), retry_duration=2000)


def _user_id(actor: Any) -> int:
    if actor.user_id is None:
        raise ValidationFailed("user", "only a user has a telephone status")
    return int(actor.user_id)


async def _pops(
    container: Any, user_id: int, last_id: str
) -> AsyncIterator[ServerSentEventMessage]:
    now = utcnow()
    since = now
    if last_id.isdigit():
        with container.db.read() as s:
            seen_at = feed.last_event_time(s, int(last_id))
        if seen_at is not None:
            since = max(seen_at, now - feed.REPLAY_WINDOW)
    sent: dict[int, dt.datetime] = {}
    if last_id.isdigit():
        sent[int(last_id)] = since
    waiter = BELL.subscribe()
    quiet_since = asyncio.get_running_loop().time()
    try:
        yield ServerSentEventMessage(comment="connected")
        while True:
            waiter[1].clear()
            window = max(since, utcnow() - feed.REPLAY_WINDOW / 4)

            def read(window: dt.datetime = window) -> list[feed.PopMessage]:
                with container.db.read() as s:
                    return feed.pending_messages(s, user_id, window, set(sent))

            for message in await anyio.to_thread.run_sync(read):
                sent[message.id] = message.at
                yield ServerSentEventMessage(
                    data=msgspec.json.encode(message).decode(), event=message.event, id=message.id
                )
                quiet_since = asyncio.get_running_loop().time()
            if len(sent) > 500:  # older ones are outside the window anyway
                for event_id in sorted(sent)[:250]:
                    del sent[event_id]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter[1].wait(), timeout=POLL_S)
            if asyncio.get_running_loop().time() - quiet_since > KEEPALIVE_S:
                quiet_since = asyncio.get_running_loop().time()
                yield ServerSentEventMessage(comment="keep-alive")
    finally:
        BELL.unsubscribe(waiter)


ROUTES: list[Any] = [telephony_event, telephony_route, telephony_lookup, TelephonyController]
