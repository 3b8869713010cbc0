"""Directory routes: partners, clients (with licences and sales flags), contacts."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from api.container import planner_settings
from api.deps import ActorDep, ContainerDep, require
from tickets.console.client_card import ClientCard, client_card
from tickets.core.db import utcnow
from tickets.directory import service as d


class ClientList(msgspec.Struct):
    items: list[d.ClientView]
    total: int


class PartnerList(msgspec.Struct):
    items: list[d.PartnerView]
    total: int


class ContactList(msgspec.Struct):
    items: list[d.ContactView]
    total: int


class DirectoryController(Controller):
    path = "/api"
    tags = ["directory"]  # noqa: RUF012

    @get("/clients", sync_to_thread=True)
    def clients(
        self,
        container: ContainerDep,
        actor: ActorDep,
        licence: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 20,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> ClientList:
        """Find a client by licence number, or by name / licence prefix as you type."""
        with container.db.read() as s:
            rows, total = d.find_clients(s, licence=licence, q=q, limit=limit, offset=offset)
            return ClientList(items=[d.client_view(r) for r in rows], total=total)

    @get("/clients/{client_id:int}", sync_to_thread=True)
    def client(
        self, container: ContainerDep, actor: ActorDep, client_id: FromPath[int]
    ) -> d.ClientView:
        with container.db.read() as s:
            return d.client_view(d.get_client(s, client_id))

    @get("/clients/{client_id:int}/card", sync_to_thread=True)
    def client_card(
        self, container: ContainerDep, actor: ActorDep, client_id: FromPath[int]
    ) -> ClientCard:
        """Warnings, contacts, licences, open and recent tickets, handoffs, time this month."""
        with container.db.read() as s:
            return client_card(s, client_id, utcnow(), planner_settings(container).zone)

    @post("/clients", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def create_client(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[d.ClientIn]
    ) -> d.ClientView:
        with container.db.transaction() as s:
            return d.client_view(d.create_client(s, data))

    @patch("/clients/{client_id:int}", sync_to_thread=True)
    def edit_client(
        self,
        container: ContainerDep,
        actor: ActorDep,
        client_id: FromPath[int],
        data: JSONBody[d.ClientPatch],
    ) -> d.ClientView:
        if data.do_not_contact is not msgspec.UNSET or data.sales_note is not msgspec.UNSET:
            require(actor, "curator")
        with container.db.transaction() as s:
            return d.client_view(d.update_client(s, client_id, data))

    @get("/partners", sync_to_thread=True)
    def partners(
        self,
        container: ContainerDep,
        actor: ActorDep,
        q: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> PartnerList:
        with container.db.read() as s:
            rows, total = d.list_partners(s, q, limit, offset)
            return PartnerList(items=[d.partner_view(r) for r in rows], total=total)

    @post("/partners", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def create_partner(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[d.PartnerIn]
    ) -> d.PartnerView:
        with container.db.transaction() as s:
            return d.partner_view(d.create_partner(s, data))

    @post("/contacts", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def create_contact(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[d.ContactIn]
    ) -> d.ContactView:
        with container.db.transaction() as s:
            return d.contact_view(d.create_contact(s, data))

    @get("/contacts", sync_to_thread=True)
    def contacts(
        self,
        container: ContainerDep,
        actor: ActorDep,
        q: FromQuery[str | None] = None,
        client_id: FromQuery[int | None] = None,
        partner_id: FromQuery[int | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 20,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> ContactList:
        """Contacts by name, e-mail, role or phone number (any format), as you type."""
        with container.db.read() as s:
            items, total = d.find_contacts(
                s, q=q, client_id=client_id, partner_id=partner_id, limit=limit, offset=offset
            )
        return ContactList(items=items, total=total)
