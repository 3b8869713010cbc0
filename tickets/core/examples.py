"""Realistic values for the OpenAPI document: field types that carry `Meta(examples=…)`, so
Swagger UI shows a desk's data (`ZS/2026/42`, `enova365`, `EN-100203`), not random strings.
They change nothing at run time: the same `str`, `int` or `list`, with an example attached."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

TICKET_NUMBER = Meta(examples=["ZS/2026/42"])
TicketNumber = Annotated[str, TICKET_NUMBER]
TICKET_TITLE = Meta(examples=["Faktura nie wysyła się do KSeF: błąd 401"])
TicketTitle = Annotated[str, TICKET_TITLE]
DESCRIPTION = Meta(
    examples=["Po aktualizacji do 2604.1 wysyłka faktury do KSeF kończy się błędem 401."]
)
Description = Annotated[str, DESCRIPTION]
SOLUTION = Meta(examples=["Odnowiono token KSeF w Konfiguracji → Urząd skarbowy; wysyłka działa."])
Solution = Annotated[str, SOLUTION]
PRODUCT = Meta(examples=["enova365"])
Product = Annotated[str, PRODUCT]
MODULE = Meta(examples=["Handel"])
Module = Annotated[str, MODULE]
VERSION = Meta(examples=["2604.1"])
Version = Annotated[str, VERSION]
TICKET_TYPE = Meta(examples=["bug"])
TicketType = Annotated[str, TICKET_TYPE]
STATE = Meta(examples=["in_progress"])
State = Annotated[str, STATE]
LICENCE = Meta(examples=["EN-100203"])
Licence = Annotated[str, LICENCE]
CLIENT_NAME = Meta(examples=["Piekarnia Kowalski sp. z o.o."])
ClientName = Annotated[str, CLIENT_NAME]
KEYWORDS = Meta(examples=[["ksef", "faktura", "token"]])
Keywords = Annotated[list[str], KEYWORDS]
KB_LINKS = Meta(examples=[["https://pomoc.example.pl/ksef/token"]])
KbLinks = Annotated[list[str], KB_LINKS]
ISO_WEEK = Meta(examples=["2026-W48"])
IsoWeek = Annotated[str, ISO_WEEK]
SEARCH_QUERY = Meta(examples=["ksef faktura 401"])
SearchQuery = Annotated[str, SEARCH_QUERY]
URL = Meta(examples=["https://pomoc.example.pl/ksef/token"])
Url = Annotated[str, URL]
LINK_ERROR = Meta(examples=["strona nie istnieje (404)"])
LinkError = Annotated[str, LINK_ERROR]
COUNT = Meta(examples=[12])
Count = Annotated[int, COUNT]
TICKET_ID = Meta(examples=[42])
TicketId = Annotated[int, TICKET_ID]
