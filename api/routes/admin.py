"""Admin routes: ticket definitions, dictionaries, users and tokens, the outbox."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Controller, get, post, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED
from msgspec import Meta

from api.deps import ActorDep, ContainerDep, require
from tickets.accounts import auth
from tickets.core import definitions as defs
from tickets.core.outbox import pending_stats
from tickets.core.schemas import EmailAddress, check_addresses
from tickets.domain.definitions import Definition, StateDef
from tickets.domain.errors import ValidationFailed


class StateIn(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, Meta(min_length=1, max_length=32)]
    label_pl: Annotated[str, Meta(min_length=1, max_length=100)]
    label_en: Annotated[str, Meta(min_length=1, max_length=100)]


class DefinitionIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    kind: Literal["task", "event"]
    number_pattern: Annotated[str, Meta(min_length=3, max_length=64)]
    states: Annotated[list[StateIn], Meta(min_length=1, max_length=30)]
    transitions: dict[str, list[str]]
    initial_state: str
    final_states: list[str]
    notify_states: list[str] = msgspec.field(default_factory=list)


class DefinitionList(msgspec.Struct):
    items: list[Definition]


class DictionaryEntry(msgspec.Struct):
    value: str
    label_pl: str
    label_en: str


class UserIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    login: Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._@-]+$")]
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    role: Literal["consultant", "curator", "admin"] = "consultant"
    email: EmailAddress | None = None
    password: Annotated[str, Meta(min_length=8, max_length=200)] | None = None

    def __post_init__(self) -> None:
        check_addresses(self, "email")


class UserCreated(msgspec.Struct):
    id: int
    login: str
    role: str
    token: str


class Me(msgspec.Struct):
    user_id: int | None
    name: str
    role: str


class AdminController(Controller):
    path = "/api"
    tags = ["admin"]  # noqa: RUF012

    @get("/definitions", sync_to_thread=True)
    def definitions(self, container: ContainerDep, actor: ActorDep) -> DefinitionList:
        with container.db.read() as s:
            return DefinitionList(items=defs.list_definitions(s))

    @put("/definitions/{code:str}", sync_to_thread=True)
    def put_definition(
        self,
        container: ContainerDep,
        actor: ActorDep,
        code: FromPath[str],
        data: JSONBody[DefinitionIn],
    ) -> Definition:
        """Add or change a definition (admin); existing tickets keep their numbers."""
        require(actor, "admin")
        if not code.isalnum() or len(code) > 16:
            raise ValidationFailed("code", "letters and digits, at most 16")
        definition = Definition(
            code=code.upper(),
            name=data.name,
            kind=data.kind,
            number_pattern=data.number_pattern,
            states=tuple(StateDef(s.code, s.label_pl, s.label_en) for s in data.states),
            transitions={k: tuple(v) for k, v in data.transitions.items()},
            initial_state=data.initial_state,
            final_states=tuple(data.final_states),
            notify_states=tuple(data.notify_states),
        )
        with container.db.transaction() as s:
            defs.write_definition(s, definition)
            return defs.get_definition(s, definition.code)

    @get("/dictionaries/{kind:str}", sync_to_thread=True)
    def dictionary(
        self, container: ContainerDep, actor: ActorDep, kind: FromPath[str]
    ) -> list[DictionaryEntry]:
        with container.db.read() as s:
            return [
                DictionaryEntry(e.value, e.label_pl, e.label_en) for e in defs.dictionary(s, kind)
            ]

    @post("/users", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def create_user(
        self, container: ContainerDep, actor: ActorDep, data: JSONBody[UserIn]
    ) -> UserCreated:
        require(actor, "admin")
        with container.db.transaction() as s:
            user, token = auth.create_user(
                s,
                login=data.login,
                name=data.name,
                role=data.role,
                email=data.email,
                password=data.password,
            )
            return UserCreated(user.id, user.login, user.role, token)

    @get("/me", sync_to_thread=True)
    def me(self, actor: ActorDep) -> Me:
        return Me(actor.user_id, actor.name, actor.role)

    @get("/outbox", sync_to_thread=True)
    def outbox(self, container: ContainerDep, actor: ActorDep) -> dict[str, object]:
        require(actor, "admin")
        with container.db.read() as s:
            return pending_stats(s)
