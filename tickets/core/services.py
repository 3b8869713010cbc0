"""Use cases of the ticket core. Services flush; the caller (request, job) commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tickets.core import definitions as defs
from tickets.core import hooks, sequence
from tickets.core.db import desk_zone
from tickets.core.knowledge import knowledge_ids
from tickets.core.orm import (
    ClientRow,
    ContactRow,
    LicenceRow,
    PartnerRow,
    ReuseRow,
    TicketHistoryRow,
    TicketMessageRow,
    TicketRow,
    TimeEntryRow,
    UserRow,
)
from tickets.core.outbox import enqueue
from tickets.core.schemas import (
    Actor,
    CloseEventRequest,
    PhoneEventCreate,
    TicketCreate,
    TicketPatch,
)
from tickets.domain.definitions import Definition, StateChanged, transition
from tickets.domain.errors import Conflict, NotFound, ValidationFailed
from tickets.domain.numbering import numbering_year, parse_number

INDEX_JOB = "search.index"
NOTIFY_JOB = "mail.notify_state"
DEVOPS_EXPORT_JOB = "devops.export"
DEVOPS_ACTOR = Actor(None, "Azure DevOps")
"""The actor of moves that Azure DevOps itself caused; those are never exported back."""
DICTIONARY_FIELDS = ("product", "type", "priority", "submission_mode")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def record(
    session: Session,
    ticket: TicketRow,
    actor: Actor,
    action: str,
    *,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
    note: str = "",
) -> None:
    """Append to a ticket's change history."""
    session.add(
        TicketHistoryRow(
            ticket_id=ticket.id,
            user_id=actor.user_id,
            actor=actor.label if actor.user_id is None else actor.name,
            action=action,
            field=field,
            old_value=_jsonable(old),
            new_value=_jsonable(new),
            note=note,
        )
    )


