"""The keyword dictionary: preferred forms, synonyms, merges, suggestions for a ticket.

A keyword's `name` is its preferred form (`KSeF`); its synonyms (`Krajowy System e-Faktur`)
mean the same. Every form is unique across the dictionary once folded, so a word names at most
one keyword. Synonyms reach the search engines as index settings (`search.sync` reads
`synonym_map`); a change enqueues `search.settings` in the same transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType
from sqlalchemy import select
from sqlalchemy.orm import Session

from search.analysis import folded_text, words
from tickets.core.orm import KeywordRow, TicketRow
from tickets.core.outbox import enqueue
from tickets.core.schemas import Actor, TicketPatch
from tickets.core.services import get_ticket, update_ticket
from tickets.domain.errors import Conflict, NotFound, ValidationFailed

SETTINGS_JOB = "search.settings"
Word = Annotated[str, Meta(min_length=1, max_length=100)]


class KeywordIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new keyword: its preferred form and synonyms."""

    name: Word
    synonyms: Annotated[list[Word], Meta(max_length=50)] = msgspec.field(default_factory=list)


class KeywordPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new preferred form and/or the whole new list of synonyms."""

    name: Word | UnsetType = UNSET
    synonyms: Annotated[list[Word], Meta(max_length=50)] | UnsetType = UNSET


class KeywordView(msgspec.Struct):
    id: int
    name: str
    synonyms: list[str]
    created_at: str


class Suggestion(msgspec.Struct):
    """A keyword proposed for a ticket; `source` is `text` or `similar` (tickets it came from)."""

    keyword: str
    source: str
    score: float
    from_tickets: list[int]


def keyword_view(row: KeywordRow) -> KeywordView:
    return KeywordView(row.id, row.name, list(row.synonyms or []), row.created_at.isoformat())


def _clean(word: str) -> str:
    return " ".join(word.split())


def _forms(row: KeywordRow) -> list[str]:
    return [row.name, *(row.synonyms or [])]


def _check_forms(session: Session, forms: Sequence[str], own_id: int | None) -> None:
    """Every form must fold to something, and to nothing another keyword already uses."""
    folded = [folded_text(f) for f in forms]
    for form, key in zip(forms, folded, strict=True):
        if not key:
            raise ValidationFailed("name", f"{form!r} has no letters or digits")
    if len(set(folded)) != len(folded):
        raise ValidationFailed("synonyms", "a form is repeated")
    taken = form_index(session)
    for form, key in zip(forms, folded, strict=True):
        owner = taken.get(key)
        if owner is not None and owner.id != own_id:
            raise Conflict(
                f"{form!r} is already a form of keyword {owner.name!r}", "duplicate-keyword"
            )


def form_index(session: Session) -> dict[str, KeywordRow]:
    """Folded form (name or synonym) → its keyword."""
    index: dict[str, KeywordRow] = {}
    for row in session.scalars(select(KeywordRow)):
        for form in _forms(row):
            index[folded_text(form)] = row
    return index


def list_keywords(session: Session, q: str | None = None) -> list[KeywordRow]:
    rows = list(session.scalars(select(KeywordRow).order_by(KeywordRow.folded)))
    if q:
        needle = folded_text(q)
        rows = [r for r in rows if any(needle in folded_text(f) for f in _forms(r))]
    return rows


def get_keyword(session: Session, keyword_id: int) -> KeywordRow:
    row = session.get(KeywordRow, keyword_id)
    if row is None:
        raise NotFound("keyword", keyword_id)
    return row


def create_keyword(session: Session, actor: Actor, data: KeywordIn) -> KeywordRow:
    name = _clean(data.name)
    synonyms = [_clean(s) for s in data.synonyms]
    _check_forms(session, [name, *synonyms], None)
    row = KeywordRow(
        name=name, folded=folded_text(name), synonyms=synonyms, created_by_id=actor.user_id
    )
    session.add(row)
    session.flush()
    if synonyms:
        enqueue(session, SETTINGS_JOB, {"reason": f"keyword {row.id} created"})
    return row


def update_keyword(
    session: Session, actor: Actor, keyword_id: int, data: KeywordPatch
) -> KeywordRow:
    """Change the preferred form or the synonyms; tickets keep the words they carry."""
    row = get_keyword(session, keyword_id)
    name = _clean(data.name) if not isinstance(data.name, UnsetType) else row.name
    synonyms = (
        [_clean(s) for s in data.synonyms]
        if not isinstance(data.synonyms, UnsetType)
        else list(row.synonyms or [])
    )
    # A renamed keyword keeps its old preferred form as a synonym, so searches still find it.
    if folded_text(name) != row.folded and folded_text(row.name) not in map(folded_text, synonyms):
        synonyms.append(row.name)
    _check_forms(session, [name, *synonyms], row.id)
    before = sorted(map(folded_text, _forms(row)))
    row.name, row.folded, row.synonyms = name, folded_text(name), synonyms
    session.flush()
    if sorted(map(folded_text, _forms(row))) != before:
        enqueue(session, SETTINGS_JOB, {"reason": f"keyword {row.id} changed"})
    return row


def merge_keywords(
    session: Session, actor: Actor, source_id: int, target_id: int
) -> tuple[KeywordRow, int]:
    """Fold keyword `source` into `target`: its forms become synonyms of `target`, and every
    ticket tagged with one of them is re-tagged with `target`'s preferred form (recorded in
    its history and re-indexed). Returns the target and how many tickets were re-tagged."""
    if source_id == target_id:
        raise ValidationFailed("into_id", "a keyword cannot be merged into itself")
    source = get_keyword(session, source_id)
    target = get_keyword(session, target_id)
    old_forms = {folded_text(f) for f in _forms(source)}
    synonyms = list(target.synonyms or [])
    for form in _forms(source):
        if folded_text(form) not in {folded_text(s) for s in [target.name, *synonyms]}:
            synonyms.append(form)
    retagged = retag_tickets(session, actor, old_forms, target.name)
    session.delete(source)
    session.flush()
    target.synonyms = synonyms
    session.flush()
    enqueue(session, SETTINGS_JOB, {"reason": f"keyword {source_id} merged into {target_id}"})
    return target, retagged


def retag_tickets(session: Session, actor: Actor, old_forms: set[str], new: str) -> int:
    """Replace any of `old_forms` (folded) on tickets by `new`, through `update_ticket`.

    Keywords are a JSON list on the ticket, which neither database can search portably, so
    this reads the (id, keywords) pairs of all tagged tickets: a rare curator action."""
    query = select(TicketRow.id, TicketRow.keywords).execution_options(yield_per=2000)
    todo: list[tuple[int, list[str]]] = []
    for ticket_id, current in session.execute(query):
        current = list(current or [])
        if not any(folded_text(w) in old_forms for w in current):
            continue
        replaced: list[str] = []
        for w in current:
            w = new if folded_text(w) in old_forms else w
            if folded_text(w) not in {folded_text(r) for r in replaced}:
                replaced.append(w)
        todo.append((ticket_id, replaced))
    for ticket_id, replaced in todo:
        update_ticket(session, actor, ticket_id, TicketPatch(keywords=replaced))
    return len(todo)


def canonical_keywords(session: Session, entered: Iterable[str]) -> list[str]:
    """Entered words with any dictionary form replaced by its keyword's preferred form."""
    index = form_index(session)
    out: list[str] = []
    for word in entered:
        row = index.get(folded_text(word))
        word = row.name if row is not None else _clean(word)
        if word and folded_text(word) not in {folded_text(w) for w in out}:
            out.append(word)
    return out


