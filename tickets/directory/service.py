"""Partners, clients, contacts and licences, with the sales flags that warn consultants."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from tickets.core.client_warnings import warnings_for
from tickets.core.orm import ClientRow, ContactRow, LicenceRow, PartnerRow, UserRow
from tickets.core.schemas import EmailAddress, check_addresses
from tickets.domain.errors import Conflict, NotFound, ValidationFailed
from tickets.domain.tax_id import InvalidTaxId, digits_only, normalise_nip
from tickets.domain.text import fold

Name = Annotated[str, Meta(min_length=1, max_length=300)]
Email = EmailAddress

TaxId = Annotated[str, Meta(max_length=32, description="NIP; stored and returned as 10 digits")]
Channel = Literal["email", "phone"]
_POSTAL_PL = re.compile(r"^[0-9]{2}-[0-9]{3}$")


class Address(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A postal address; a Polish postal code is `NN-NNN`."""

    street: Annotated[str, Meta(max_length=300)] = ""
    postal_code: Annotated[str, Meta(max_length=16)] = ""
    city: Annotated[str, Meta(max_length=200)] = ""
    country: Annotated[str, Meta(min_length=2, max_length=2, pattern="^[A-Z]{2}$")] = "PL"

    def __post_init__(self) -> None:
        self.postal_code = self.postal_code.strip()
        if self.country == "PL" and self.postal_code and not _POSTAL_PL.match(self.postal_code):
            raise ValidationFailed("address.postal_code", "a Polish postal code is NN-NNN")


def tax_id_or_none(value: str | None) -> str | None:
    """The NIP as ten digits (checksum validated), or 422 naming `tax_id`."""
    if value is None or not value.strip():
        return None
    try:
        return normalise_nip(value)
    except InvalidTaxId as exc:
        raise ValidationFailed("tax_id", str(exc)) from None


def _address_fields(address: Address | None) -> dict[str, Any]:
    if address is None:
        return {}
    return {
        "street": address.street.strip(),
        "postal_code": address.postal_code,
        "city": address.city.strip(),
        "country": address.country,
    }


def address_of(row: ClientRow | PartnerRow) -> Address:
    return Address(
        street=row.street or "",
        postal_code=row.postal_code or "",
        city=row.city or "",
        country=row.country or "PL",
    )


class LicenceIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    number: Annotated[str, Meta(min_length=1, max_length=64)]
    product: Annotated[str, Meta(min_length=1, max_length=64)] = "enova365"
    modules: list[Annotated[str, Meta(max_length=200)]] = msgspec.field(default_factory=list)


class PartnerIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    email: Email | None = None
    phone: Annotated[str, Meta(max_length=64)] | None = None
    tax_id: TaxId | None = None
    address: Address | None = None
    do_not_contact: bool = False
    sales_note: Annotated[str, Meta(max_length=5000)] = ""

    def __post_init__(self) -> None:
        check_addresses(self, "email")
        self.tax_id = tax_id_or_none(self.tax_id)


class ClientIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    partner_id: int | None = None
    email: Email | None = None
    phone: Annotated[str, Meta(max_length=64)] | None = None
    tax_id: TaxId | None = None
    address: Address | None = None
    licences: list[LicenceIn] = msgspec.field(default_factory=list)
    do_not_contact: bool = False
    sales_note: Annotated[str, Meta(max_length=5000)] = ""
    consultant_id: int | None = None
    """The client's own consultant (opiekun klienta)."""
    notes: Annotated[str, Meta(max_length=20_000)] = ""

    def __post_init__(self) -> None:
        check_addresses(self, "email")
        self.tax_id = tax_id_or_none(self.tax_id)


class ClientPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name | UnsetType = UNSET
    partner_id: int | UnsetType | None = UNSET
    email: Email | UnsetType | None = UNSET
    phone: Annotated[str, Meta(max_length=64)] | UnsetType | None = UNSET
    tax_id: TaxId | UnsetType | None = UNSET
    address: Address | UnsetType = UNSET
    do_not_contact: bool | UnsetType = UNSET
    sales_note: Annotated[str, Meta(max_length=5000)] | UnsetType = UNSET
    add_licences: list[LicenceIn] | UnsetType = UNSET
    consultant_id: int | UnsetType | None = UNSET
    notes: Annotated[str, Meta(max_length=20_000)] | UnsetType = UNSET

    def __post_init__(self) -> None:
        check_addresses(self, "email")
        if isinstance(self.tax_id, str):
            self.tax_id = tax_id_or_none(self.tax_id)


class ContactIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    email: Email | None = None
    phone: Annotated[str, Meta(max_length=64)] | None = None
    client_id: int | None = None
    partner_id: int | None = None
    role: Annotated[str, Meta(max_length=100)] = ""
    """What the person is at the client, e.g. "księgowa"."""
    preferred_channel: Channel = "email"

    def __post_init__(self) -> None:
        check_addresses(self, "email")


class LicenceView(msgspec.Struct):
    number: str
    product: str
    modules: list[str]


class PartnerView(msgspec.Struct):
    id: int
    name: str
    email: str | None
    phone: str | None
    do_not_contact: bool
    sales_note: str
    tax_id: str | None = None
    address: Address | None = None


class ClientView(msgspec.Struct):
    id: int
    name: str
    partner: PartnerView | None
    email: str | None
    phone: str | None
    licences: list[LicenceView]
    do_not_contact: bool
    sales_note: str
    warnings: list[str]
    consultant_id: int | None = None
    tax_id: str | None = None
    address: Address | None = None


class ContactView(msgspec.Struct):
    id: int
    name: str
    email: str | None
    phone: str | None
    client_id: int | None
    partner_id: int | None
    role: str = ""
    preferred_channel: str = "email"
    client_name: str | None = None


def partner_view(row: PartnerRow) -> PartnerView:
    return PartnerView(
        id=row.id,
        name=row.name,
        email=row.email,
        phone=row.phone,
        do_not_contact=row.do_not_contact,
        sales_note=row.sales_note,
        tax_id=row.tax_id,
        address=address_of(row),
    )


def client_view(row: ClientRow) -> ClientView:
    return ClientView(
        id=row.id,
        name=row.name,
        partner=partner_view(row.partner) if row.partner else None,
        email=row.email,
        phone=row.phone,
        licences=[LicenceView(lic.number, lic.product, list(lic.modules)) for lic in row.licences],
        do_not_contact=row.do_not_contact,
        sales_note=row.sales_note,
        warnings=warnings_for(row, row.partner),
        consultant_id=row.consultant_id,
        tax_id=row.tax_id,
        address=address_of(row),
    )


def create_partner(session: Session, data: PartnerIn) -> PartnerRow:
    fields = msgspec.structs.asdict(data)
    address = _address_fields(fields.pop("address"))
    row = PartnerRow(**fields, **address)
    session.add(row)
    session.flush()
    return row


def _add_licences(session: Session, client: ClientRow, licences: list[LicenceIn]) -> None:
    for lic in licences:
        number = lic.number.strip()
        if session.get(LicenceRow, number) is not None:
            raise Conflict(
                f"licence {number} already belongs to a client", slug="duplicate-licence"
            )
        session.add(
            LicenceRow(
                number=number,
                client_id=client.id,
                partner_id=client.partner_id,
                product=lic.product,
                modules=list(lic.modules),
            )
        )


def _check_consultant(session: Session, consultant_id: int | None) -> None:
    if consultant_id is not None and session.get(UserRow, consultant_id) is None:
        raise ValidationFailed("consultant_id", f"no such user: {consultant_id}")


def create_client(session: Session, data: ClientIn) -> ClientRow:
    if data.partner_id is not None and session.get(PartnerRow, data.partner_id) is None:
        raise ValidationFailed("partner_id", f"no such partner: {data.partner_id}")
    _check_consultant(session, data.consultant_id)
    fields = msgspec.structs.asdict(data)
    licences = fields.pop("licences")
    address = _address_fields(fields.pop("address"))
    row = ClientRow(**fields, **address, search_name=fold(data.name))
    session.add(row)
    session.flush()
    _add_licences(session, row, licences)
    session.flush()
    session.refresh(row)
    return row


def update_client(session: Session, client_id: int, patch: ClientPatch) -> ClientRow:
    row = get_client(session, client_id)
    for field in patch.__struct_fields__:
        value = getattr(patch, field)
        if value is UNSET:
            continue
        if field == "add_licences":
            _add_licences(session, row, value)
            continue
        if field == "address":
            for key, part in _address_fields(value).items():
                setattr(row, key, part)
            continue
        if field == "consultant_id":
            _check_consultant(session, value)
        setattr(row, field, value)
    row.search_name = fold(row.name)
    session.flush()
    session.refresh(row)
    return row


def create_contact(session: Session, data: ContactIn) -> ContactRow:
    if data.client_id is not None and session.get(ClientRow, data.client_id) is None:
        raise ValidationFailed("client_id", f"no such client: {data.client_id}")
    if data.partner_id is not None and session.get(PartnerRow, data.partner_id) is None:
        raise ValidationFailed("partner_id", f"no such partner: {data.partner_id}")
    row = ContactRow(**msgspec.structs.asdict(data))
    session.add(row)
    session.flush()
    return row


