"""Requests and views of task work: categories, checklist templates, checklists, progress."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from msgspec import Meta

CategoryName = Annotated[str, Meta(min_length=1, max_length=100)]
TypeCode = Annotated[str, Meta(min_length=1, max_length=32)]


class ChecklistItemIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    text: Annotated[str, Meta(min_length=1, max_length=500)]
    required: bool = False


class ChecklistTemplateIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A category's checklist; a category not yet in the dictionary is added to it."""

    category: CategoryName
    items: Annotated[list[ChecklistItemIn], Meta(max_length=100)]
    types: Annotated[list[TypeCode], Meta(max_length=50)] | None = None
    """The ticket types the category belongs to (a new category: empty = any type); omitted
    on an existing category: left as it is."""


class ChecklistTemplateItemView(msgspec.Struct):
    text: str
    required: bool


class ChecklistTemplateView(msgspec.Struct):
    category: str
    types: list[str]
    items: list[ChecklistTemplateItemView]


class ChecklistTemplateList(msgspec.Struct):
    items: list[ChecklistTemplateView]


class CategoryIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: CategoryName
    types: Annotated[list[TypeCode], Meta(max_length=50)] = msgspec.field(default_factory=list)


class CategoryView(msgspec.Struct):
    id: int
    name: str
    types: list[str]
    has_checklist: bool


class CategoryList(msgspec.Struct):
    items: list[CategoryView]


class ChecklistTick(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    done: bool


class OverdueTask(msgspec.Struct):
    id: int
    number: str
    title: str
    state: str
    lead_consultant_id: int | None
    due_from: dt.datetime | None
    due_to: dt.datetime
    overdue_s: int


class OverdueList(msgspec.Struct):
    items: list[OverdueTask]