def dictionary_keywords(
    session: Session, entered: Iterable[str], carried: Iterable[str] = ()
) -> list[str]:
    """A person's keywords as the dictionary's preferred forms; a word that is no form of the
    dictionary, and not one the ticket already `carried` (an import's, a merged ticket's),
    is refused naming `keywords`. A desk without a dictionary takes any word (as the module
    dictionary does); imports and intake keep their words through `canonical_keywords`.
    The ticket core applies it to what a person enters (`TicketHooks.keywords`)."""
    index = form_index(session)
    entered = list(entered)
    if index:
        allowed = set(index) | {folded_text(w) for w in carried}
        unknown = [_clean(w) for w in entered if _clean(w) and folded_text(w) not in allowed]
        if unknown:
            raise ValidationFailed(
                "keywords", f"not in the keyword dictionary: {', '.join(map(repr, unknown))}"
            )
    return canonical_keywords(session, entered)


def synonym_map(session: Session) -> dict[str, list[str]]:
    """Folded form → the other forms of its keyword, every direction (one-way engine rules)."""
    out: dict[str, list[str]] = {}
    for row in session.scalars(select(KeywordRow).order_by(KeywordRow.id)):
        forms = list(dict.fromkeys(f for f in map(folded_text, _forms(row)) if f))
        if len(forms) < 2:
            continue
        for form in forms:
            out[form] = [f for f in forms if f != form]
    return out


def _contains_phrase(text_words: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    return n > 0 and any(
        list(text_words[i : i + n]) == list(phrase) for i in range(len(text_words) - n + 1)
    )


def keywords_in_text(session: Session, text: str) -> list[str]:
    """Preferred forms of the dictionary keywords whose name or a synonym occurs in `text`."""
    text_words = words(text)
    found: list[str] = []
    for row in session.scalars(select(KeywordRow).order_by(KeywordRow.id)):
        if any(_contains_phrase(text_words, folded_text(f).split()) for f in _forms(row)):
            found.append(row.name)
    return found


def suggest_keywords(
    session: Session, engine: Any, ticket_id: int, *, limit: int = 10
) -> list[Suggestion]:
    """Keywords for a ticket: dictionary words found in its text, then the keywords of the
    most similar resolved tickets (weighted by rank), minus those it already carries."""
    from search.ports import SimilarRequest

    ticket = get_ticket(session, ticket_id)
    have = {folded_text(k) for k in ticket.keywords or []}
    text = f"{ticket.title}\n{ticket.description}\n{ticket.solution}"
    out: list[Suggestion] = []
    for name in keywords_in_text(session, text):
        if folded_text(name) not in have:
            have.add(folded_text(name))
            out.append(Suggestion(name, "text", 1.0, []))
    response = engine.similar(
        SimilarRequest(
            title=ticket.title, text=f"{ticket.description}\n{ticket.solution}", limit=10,
            exclude_ids=[ticket.id],
        )
    )  # fmt: skip
    scores: Counter[str] = Counter()
    sources: dict[str, list[int]] = {}
    shown: dict[str, str] = {}
    for rank, hit in enumerate(response.hits):
        for word in canonical_keywords(session, hit.keywords):
            key = folded_text(word)
            if key in have:
                continue
            scores[key] += 1.0 / (rank + 1)  # type: ignore[assignment]
            sources.setdefault(key, []).append(hit.id)
            shown.setdefault(key, word)
    for key, score in scores.most_common():
        out.append(Suggestion(shown[key], "similar", round(score, 3), sources[key]))
    return out[:limit]
