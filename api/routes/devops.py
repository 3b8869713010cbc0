"""Azure DevOps routes: handoff, the service-hook webhook, the module dictionary and mappings."""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.params import FromPath, JSONBody, RawBody
from litestar.status_codes import HTTP_202_ACCEPTED
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from api.deps import ActorDep, ContainerDep, require
from api.errors import problem
from tickets.core.services import get_ticket
from tickets.handoff import service as handoff
from tickets.handoff.azure_devops import (
    MalformedHookPayload,
    ProjectInfo,
    parse_workitem_updated,
)
from tickets.handoff.service import (
    DevOpsUnreachable,
    HandoffDisabled,
    ModuleEntry,
    ReconcileReport,
    StateMapping,
)

TRANSIENT_DB_ERRORS = (OperationalError, PoolTimeout)
"""Failures of the database that pass (connection lost or refused, locked, pool exhausted):
answered 503, since Azure DevOps retries a hook only on 408/502/503/504."""


class HandoffAccepted(msgspec.Struct):
    ticket_id: int
    status: str
    """`pending`: the outbox worker creates the work item."""
    ticket_state: str
    second_line_id: int | None


class WebhookResult(msgspec.Struct):
    outcome: str
    """applied, echo, updated, stale (duplicate or older revision), unknown (not ours),
    test (the subscription's Test sample: nothing applied), queued (a Minimal payload: the
    work item is read by a job)."""
    work_item_id: int
    rev: int


class ModuleList(msgspec.Struct, forbid_unknown_fields=True):
    items: list[ModuleEntry]


@post("/api/tickets/{ticket_id:int}/handoff", status_code=HTTP_202_ACCEPTED, sync_to_thread=True)
def request_handoff(
    container: ContainerDep, actor: ActorDep, ticket_id: FromPath[int]
) -> HandoffAccepted:
    """Hand the ticket to production; the outbox worker creates the work item."""
    if container.settings.devops is None:
        raise HandoffDisabled()
    with container.db.transaction() as s:
        row = handoff.request_handoff(s, actor, ticket_id)
        ticket = get_ticket(s, ticket_id)
        return HandoffAccepted(ticket.id, row.status, ticket.state, ticket.second_line_id)


def _presented_secrets(request: Request[Any, Any, Any]) -> list[str]:
    found = []
    header = request.headers.get("x-sedno-secret")
    if header:
        found.append(header)
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and value.strip():
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        if ":" in decoded:
            found.append(decoded.partition(":")[2])
    return found


def secret_matches(request: Request[Any, Any, Any], secret: str) -> bool:
    """Basic-auth password (any user) or `X-Sedno-Secret`, compared in constant time."""
    expected = secret.encode("utf-8")
    return bool(secret) and any(
        hmac.compare_digest(given.encode("utf-8"), expected)
        for given in _presented_secrets(request)
    )


@post(
    "/api/devops/webhook",
    status_code=200,
    sync_to_thread=True,
    security=[{"webhook_basic": []}, {"webhook_secret": []}],
    opt={"request_body": {"application/json": {"type": "object"}}},
)
def devops_webhook(
    container: ContainerDep, request: Request[Any, Any, Any], body: RawBody
) -> Response[Any]:
    """Azure DevOps `workitem.updated` service hook (secret-authenticated, no bearer token)."""
    devops = container.settings.devops
    if devops is None:
        raise HandoffDisabled()
    if not secret_matches(request, devops.webhook_secret):
        response = problem(
            401, "unauthorized", "Unauthorized", "a valid webhook secret is required"
        )
        response.headers["WWW-Authenticate"] = 'Basic realm="sedno-devops-webhook"'
        return response
    try:
        update = parse_workitem_updated(msgspec.json.decode(body))
    except msgspec.DecodeError as exc:
        detail = f"body: not JSON ({exc})"
        return problem(400, "invalid-body", "Invalid request", detail, field="body")
    except MalformedHookPayload as exc:
        return problem(400, "invalid-body", "Invalid request", str(exc), field=exc.field)
    try:
        with container.db.transaction() as s:
            outcome = handoff.apply_workitem_update(s, update)
    except TRANSIENT_DB_ERRORS:
        response = problem(
            503, "unavailable", "Service unavailable", "the database does not answer; retry"
        )
        response.headers["Retry-After"] = "30"
        return response
    return Response(WebhookResult(outcome, update.work_item_id, update.rev), status_code=200)


def _unreachable(exc: DevOpsUnreachable) -> Response[Any]:
    if exc.retryable:
        response = problem(503, "devops-unavailable", "Azure DevOps unavailable", str(exc))
        if exc.retry_after:
            response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return response
    return problem(502, "devops-refused", "Azure DevOps refused the request", str(exc))


class DevOpsAdminController(Controller):
    path = "/api/devops"
    tags = ["devops"]  # noqa: RUF012

    @get("/modules", sync_to_thread=True)
    def modules(self, container: ContainerDep, actor: ActorDep) -> ModuleList:
        """The module dictionary: DevOps area path, price-list code, second-line person."""
        require(actor, "admin")
        with container.db.read() as s:
            return ModuleList(handoff.list_modules(s))

    @put("/modules", sync_to_thread=True)
    def put_modules(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[ModuleList]
    ) -> Response[ModuleList]:
        """Replace the dictionary; with Azure DevOps configured, area paths and second-line
        people are checked against the project first (422 naming the value)."""
        require(actor, "admin")
        items = data.items
        try:
            if container.settings.devops is not None:
                project = handoff.read_project(container)
                with container.db.read() as s:
                    items = handoff.validate_modules(
                        s, items, project, handoff.identity_checker(container)
                    )
        except DevOpsUnreachable as exc:
            return _unreachable(exc)
        with container.db.transaction() as s:
            return Response(ModuleList(handoff.put_modules(s, items)))

    @get("/mapping", sync_to_thread=True)
    def mapping(self, container: ContainerDep, actor: ActorDep) -> StateMapping:
        """Work-item state → ticket action, ticket state → work-item state (with tag, comment)."""
        require(actor, "admin")
        with container.db.read() as s:
            return handoff.get_mapping(s)

    @put("/mapping", sync_to_thread=True)
    def put_mapping(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[StateMapping]
    ) -> Response[StateMapping]:
        """Replace the mappings; named states and the type must exist in the project."""
        require(actor, "admin")
        project = None
        try:
            if container.settings.devops is not None:
                project = handoff.read_project(container, data.work_item_type)
        except DevOpsUnreachable as exc:
            return _unreachable(exc)
        with container.db.transaction() as s:
            return Response(handoff.put_mapping(s, data, project))

    @get("/project", sync_to_thread=True)
    def project(self, container: ContainerDep, actor: ActorDep) -> Response[ProjectInfo]:
        """The project as Azure DevOps describes it now: process, handoff type and its states
        with categories, area paths."""
        require(actor, "admin")
        try:
            return Response(handoff.read_project(container))
        except DevOpsUnreachable as exc:
            return _unreachable(exc)

    @post("/reconcile", status_code=200, sync_to_thread=True)
    def reconcile(self, container: ContainerDep, actor: ActorDep) -> ReconcileReport:
        """Read the work items of open handoffs now and apply what the hooks missed."""
        require(actor, "admin")
        return handoff.reconcile_handoffs(container)


ROUTES: list[Any] = [request_handoff, devops_webhook, DevOpsAdminController]
