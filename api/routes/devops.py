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

from api.deps import ActorDep, ContainerDep, require
from api.errors import problem
from tickets import handoff
from tickets.adapters.azure_devops import MalformedHookPayload, parse_workitem_updated
from tickets.handoff import HandoffDisabled, ModuleEntry, ReconcileReport, StateMapping
from tickets.services import get_ticket


class HandoffAccepted(msgspec.Struct):
    ticket_id: int
    status: str
    """`pending`: the outbox worker creates the work item."""
    ticket_state: str
    second_line_id: int | None


class WebhookResult(msgspec.Struct):
    outcome: str
    """applied, echo, updated, stale (duplicate or older revision), unknown (not ours)."""
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
    with container.db.transaction() as s:
        outcome = handoff.apply_workitem_update(s, update)
    return Response(WebhookResult(outcome, update.work_item_id, update.rev), status_code=200)


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
    ) -> ModuleList:
        require(actor, "admin")
        with container.db.transaction() as s:
            return ModuleList(handoff.put_modules(s, data.items))

    @get("/mapping", sync_to_thread=True)
    def mapping(self, container: ContainerDep, actor: ActorDep) -> StateMapping:
        """Work-item state → ticket action, ticket state → work-item state (with tag, comment)."""
        require(actor, "admin")
        with container.db.read() as s:
            return handoff.get_mapping(s)

    @put("/mapping", sync_to_thread=True)
    def put_mapping(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[StateMapping]
    ) -> StateMapping:
        require(actor, "admin")
        with container.db.transaction() as s:
            return handoff.put_mapping(s, data)

    @post("/reconcile", status_code=200, sync_to_thread=True)
    def reconcile(self, container: ContainerDep, actor: ActorDep) -> ReconcileReport:
        """Read the work items of open handoffs now and apply what the hooks missed."""
        require(actor, "admin")
        return handoff.reconcile_handoffs(container)


ROUTES: list[Any] = [request_handoff, devops_webhook, DevOpsAdminController]
