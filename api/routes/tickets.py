"""Ticket routes: create, read, edit, move, phone events, stopwatch, reuse, attachments."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, patch, post
from litestar.datastructures import UploadFile
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import (
    FromPath,
    FromQuery,
    JSONBody,
    MultipartBody,
    Parameter,
    QueryParameter,
)
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED

from api.container import Container
from api.deps import ActorDep, ContainerDep, changed_ticket, require
from intake.channels import take_phone_call
from tickets.console import replies
from tickets.console.worklist import Sort, TicketFilter, find_tickets
from tickets.core import services
from tickets.core.orm import AttachmentRow
from tickets.core.schemas import (
    Actor,
    CloseEventRequest,
    ManualTimeEntry,
    PhoneEventCreate,
    Priority,
    ReuseRequest,
    TicketCreate,
    TicketPatch,
    TicketSummary,
    TicketView,
    TimeEntryView,
    TransitionRequest,
)
from tickets.core.views import ticket_view
from tickets.domain.errors import NotFound, ValidationFailed

Limit = Annotated[int, Parameter(ge=1, le=500)]
Offset = Annotated[int, Parameter(ge=0)]


class TicketList(msgspec.Struct):
    items: list[TicketSummary]
    total: int
    limit: int
    offset: int


class CloseEventResult(msgspec.Struct):
    event: TicketView
    task: TicketView | None


class TimerResult(msgspec.Struct):
    entry: TimeEntryView
    total_s: int


def _second_line(actor: Actor, value: str | None) -> int | None:
    """`second_line=me` is the caller; a token without a user has no tickets of its own."""
    if value is None:
        return None
    if value == "me":
        return actor.user_id if actor.user_id is not None else -1
    return int(value)


def _entry(e: Any) -> TimeEntryView:
    return TimeEntryView(
        e.id, e.user_id, e.started_at, e.stopped_at, e.seconds, e.manual, e.note, e.billable
    )


class TicketController(Controller):
    path = "/api/tickets"
    tags = ["tickets"]  # noqa: RUF012

    @post("/", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def create(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[TicketCreate]
    ) -> TicketView:
        """Open a ticket; a ZT event starts the caller's stopwatch."""
        with container.db.transaction() as s:
            if data.definition.upper() == "ZT":
                event = PhoneEventCreate(
                    title=data.title,
                    description=data.description,
                    licence=data.licence,
                    client_id=data.client_id,
                    contact_id=data.contact_id,
                    contact_email=data.contact_email,
                    contact_name=data.contact_name,
                    contact_phone=data.contact_phone,
                    product=data.product,
                    version=data.version,
                    module=data.module,
                    area=data.area,
                    interface=data.interface,
                    type=data.type,
                    priority=data.priority,
                    notes=data.notes,
                    keywords=data.keywords,
                    kb_links=data.kb_links,
                )
                row = take_phone_call(s, actor, event)
            else:
                row = services.create_ticket(s, actor, data)
            return ticket_view(s, row.id)

    @get("/", sync_to_thread=True)
    def index(
        self,
        container: ContainerDep,
        actor: ActorDep,
        number: FromQuery[str | None] = None,
        ticket_state: Annotated[str | None, QueryParameter(name="state")] = None,
        definition: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
        client_id: FromQuery[int | None] = None,
        priority: FromQuery[Priority | None] = None,
        module: FromQuery[str | None] = None,
        mine: Annotated[
            bool,
            QueryParameter(description="Only tickets where I am lead consultant or second line."),
        ] = False,
        open_only: Annotated[
            bool, QueryParameter(name="open", description="Only tickets not in a final state.")
        ] = False,
        sort: Annotated[
            Sort, QueryParameter(description="newest (default), oldest, priority, updated")
        ] = "newest",
        overdue_first: Annotated[
            bool, QueryParameter(description="Open tickets past their priority's target first.")
        ] = False,
        second_line: Annotated[
            str | None,
            QueryParameter(
                description="`me` (the caller) or a user id: tickets where that user is the "
                "second line",
                pattern=r"^(me|[0-9]{1,9})$",
            ),
        ] = None,
        project_id: FromQuery[int | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> TicketList:
        wanted = TicketFilter(
            number=number,
            state=ticket_state,
            definition=definition,
            q=q,
            client_id=client_id,
            priority=priority,
            module=module,
            assigned_to=actor.user_id if mine else None,
            open_only=open_only,
            sort=sort,
            overdue_first=overdue_first,
            second_line=_second_line(actor, second_line),
            project_id=project_id,
            limit=limit,
            offset=offset,
        )
        if mine and actor.user_id is None:
            return TicketList(items=[], total=0, limit=limit, offset=offset)
        with container.db.read() as s:
            items, total = find_tickets(s, wanted, services.utcnow())
        return TicketList(items=items, total=total, limit=limit, offset=offset)

    @get("/{ticket_id:int}", sync_to_thread=True)
    def show(
        self, container: ContainerDep, actor: ActorDep, ticket_id: FromPath[int]
    ) -> TicketView:
        with container.db.read() as s:
            return ticket_view(s, ticket_id)

    @patch("/{ticket_id:int}", sync_to_thread=True)
    def edit(
        self,
        container: ContainerDep,
        actor: ActorDep,
        ticket_id: FromPath[int],
        data: JSONBody[TicketPatch],
    ) -> TicketView:
        if data.verified is not msgspec.UNSET:
            require(actor, "curator")
        return changed_ticket(
            container,
            ticket_id,
            lambda s: services.update_ticket(s, actor, ticket_id, data),
        )

    @post("/{ticket_id:int}/transition", status_code=200, sync_to_thread=True)
    def move(
        self,
        container: ContainerDep,
        actor: ActorDep,
        ticket_id: FromPath[int],
        data: JSONBody[TransitionRequest],
    ) -> TicketView:
        with container.db.transaction() as s:
            services.transition_ticket(
                s,
                actor,
                ticket_id,
                data.to,
                resolution=data.resolution,
                solution=data.solution,
                note=data.note,
                force=data.force,
            )
            return ticket_view(s, ticket_id)

    @post("/{ticket_id:int}/close-event", status_code=200, sync_to_thread=True)
    def close_event(
        self,
        container: ContainerDep,
        actor: ActorDep,
        ticket_id: FromPath[int],
        data: JSONBody[CloseEventRequest],
    ) -> CloseEventResult:
        with container.db.transaction() as s:
            event, task = services.close_event(s, actor, ticket_id, data)
            return CloseEventResult(
                event=ticket_view(s, event.id), task=ticket_view(s, task.id) if task else None
            )

    @post("/{ticket_id:int}/timer/start", status_code=200, sync_to_thread=True)
    def timer_start(
        self, container: ContainerDep, actor: ActorDep, ticket_id: FromPath[int]
    ) -> TimerResult:
        with container.db.transaction() as s:
            entry = services.start_timer(s, actor, ticket_id)
            return TimerResult(_entry(entry), services.time_total_s(s, ticket_id))

    @post("/{ticket_id:int}/timer/stop", status_code=200, sync_to_thread=True)
    def timer_stop(
        self, container: ContainerDep, actor: ActorDep, ticket_id: FromPath[int]
    ) -> TimerResult:
        with container.db.transaction() as s:
            entry = services.stop_timer(s, actor, ticket_id)
            return TimerResult(_entry(entry), services.time_total_s(s, ticket_id))

    @post("/{ticket_id:int}/time", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def add_time(
        self,
        container: ContainerDep,
        actor: ActorDep,
        ticket_id: FromPath[int],
        data: JSONBody[ManualTimeEntry],
    ) -> TimerResult:
        with container.db.transaction() as s:
            entry = services.add_time(
                s, actor, ticket_id, data.minutes, data.started_at, data.note, data.billable
            )
            return TimerResult(_entry(entry), services.time_total_s(s, ticket_id))

    @post("/{ticket_id:int}/reuse", status_code=200, sync_to_thread=True)
    def reuse(
        self,
        container: ContainerDep,
        actor: ActorDep,
        ticket_id: FromPath[int],
        data: JSONBody[ReuseRequest],
    ) -> TicketView:
        return changed_ticket(
            container,
            ticket_id,
            lambda s: services.record_reuse(s, actor, ticket_id, data.source_ticket_id),
        )

    @post("/{ticket_id:int}/attachments", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def upload(
        self,
        container: ContainerDep,
        actor: ActorDep,
        ticket_id: FromPath[int],
        data: MultipartBody[UploadFile],
    ) -> TicketView:
        limit = container.settings.attachment_max_bytes
        content = read_upload(data, limit)
        with container.db.transaction() as s:
            replies.attach_file(
                s,
                container.blobs,
                actor,
                ticket_id,
                filename=data.filename or "attachment",
                data=content,
                declared_type=data.content_type or "",
                max_bytes=limit,
            )
            return ticket_view(s, ticket_id)

    @post("/{ticket_id:int}/reply", status_code=HTTP_202_ACCEPTED, sync_to_thread=True)
    def reply(
        self,
        container: ContainerDep,
        actor: ActorDep,
        ticket_id: FromPath[int],
        data: JSONBody[replies.ReplyRequest],
    ) -> TicketView:
        """Answer the customer by mail (queued in the outbox); do-not-contact → 409."""
        with container.db.transaction() as s:
            outcome = replies.reply_to_customer(s, mail_sender(container), actor, ticket_id, data)
            view = ticket_view(s, ticket_id)
        if isinstance(outcome, replies.Refused):
            raise replies.ReplyBlocked(outcome.address, outcome.reason)
        return view

    @post("/{ticket_id:int}/notes", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def note(
        self,
        container: ContainerDep,
        actor: ActorDep,
        ticket_id: FromPath[int],
        data: JSONBody[replies.NoteRequest],
    ) -> TicketView:
        """An internal note on the timeline: never mailed."""
        return changed_ticket(
            container,
            ticket_id,
            lambda s: replies.add_internal_note(s, actor, ticket_id, data.text),
        )


def read_upload(upload: UploadFile, limit: int) -> bytes:
    """The uploaded bytes, or 422 naming `file` when over the limit (without reading it all)."""
    content = upload.file.read(limit + 1)
    if len(content) > limit:
        upload.file.seek(0, 2)  # the whole upload's size, not the bytes read to notice it
        raise ValidationFailed("file", f"{upload.file.tell()} bytes is over the limit of {limit}")
    return content


def mail_sender(container: Container) -> replies.MailSender:
    settings = container.settings
    return replies.MailSender(settings.mail_from, settings.mail_domain, settings.secret_key)


@get(
    "/api/attachments/{attachment_id:int}",
    sync_to_thread=True,
    tags=["tickets"],
    responses={
        200: ResponseSpec(
            data_container=bytes, media_type="*/*", description="The file, as a download"
        )
    },
)
def download_attachment(
    container: ContainerDep, actor: ActorDep, attachment_id: FromPath[int]
) -> Response[bytes]:
    """The file as a download, never rendered inline, never sniffed by the browser."""
    with container.db.read() as s:
        row = s.get(AttachmentRow, attachment_id)
        if row is None:
            raise NotFound("attachment", attachment_id)
        filename, ctype, digest = row.filename, row.content_type, row.sha256
    data = container.blobs.get(digest)
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_")
    from urllib.parse import quote

    return Response(
        data,
        media_type=ctype if ctype != "text/html" else "text/plain",
        headers={
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@post("/api/phone-events", status_code=HTTP_201_CREATED, sync_to_thread=True, tags=["tickets"])
def register_phone_event(
    container: ContainerDep, actor: ActorDep, data: JSONBody[PhoneEventCreate]
) -> TicketView:
    """A consultant takes a call: a ZT event with the stopwatch running."""
    with container.db.transaction() as s:
        row = take_phone_call(s, actor, data)
        return ticket_view(s, row.id)