def add_staff_message(
    session: Session, ticket: TicketRow, actor: Actor, subject: str, body: str, reason: str
) -> None:
    """A message of the desk's own on the ticket (a consultation, an answer to an assignment):
    written by `actor`, kept with the ticket's messages, never mailed; `reason` says why."""
    session.add(
        TicketMessageRow(
            ticket_id=ticket.id,
            direction="note",
            sender=actor.name,
            subject=subject,
            body_text=body,
            user_id=actor.user_id,
            attach_reason=reason,
        )
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def request_reindex(session: Session, ticket_id: int) -> None:
    """Ask the worker to bring the search index in line with this ticket."""
    enqueue(session, INDEX_JOB, {"ticket_id": ticket_id})


def get_ticket(session: Session, ticket_id: int, *, for_update: bool = False) -> TicketRow:
    row = session.get(TicketRow, ticket_id, with_for_update=for_update or None)
    if row is None:
        raise NotFound("ticket", ticket_id)
    return row


def get_ticket_by_number(session: Session, number: str) -> TicketRow:
    row = session.scalar(select(TicketRow).where(TicketRow.number == number.strip().upper()))
    if row is None:
        raise NotFound("ticket", number)
    return row


def _check_dictionaries(session: Session, values: dict[str, Any]) -> None:
    for field in DICTIONARY_FIELDS:
        value = values.get(field)
        if value:
            allowed = defs.dictionary_values(session, field)
            if allowed and value not in allowed:
                raise ValidationFailed(
                    field, f"{value!r} is not one of {', '.join(sorted(allowed))}"
                )


def _check_capability_fields(session: Session, values: dict[str, Any]) -> None:
    for check in hooks.current().field_checks:
        check(session, values)


def _check_references(session: Session, values: dict[str, Any]) -> None:
    refs: dict[str, type[Any]] = {
        "client_id": ClientRow,
        "partner_id": PartnerRow,
        "contact_id": ContactRow,
        "lead_consultant_id": UserRow,
        "parent_id": TicketRow,
        **hooks.current().references,
    }
    for field, model in refs.items():
        value = values.get(field)
        if value is not None and session.get(model, value) is None:
            raise ValidationFailed(field, f"no such record: {value}")
    for url in values.get("kb_links") or ():
        if not (url.startswith("http://") or url.startswith("https://") or url.startswith("kb:")):
            raise ValidationFailed("kb_links", f"not a link: {url!r}")


def _fill_from_licence(session: Session, values: dict[str, Any]) -> None:
    """A licence number names the client, the partner and usually the product."""
    licence_no = values.get("licence")
    if not licence_no:
        return
    licence = session.get(LicenceRow, licence_no.strip())
    if licence is None:
        raise ValidationFailed("licence", f"unknown licence number {licence_no!r}")
    values["licence"] = licence.number
    if values.get("client_id") is None:
        values["client_id"] = licence.client_id
    if values.get("partner_id") is None:
        values["partner_id"] = licence.partner_id or licence.client.partner_id
    if not values.get("product"):
        values["product"] = licence.product


def _fill_partner_from_client(session: Session, values: dict[str, Any]) -> None:
    """A ticket that names a client and no partner gets the client's partner."""
    if values.get("client_id") is None or values.get("partner_id") is not None:
        return
    client = session.get(ClientRow, values["client_id"])
    if client is not None:
        values["partner_id"] = client.partner_id


def _check_task_fields(
    session: Session, values: dict[str, Any], ticket_type: str, kind: str
) -> None:
    for check in hooks.current().task_field_checks:
        check(session, values, ticket_type, kind)


def _categorised(session: Session, ticket: TicketRow) -> None:
    for hook in hooks.current().categorised:
        hook(session, ticket)


def _normalise_words(words: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for w in words:
        w = " ".join(w.split())
        if w and w.lower() not in {k.lower() for k in seen}:
            seen[w] = None
    return list(seen)


def create_ticket(
    session: Session,
    actor: Actor,
    data: TicketCreate,
    *,
    state: str | None = None,
    number: str | None = None,
    external_id: str | None = None,
    completed_at: dt.datetime | None = None,
    resolution: str | None = None,
    now: dt.datetime | None = None,
    allowed_keywords: Sequence[str] = (),
) -> TicketRow:
    """Open a ticket with the next number of its definition; `number` keeps an imported one.
    Keywords must come from the keyword dictionary, but for `allowed_keywords` (words carried
    over from another ticket); an import keeps its own.

    The number's year is the desk's calendar year (`SEDNO_TIMEZONE`) at `now` (default: the
    clock), or at `reported_at` for an import."""
    definition = defs.get_definition(session, data.definition)
    values: dict[str, Any] = {f: getattr(data, f) for f in data.__struct_fields__}
    values.pop("definition")
    _fill_from_licence(session, values)
    _check_dictionaries(session, values)
    if external_id is None:  # history keeps the modules and keywords it was written with
        _check_capability_fields(session, values)
        values["keywords"] = hooks.current().keywords(session, values["keywords"], allowed_keywords)
    _check_references(session, values)
    _fill_partner_from_client(session, values)
    values["category"] = values["category"].strip()
    _check_task_fields(session, values, values["type"], definition.kind)
    values["keywords"] = _normalise_words(values["keywords"])
    values["kb_links"] = _normalise_words(values["kb_links"])
    reported_at = values.pop("reported_at") or now or utcnow()
    state = state or definition.initial_state
    if state not in definition.state_codes():
        raise ValidationFailed("state", f"{state!r} is not a state of {definition.code}")
    if number:
        parsed = parse_number(number)
        if parsed is None or parsed.code != definition.code:
            raise ValidationFailed("number", f"{number!r} is not a {definition.code} number")
        year, seq = parsed.year, parsed.n
        sequence.reserve_number(session, definition.code, year, seq)
        number = str(parsed)
    else:
        year = numbering_year(reported_at if external_id else now or utcnow(), desk_zone(session))
        seq = sequence.next_number(session, definition.code, year)
        number = definition.format_number(year, seq)
    if state == "completed" and definition.kind == "task":
        resolution = resolution or "resolved"
    ticket = TicketRow(
        number=number,
        definition_code=definition.code,
        year=year,
        seq=seq,
        state=state,
        resolution=resolution if state == "completed" else None,
        reported_at=reported_at,
        completed_at=(completed_at or utcnow()) if state == "completed" else None,
        external_id=external_id,
        created_by_id=actor.user_id,
        lead_consultant_id=values.pop("lead_consultant_id") or actor.user_id,
        verified=bool(values["kb_links"]),
        **values,
    )
    session.add(ticket)
    session.flush()
    record(session, ticket, actor, "created", new=number)
    if ticket.category:
        _categorised(session, ticket)
    if state == "completed":
        request_reindex(session, ticket.id)
    return ticket


def update_ticket(
    session: Session,
    actor: Actor,
    ticket_id: int,
    patch: TicketPatch,
    *,
    allowed_keywords: Sequence[str] = (),
) -> TicketRow:
    """Change fields, recording each change with its old value. New keywords must come from
    the keyword dictionary, but for those the ticket carries and `allowed_keywords`."""
    ticket = get_ticket(session, ticket_id, for_update=True)
    changes = patch.present()
    if "keywords" in changes:
        allowed = [*(ticket.keywords or []), *allowed_keywords]
        entered = hooks.current().keywords(session, changes["keywords"] or [], allowed)  # type: ignore[arg-type]
        changes["keywords"] = _normalise_words(entered)
    if "kb_links" in changes:
        changes["kb_links"] = _normalise_words(changes["kb_links"])  # type: ignore[arg-type]
    if changes.get("licence"):
        merged: dict[str, Any] = {
            "licence": changes["licence"],
            "client_id": changes.get("client_id"),
            "partner_id": changes.get("partner_id"),
            "product": changes.get("product") or ticket.product,
        }
        _fill_from_licence(session, merged)
        changes.update({k: v for k, v in merged.items() if k not in changes or changes[k] is None})
    _check_dictionaries(session, changes)
    _check_capability_fields(session, changes)
    _check_references(session, changes)
    if "client_id" in changes and "partner_id" not in changes and changes["client_id"] is not None:
        _fill_partner_from_client(session, changes)
    if isinstance(changes.get("category"), str):
        changes["category"] = str(changes["category"]).strip()
    definition = defs.get_definition(session, ticket.definition_code)
    merged = {
        f: changes.get(f, getattr(ticket, f)) for f in ("due_from", "due_to", "category", "type")
    }
    if "category" not in changes and "type" not in changes:
        merged["category"] = ""  # an unchanged category is not checked again
    _check_task_fields(session, merged, str(merged["type"]), definition.kind)
    changed = False
    for field, new in changes.items():
        old = getattr(ticket, field)
        if old == new:
            continue
        setattr(ticket, field, new)
        record(session, ticket, actor, "field", field=field, old=old, new=new)
        changed = True
    if changed:
        if "kb_links" in changes and ticket.kb_links and not ticket.verified:
            ticket.verified = True
        ticket.updated_at = utcnow()
        session.flush()
        if ticket.state == "completed":
            request_reindex(session, ticket.id)
        if "category" in changes and ticket.category:
            _categorised(session, ticket)
    return ticket


def apply_transition(
    session: Session,
    actor: Actor,
    ticket: TicketRow,
    definition: Definition,
    target: str,
    *,
    resolution: str | None = None,
    solution: str | None = None,
    note: str | None = None,
) -> StateChanged:
    """Move a ticket along its definition's state machine, with history and side effects."""
    event = transition(definition, ticket.state, target, resolution=resolution)
    if solution is not None and solution != ticket.solution:
        record(session, ticket, actor, "field", field="solution", old=ticket.solution, new=solution)
        ticket.solution = solution
    was_indexed = ticket.state == "completed"
    ticket.state = event.new
    ticket.resolution = event.resolution
    ticket.completed_at = event.at if event.completed else None
    ticket.updated_at = event.at
    record(
        session,
        ticket,
        actor,
        "transition",
        field="state",
        old=event.old,
        new=event.new,
        note=note or "",
    )
    session.flush()
    if was_indexed or event.completed:
        request_reindex(session, ticket.id)
    if ticket.devops_work_item_id is not None and actor != DEVOPS_ACTOR:
        payload = {"ticket_id": ticket.id, "old": event.old, "new": event.new, "note": note or ""}
        enqueue(session, DEVOPS_EXPORT_JOB, payload)
    return event


def transition_ticket(
    session: Session,
    actor: Actor,
    ticket_id: int,
    target: str,
    *,
    resolution: str | None = None,
    solution: str | None = None,
    note: str | None = None,
    force: bool = False,
) -> TicketRow:
    """A user's move: a task is completed only with its required checklist done and its
    children closed (`force` with a note overrides the children, recorded in history)."""
    ticket = get_ticket(session, ticket_id, for_update=True)
    definition = defs.get_definition(session, ticket.definition_code)
    for check in hooks.current().completion_checks:
        check(session, actor, ticket, definition, target, force=force, note=note)
    apply_transition(
        session,
        actor,
        ticket,
        definition,
        target,
        resolution=resolution,
        solution=solution,
        note=note,
    )
    if target in definition.final_states:
        stop_all_timers(session, ticket.id)
    return ticket


# Phone events -------------------------------------------------------------------------------


def _contact_for_event(
    session: Session, data: PhoneEventCreate, client_id: int | None
) -> int | None:
    if data.contact_id is not None:
        if session.get(ContactRow, data.contact_id) is None:
            raise ValidationFailed("contact_id", f"no such record: {data.contact_id}")
        return data.contact_id
    if not (data.contact_name or data.contact_email or data.contact_phone):
        return None
    if data.contact_email:
        existing = session.scalar(
            select(ContactRow).where(func.lower(ContactRow.email) == data.contact_email.lower())
        )
        if existing is not None:
            return existing.id
    contact = ContactRow(
        name=data.contact_name or data.contact_email or data.contact_phone or "",
        email=data.contact_email,
        phone=data.contact_phone,
        client_id=client_id,
    )
    session.add(contact)
    session.flush()
    return contact.id


def register_phone_event(session: Session, actor: Actor, data: PhoneEventCreate) -> TicketRow:
    """A consultant takes a call: a ZT event in progress, with the stopwatch running."""
    values: dict[str, Any] = {
        "licence": data.licence,
        "client_id": data.client_id,
        "partner_id": None,
        "product": data.product,
    }
    _fill_from_licence(session, values)
    contact_id = _contact_for_event(session, data, values["client_id"])
    ticket = create_ticket(
        session,
        actor,
        TicketCreate(
            definition="ZT",
            title=data.title,
            description=data.description,
            client_id=values["client_id"],
            partner_id=values["partner_id"],
            licence=values["licence"],
            contact_id=contact_id,
            contact_email=data.contact_email,
            contact_name=data.contact_name,
            contact_phone=data.contact_phone,
            product=values["product"] or "",
            version=data.version,
            module=data.module,
            area=data.area,
            interface=data.interface,
            type=data.type,
            priority=data.priority,
            submission_mode="phone",
            notes=data.notes,
            keywords=data.keywords,
            kb_links=data.kb_links,
        ),
    )
    if actor.user_id is not None:
        start_timer(session, actor, ticket.id, at=_call_start(data.call_started_at))
    return ticket


CALL_START_MAX_AGE = dt.timedelta(hours=12)


def _call_start(started_at: dt.datetime | None) -> dt.datetime | None:
    """When the call began, as the form says, if that is believable (else None: now)."""
    if started_at is None:
        return None
    at = started_at if started_at.tzinfo else started_at.replace(tzinfo=dt.UTC)
    now = utcnow()
    if at > now or now - at > CALL_START_MAX_AGE:
        return None
    return at


def close_event(
    session: Session, actor: Actor, event_id: int, request: CloseEventRequest
) -> tuple[TicketRow, TicketRow | None]:
    """Close a phone event as completed, or by turning it into a task that links back.

    Closed on the call with a solution, the event is `resolved` knowledge. Turned into a task,
    it answered nothing: what the consultant wrote is the hand-over note (on the event's
    history and in the task's notes), not a solution, and the task becomes knowledge when it
    is solved (`tickets.core.knowledge`).
    """
    event = get_ticket(session, event_id, for_update=True)
    definition = defs.get_definition(session, event.definition_code)
    if definition.kind != "event":
        raise ValidationFailed("id", f"{event.number} is not a phone event")
    task: TicketRow | None = None
    handover = (request.solution or "").strip() if request.create_task else ""
    if request.create_task:
        task_definition = defs.get_definition(session, request.definition)
        if task_definition.kind != "task":
            raise ValidationFailed("definition", f"{task_definition.code} is not a task definition")
        task = create_ticket(
            session,
            actor,
            TicketCreate(
                definition=task_definition.code,
                title=event.title,
                description=event.description,
                client_id=event.client_id,
                partner_id=event.partner_id,
                contact_id=event.contact_id,
                contact_email=event.contact_email,
                contact_name=event.contact_name,
                contact_phone=event.contact_phone,
                licence=event.licence,
                lead_consultant_id=actor.user_id or event.lead_consultant_id,
                product=event.product,
                version=event.version,
                module=event.module,
                area=event.area,
                interface=event.interface,
                type=event.type,
                submission_mode=event.submission_mode or "phone",
                priority=request.priority or event.priority,  # type: ignore[arg-type]
                notes="\n\n".join(n for n in (event.notes, handover) if n),
                keywords=list(event.keywords),
                kb_links=list(event.kb_links),
                parent_id=event.id,
            ),
            allowed_keywords=event.keywords or [],
        )
        record(session, task, actor, "created_from_event", new=event.number)
    if task is not None:
        note = "\n".join(
            n for n in (request.note or f"Utworzono zadanie {task.number}", handover) if n
        )
        apply_transition(session, actor, event, definition, "completed", note=note)
    else:
        solved = bool((request.solution or "").strip())
        apply_transition(
            session,
            actor,
            event,
            definition,
            "completed",
            resolution="resolved" if solved else None,
            solution=request.solution,
            note=request.note,
        )
    stop_all_timers(session, event.id)
    return event, task


# Stopwatch ----------------------------------------------------------------------------------


def running_timer(session: Session, user_id: int, ticket_id: int) -> TimeEntryRow | None:
    return session.scalar(
        select(TimeEntryRow).where(
            TimeEntryRow.user_id == user_id,
            TimeEntryRow.ticket_id == ticket_id,
            TimeEntryRow.stopped_at.is_(None),
        )
    )


def start_timer(
    session: Session, actor: Actor, ticket_id: int, *, at: dt.datetime | None = None
) -> TimeEntryRow:
    """The caller's stopwatch on the ticket, started now or at `at` (a call's pick-up)."""
    if actor.user_id is None:
        raise ValidationFailed("user", "only a user has a stopwatch")
    get_ticket(session, ticket_id)
    entry = running_timer(session, actor.user_id, ticket_id)
    if entry is None:
        entry = TimeEntryRow(ticket_id=ticket_id, user_id=actor.user_id, started_at=at or utcnow())
        session.add(entry)
        session.flush()
    return entry


def _stop(entry: TimeEntryRow, at: dt.datetime) -> None:
    entry.stopped_at = at
    entry.seconds = max(0, int((at - entry.started_at).total_seconds()))


def stop_timer(session: Session, actor: Actor, ticket_id: int) -> TimeEntryRow:
    if actor.user_id is None:
        raise ValidationFailed("user", "only a user has a stopwatch")
    entry = running_timer(session, actor.user_id, ticket_id)
    if entry is None:
        raise Conflict("no stopwatch is running for you on this ticket", slug="timer-not-running")
    _stop(entry, utcnow())
    session.flush()
    return entry


def stop_all_timers(session: Session, ticket_id: int, at: dt.datetime | None = None) -> None:
    """Stop every running stopwatch on the ticket, now or at `at` (a call's end at the PBX)."""
    now = at or utcnow()
    for entry in session.scalars(
        select(TimeEntryRow).where(
            TimeEntryRow.ticket_id == ticket_id, TimeEntryRow.stopped_at.is_(None)
        )
    ):
        _stop(entry, now)
    session.flush()


def add_time(
    session: Session,
    actor: Actor,
    ticket_id: int,
    minutes: int,
    started_at: dt.datetime | None,
    note: str,
    billable: bool = True,
) -> TimeEntryRow:
    if actor.user_id is None:
        raise ValidationFailed("user", "only a user records time")
    get_ticket(session, ticket_id)
    start = started_at or utcnow() - dt.timedelta(minutes=minutes)
    entry = TimeEntryRow(
        ticket_id=ticket_id,
        user_id=actor.user_id,
        started_at=start,
        stopped_at=start + dt.timedelta(minutes=minutes),
        seconds=minutes * 60,
        manual=True,
        note=note,
        billable=billable,
    )
    session.add(entry)
    session.flush()
    return entry


def time_total_s(session: Session, ticket_id: int) -> int:
    entries = session.scalars(select(TimeEntryRow).where(TimeEntryRow.ticket_id == ticket_id))
    now = utcnow()
    return sum(entry_seconds(e, now) for e in entries)


def entry_seconds(entry: TimeEntryRow, now: dt.datetime) -> int:
    """A stopwatch entry's length; a running one counts up to `now`."""
    if entry.seconds is not None:
        return entry.seconds
    return int((now - entry.started_at).total_seconds())


# Reuse --------------------------------------------------------------------------------------


def record_reuse(session: Session, actor: Actor, ticket_id: int, source_ticket_id: int) -> ReuseRow:
    """ "This earlier solution helped": counts toward the source's ranking."""
    ticket = get_ticket(session, ticket_id)
    source = get_ticket(session, source_ticket_id, for_update=True)
    if source.id == ticket.id:
        raise ValidationFailed("source_ticket_id", "a ticket cannot reuse itself")
    if not knowledge_ids(session, [source.id]):
        raise ValidationFailed("source_ticket_id", f"{source.number} is not a solution")
    existing = session.scalar(
        select(ReuseRow).where(
            ReuseRow.ticket_id == ticket.id, ReuseRow.source_ticket_id == source.id
        )
    )
    if existing is not None:
        return existing
    reuse = ReuseRow(ticket_id=ticket.id, source_ticket_id=source.id, user_id=actor.user_id)
    session.add(reuse)
    source.reuse_count += 1
    record(session, ticket, actor, "reused", new=source.number)
    session.flush()
    request_reindex(session, source.id)
    return reuse
