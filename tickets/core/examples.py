"""Realistic values for the OpenAPI document: field types that carry `Meta(examples=…)`, so
Swagger UI shows a desk's data (`ZS/2026/42`, `enova365`, `EN-100203`), not random strings.
They change nothing at run time: the same `str`, `int` or `list`, with an example attached."""

from __future__ import annotations

from typing import Annotated, Any, get_args

from msgspec import Meta


def example(value: object) -> Meta:
    """The annotation that shows `value` as a field's example in the OpenAPI document."""
    return Meta(examples=[value])


def meta_of(alias: Any) -> Meta:
    """The example annotation of one of the types below, to put on a constrained type."""
    meta = get_args(alias)[1]
    assert isinstance(meta, Meta)
    return meta


TicketNumber = Annotated[str, example("ZS/2026/42")]
TicketTitle = Annotated[str, example("Faktura nie wysyła się do KSeF: błąd 401")]
Description = Annotated[
    str, example("Po aktualizacji do 2604.1 wysyłka faktury do KSeF kończy się błędem 401.")
]
Solution = Annotated[
    str, example("Odnowiono token KSeF w Konfiguracji → Urząd skarbowy; wysyłka działa.")
]
Product = Annotated[str, example("enova365")]
Module = Annotated[str, example("Handel")]
Version = Annotated[str, example("2604.1")]
TicketType = Annotated[str, example("bug")]
State = Annotated[str, example("in_progress")]
Licence = Annotated[str, example("EN-100203")]
ClientName = Annotated[str, example("Piekarnia Kowalski sp. z o.o.")]
Keywords = Annotated[list[str], example(["ksef", "faktura", "token"])]
KbLinks = Annotated[list[str], example(["https://pomoc.example.pl/ksef/token"])]
IsoWeek = Annotated[str, example("2026-W48")]
SearchQuery = Annotated[str, example("ksef faktura 401")]
Url = Annotated[str, example("https://pomoc.example.pl/ksef/token")]
LinkError = Annotated[str, example("strona nie istnieje (404)")]
Count = Annotated[int, example(12)]
TicketId = Annotated[int, example(42)]

DESCRIPTION = meta_of(Description)
SOLUTION = meta_of(Solution)
LICENCE = meta_of(Licence)
PRODUCT = meta_of(Product)
VERSION = meta_of(Version)
MODULE = meta_of(Module)
TICKET_TYPE = meta_of(TicketType)
KEYWORDS = meta_of(Keywords)
KB_LINKS = meta_of(KbLinks)