def get_client(session: Session, client_id: int) -> ClientRow:
    row = session.get(ClientRow, client_id)
    if row is None:
        raise NotFound("client", client_id)
    return row


def find_clients(
    session: Session,
    *,
    licence: str | None = None,
    q: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[ClientRow], int]:
    """By exact licence number, or as the consultant types: name, licence number with or
    without its prefix ("100203" finds "EN-100203"), phone number (client's or a contact's,
    any format) or NIP (with or without dashes)."""
    query = select(ClientRow)
    if licence:
        query = query.join(LicenceRow, LicenceRow.client_id == ClientRow.id).where(
            LicenceRow.number == licence.strip()
        )
    if q:
        query = query.where(or_(*_typed_matches(q)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(
        session.scalars(query.order_by(ClientRow.name).limit(limit).offset(offset)).unique()
    )
    return rows, int(total)


def contact_view(row: ContactRow, client_name: str | None = None) -> ContactView:
    return ContactView(
        id=row.id,
        name=row.name,
        email=row.email,
        phone=row.phone,
        client_id=row.client_id,
        partner_id=row.partner_id,
        role=row.role or "",
        preferred_channel=row.preferred_channel or "email",
        client_name=client_name,
    )


def find_contacts(
    session: Session,
    *,
    q: str | None = None,
    client_id: int | None = None,
    partner_id: int | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[ContactView], int]:
    """Contacts by name, address, role or phone number (any format), as you type."""
    query = select(ContactRow, ClientRow.name).outerjoin(
        ClientRow, ClientRow.id == ContactRow.client_id
    )
    if client_id is not None:
        query = query.where(ContactRow.client_id == client_id)
    if partner_id is not None:
        query = query.where(ContactRow.partner_id == partner_id)
    if q and q.strip():
        needle = f"%{q.strip().lower()}%"
        matches = [
            func.lower(ContactRow.name).like(needle),
            func.lower(ContactRow.email).like(needle),
            func.lower(ContactRow.role).like(needle),
        ]
        digits = digits_only(q)
        if len(digits) >= 3:
            matches.append(ContactRow.phone_e164.like(f"%{digits.lstrip('0')}%"))
        query = query.where(or_(*matches))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(ContactRow.name, ContactRow.id).limit(limit).offset(offset)
    ).all()
    return [contact_view(c, name) for c, name in rows], int(total)


MIN_NUMBER_DIGITS = 3
"""Digits typed before a look-up by licence digits, phone or NIP (fewer match too much)."""


def _typed_matches(q: str) -> list[ColumnElement[bool]]:
    folded = fold(q.strip())
    licence_match = select(LicenceRow.client_id).where(
        func.lower(LicenceRow.number).like(f"{folded}%")
    )
    found: list[ColumnElement[bool]] = [
        ClientRow.search_name.like(f"%{folded}%"),
        ClientRow.id.in_(licence_match),
    ]
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= MIN_NUMBER_DIGITS and len(digits) * 2 >= len(q.replace(" ", "")):
        by_digits = select(LicenceRow.client_id).where(
            _only_digits(LicenceRow.number).like(f"%{digits}%")
        )
        found.append(ClientRow.id.in_(by_digits))
        found.append(_only_digits(func.coalesce(ClientRow.tax_id, "")).like(f"{digits}%"))
        national = digits[2:] if digits.startswith("48") and len(digits) > 9 else digits
        phone = f"%{national}%"
        found.append(ClientRow.phone_e164.like(phone))
        found.append(
            ClientRow.id.in_(
                select(ContactRow.client_id).where(
                    ContactRow.phone_e164.like(phone), ContactRow.client_id.is_not(None)
                )
            )
        )
    return found


def _only_digits(column: Any) -> Any:
    """The column without the separators people write numbers with."""
    for sep in ("-", " ", "/", "."):
        column = func.replace(column, sep, "")
    return column


def list_partners(
    session: Session, q: str | None, limit: int, offset: int
) -> tuple[list[PartnerRow], int]:
    query = select(PartnerRow)
    if q:
        query = query.where(func.lower(PartnerRow.name).like(f"%{q.strip().lower()}%"))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return list(session.scalars(query.order_by(PartnerRow.name).limit(limit).offset(offset))), int(
        total
    )


def find_contact_by_email(session: Session, email: str) -> ContactRow | None:
    return session.scalar(
        select(ContactRow).where(func.lower(ContactRow.email) == email.strip().lower()).limit(1)
    )
