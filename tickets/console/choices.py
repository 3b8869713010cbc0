"""What the call form and the ticket page offer in their fields: the dictionaries' values."""

from __future__ import annotations

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core import definitions as defs
from tickets.core.orm import KeywordRow
from tickets.handoff.orm import DevOpsModuleRow


class Choice(msgspec.Struct, frozen=True):
    value: str
    label_pl: str
    label_en: str

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_pl


class FieldChoices(msgspec.Struct):
    products: list[Choice]
    types: list[Choice]
    priorities: list[Choice]
    modules: list[str]
    """The module dictionary (active entries); empty = any module may be typed."""
    keywords: list[str]
    """Every form of the keyword dictionary (preferred forms and synonyms), for suggestions
    as one types and for refusing a word outside it before the form is sent."""


def keyword_forms(row: KeywordRow) -> list[str]:
    return [row.name, *(row.synonyms or [])]


def _dictionary(session: Session, kind: str) -> list[Choice]:
    return [Choice(e.value, e.label_pl, e.label_en) for e in defs.dictionary(session, kind)]


def field_choices(session: Session) -> FieldChoices:
    return FieldChoices(
        products=_dictionary(session, "product"),
        types=_dictionary(session, "type"),
        priorities=_dictionary(session, "priority"),
        modules=list(
            session.scalars(
                select(DevOpsModuleRow.module)
                .where(DevOpsModuleRow.active)
                .order_by(DevOpsModuleRow.module)
            )
        ),
        keywords=sorted(
            {form for row in session.scalars(select(KeywordRow)) for form in keyword_forms(row)},
            key=str.casefold,
        ),
    )
