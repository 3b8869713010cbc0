"""Campaigns and projects: create, list, and a project with its tasks and events."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from msgspec import Meta
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tickets.console.worklist import TicketFilter, find_tickets
from tickets.core import definitions as defs
from tickets.core.db import utcnow
from tickets.core.orm import ClientRow
from tickets.core.schemas import TicketSummary
from tickets.domain.errors import Conflict, NotFound, ValidationFailed
from tickets.handoff.orm import DevOpsModuleRow
from tickets.projects.orm import CampaignRow, ProjectRow

Name = Annotated[str, Meta(min_length=1, max_length=200)]
Description = Annotated[str, Meta(max_length=20_000)]
Kind = Literal["internal", "external"]


class CampaignIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    description: Description = ""


class CampaignView(msgspec.Struct, kw_only=True):
    id: int
    name: str
    description: str
    created_at: dt.datetime
    projects: int
    """How many projects the campaign has."""


class ProjectIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    campaign_id: int
    name: Name
    kind: Kind
    module: Annotated[str, Meta(max_length=200)] = ""
    """A module of the DevOps module dictionary (`/api/devops/modules`), when it has any."""
    client_id: int | None = None
    """The customer of an external project."""
    description: Description = ""


class ProjectView(msgspec.Struct, kw_only=True):
    id: int
    campaign_id: int
    campaign_name: str
    name: str
    kind: str
    module: str
    client_id: int | None
    description: str
    active: bool
    created_at: dt.datetime


class ProjectDetail(msgspec.Struct, kw_only=True):
    """A project with its tasks and its events (phone calls), newest first."""

    project: ProjectView
    tasks: list[TicketSummary]
    events: list[TicketSummary]
    open_tasks: int


def create_campaign(session: Session, data: CampaignIn) -> CampaignView:
    name = " ".join(data.name.split())
    if not name:
        raise ValidationFailed("name", "a name is required")
    if session.scalar(select(CampaignRow.id).where(func.lower(CampaignRow.name) == name.lower())):
        raise Conflict(f"a campaign {name!r} exists", slug="campaign-exists")
    row = CampaignRow(name=name, description=data.description)
    session.add(row)
    session.flush()
    return campaign_view(session, row)


def campaign_view(session: Session, row: CampaignRow) -> CampaignView:
    count = session.scalar(
        select(func.count()).select_from(ProjectRow).where(ProjectRow.campaign_id == row.id)
    )
    return CampaignView(
        id=row.id,
        name=row.name,
        description=row.description,
        created_at=row.created_at,
        projects=int(count or 0),
    )


def list_campaigns(session: Session) -> list[CampaignView]:
    rows = session.scalars(select(CampaignRow).order_by(CampaignRow.name))
    return [campaign_view(session, r) for r in rows]


def _check_module(session: Session, module: str) -> None:
    """A project's module is one production knows, when the desk keeps the dictionary."""
    if not module:
        return
    known = set(session.scalars(select(DevOpsModuleRow.module)))
    if known and module not in known:
        raise ValidationFailed("module", f"{module!r} is not one of {', '.join(sorted(known))}")


def create_project(session: Session, data: ProjectIn) -> ProjectView:
    name = " ".join(data.name.split())
    if not name:
        raise ValidationFailed("name", "a name is required")
    if session.get(CampaignRow, data.campaign_id) is None:
        raise ValidationFailed("campaign_id", f"no such campaign: {data.campaign_id}")
    if data.client_id is not None and session.get(ClientRow, data.client_id) is None:
        raise ValidationFailed("client_id", f"no such client: {data.client_id}")
    _check_module(session, data.module)
    row = ProjectRow(
        campaign_id=data.campaign_id,
        name=name,
        kind=data.kind,
        module=data.module,
        client_id=data.client_id,
        description=data.description,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(f"the campaign has a project {name!r}", slug="project-exists") from None
    return project_view(session, row)


def project_view(session: Session, row: ProjectRow) -> ProjectView:
    campaign = session.get(CampaignRow, row.campaign_id)
    return ProjectView(
        id=row.id,
        campaign_id=row.campaign_id,
        campaign_name=campaign.name if campaign else "",
        name=row.name,
        kind=row.kind,
        module=row.module,
        client_id=row.client_id,
        description=row.description,
        active=row.active,
        created_at=row.created_at,
    )


def list_projects(
    session: Session, *, campaign_id: int | None, kind: str | None, module: str | None
) -> list[ProjectView]:
    query = select(ProjectRow)
    if campaign_id is not None:
        query = query.where(ProjectRow.campaign_id == campaign_id)
    if kind:
        query = query.where(ProjectRow.kind == kind)
    if module:
        query = query.where(ProjectRow.module == module)
    rows = session.scalars(query.order_by(ProjectRow.campaign_id, ProjectRow.name))
    return [project_view(session, r) for r in rows]


def get_project(session: Session, project_id: int) -> ProjectRow:
    row = session.get(ProjectRow, project_id)
    if row is None:
        raise NotFound("project", project_id)
    return row


def project_name(session: Session, project_id: int) -> str | None:
    """The name a ticket of the project shows (None for a project that is gone)."""
    row = session.get(ProjectRow, project_id)
    return row.name if row else None


def project_detail(session: Session, project_id: int) -> ProjectDetail:
    row = get_project(session, project_id)
    items, _ = find_tickets(session, TicketFilter(project_id=project_id, limit=500), utcnow())
    kinds = {d.code: d for d in defs.list_definitions(session)}
    tasks = [t for t in items if kinds[t.definition].kind == "task"]
    events = [t for t in items if kinds[t.definition].kind == "event"]
    open_tasks = sum(1 for t in tasks if t.state not in kinds[t.definition].final_states)
    return ProjectDetail(
        project=project_view(session, row), tasks=tasks, events=events, open_tasks=open_tasks
    )
