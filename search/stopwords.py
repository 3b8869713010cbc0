"""The stop-word list an administrator edits: kept in the value dictionaries, applied to the
index through the `search.settings` outbox job (as keyword synonyms are)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from search.analysis import fold
from search.ports import DEFAULT_STOP_WORDS
from tickets.core.orm import DictionaryEntryRow
from tickets.core.outbox import enqueue

STOP_WORD_KIND = "search_stop_word"
SETTINGS_JOB = "search.settings"
MAX_STOP_WORD_CHARS = 40
MAX_STOP_WORDS = 2000


def stop_words(session: Session) -> list[str]:
    """The administrator's list, or the default Polish one while none was saved."""
    saved = session.scalars(
        select(DictionaryEntryRow.value)
        .where(DictionaryEntryRow.kind == STOP_WORD_KIND)
        .order_by(DictionaryEntryRow.value)
    ).all()
    return list(saved) or list(DEFAULT_STOP_WORDS)


def replace_stop_words(session: Session, entered: Sequence[str]) -> list[str]:
    """Save a new list (lowercase, each word once; empty: back to the default) and queue the
    index settings job; flushes, the caller commits."""
    cleaned = sorted({w.strip().lower() for w in entered if w.strip()})
    session.execute(delete(DictionaryEntryRow).where(DictionaryEntryRow.kind == STOP_WORD_KIND))
    for word in cleaned:
        session.add(
            DictionaryEntryRow(kind=STOP_WORD_KIND, value=word, label_pl=word, label_en=fold(word))
        )
    enqueue(session, SETTINGS_JOB, {"reason": "stop words changed"})
    session.flush()
    return cleaned or list(DEFAULT_STOP_WORDS)
