"""Ticket definitions: everyone may read them, only an administrator may change them."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from api.deps import ActorDep, ContainerDep, require
from tickets.core import definitions as defs
from tickets.core.db import desk_zone, utcnow
from tickets.domain.definitions import Definition, StateDef
from tickets.domain.errors import ValidationFailed
from tickets.domain.numbering import numbering_year
from tickets.handoff import service as handoff
from ui.web import page

MAX_LABEL = 100


@get("/definitions", sync_to_thread=True)
def definitions_page(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    saved: FromQuery[str | None] = None,
) -> Template:
    with container.db.read() as s:
        definitions = defs.list_definitions(s)
        year = numbering_year(utcnow(), desk_zone(s))  # the year new tickets are numbered in
    return page(
        request,
        "definitions.html",
        actor=actor,
        definitions=definitions,
        saved=saved,
        year=year,
    )


def _label(form: dict[str, str], key: str, current: str) -> str:
    value = " ".join(str(form.get(key, current)).split())
    if not value or len(value) > MAX_LABEL:
        raise ValidationFailed(key, f"a label has 1 to {MAX_LABEL} characters")
    return value


def relabelled(definition: Definition, form: dict[str, str]) -> Definition:
    """The definition with the name and state labels an administrator typed."""
    name = " ".join(str(form.get("name", definition.name)).split())
    if not name or len(name) > 200:
        raise ValidationFailed("name", "a name has 1 to 200 characters")
    states = tuple(
        StateDef(
            s.code,
            _label(form, f"label_pl__{s.code}", s.label_pl),
            _label(form, f"label_en__{s.code}", s.label_en),
        )
        for s in definition.states
    )
    return msgspec.structs.replace(definition, name=name, states=states)


@post("/definitions/{code:str}", sync_to_thread=True, status_code=303)
def definition_save(
    container: ContainerDep,
    actor: ActorDep,
    code: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Response[Any]:
    require(actor, "admin")
    with container.db.transaction() as s:
        definition = defs.get_definition(s, code)
        defs.write_definition(s, relabelled(definition, data))
    return Redirect(f"/definitions?saved={definition.code}", status_code=303)


@get("/admin/devops", sync_to_thread=True)
def devops_page(
    request: Request[Any, Any, Any], container: ContainerDep, actor: ActorDep
) -> Template:
    """The module dictionary and mappings beside the project's areas and states (admin)."""
    require(actor, "admin")
    project, problem = None, None
    if container.settings.devops is not None:
        try:
            project = handoff.read_project(container)
        except handoff.DevOpsUnreachable as exc:
            problem = str(exc)
            with container.db.read() as s:
                project = handoff.stored_project(s)
    with container.db.read() as s:
        modules = handoff.list_modules(s)
        mapping = handoff.get_mapping(s)
    return page(
        request,
        "devops_admin.html",
        actor=actor,
        configured=container.settings.devops is not None,
        project=project,
        problem=problem,
        modules=modules,
        mapping=mapping,
        outbound_state=handoff.outbound_state,
    )
