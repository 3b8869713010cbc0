"""Routes of campaigns and projects."""

from __future__ import annotations

from typing import Literal

import msgspec
from litestar import get, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from api.deps import ActorDep, ContainerDep, require
from tickets.projects import service as p


class CampaignList(msgspec.Struct):
    items: list[p.CampaignView]


class ProjectList(msgspec.Struct):
    items: list[p.ProjectView]


@get("/api/campaigns", sync_to_thread=True, tags=["projects"])
def campaigns(container: ContainerDep, actor: ActorDep) -> CampaignList:
    with container.db.read() as s:
        return CampaignList(p.list_campaigns(s))


@post("/api/campaigns", status_code=HTTP_201_CREATED, sync_to_thread=True, tags=["projects"])
def create_campaign(
    container: ContainerDep, actor: ActorDep, data: JSONBody[p.CampaignIn]
) -> p.CampaignView:
    """A campaign (a department's line of work); curators and administrators."""
    require(actor, "curator")
    with container.db.transaction() as s:
        return p.create_campaign(s, data)


@get("/api/projects", sync_to_thread=True, tags=["projects"])
def projects(
    container: ContainerDep,
    actor: ActorDep,
    campaign_id: FromQuery[int | None] = None,
    kind: FromQuery[Literal["internal", "external"] | None] = None,
    module: FromQuery[str | None] = None,
) -> ProjectList:
    with container.db.read() as s:
        return ProjectList(p.list_projects(s, campaign_id=campaign_id, kind=kind, module=module))


@post("/api/projects", status_code=HTTP_201_CREATED, sync_to_thread=True, tags=["projects"])
def create_project(
    container: ContainerDep, actor: ActorDep, data: JSONBody[p.ProjectIn]
) -> p.ProjectView:
    """A project of a campaign, internal or external, on a module; curators and admins."""
    require(actor, "curator")
    with container.db.transaction() as s:
        return p.create_project(s, data)


@get("/api/projects/{project_id:int}", sync_to_thread=True, tags=["projects"])
def project(container: ContainerDep, actor: ActorDep, project_id: FromPath[int]) -> p.ProjectDetail:
    """The project with its tasks and events."""
    with container.db.read() as s:
        return p.project_detail(s, project_id)


ROUTES = [campaigns, create_campaign, projects, create_project, project]
