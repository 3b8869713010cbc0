"""The search stop words an administrator edits in the console (issue 12 part 4); saved
through the service the `PUT /api/search/stop-words` route uses."""

from __future__ import annotations

import re
from typing import Any, Final

from litestar import Request, Response, get, post
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from api.deps import ActorDep, ContainerDep
from search.ports import DEFAULT_STOP_WORDS
from search.stopwords import MAX_STOP_WORD_CHARS, MAX_STOP_WORDS, replace_stop_words, stop_words
from tickets.core.schemas import Actor
from ui import i18n
from ui.web import language, page, require_role_page

PAGE_PATH: Final = "/admin/stop-words"
_SEPARATORS: Final = re.compile(r"[\s,;]+")


def entered_words(text: str) -> list[str]:
    """The words typed one a line or separated by commas (a stop word is a single token)."""
    return [w for w in _SEPARATORS.split(text) if w]


def too_long_or_too_many(words: list[str]) -> tuple[str, dict[str, Any]] | None:
    """The catalogue key and values of what is wrong with the list, or None."""
    if len(words) > MAX_STOP_WORDS:
        return "stopwords.too_many", {"n": MAX_STOP_WORDS}
    long = [w for w in words if len(w) > MAX_STOP_WORD_CHARS]
    if long:
        return "stopwords.too_long", {"n": MAX_STOP_WORD_CHARS, "word": long[0][:60]}
    return None


def _editor(
    request: Request[Any, Any, Any],
    actor: Actor,
    words: list[str],
    *,
    text: str | None = None,
    problem: str | None = None,
    saved: str | None = None,
) -> Template:
    return page(
        request,
        "stop_words.html",
        actor=actor,
        status_code=422 if problem else 200,
        words=words,
        text="\n".join(words) if text is None else text,
        is_default=set(words) == set(DEFAULT_STOP_WORDS),
        problem=problem,
        saved=saved,
    )


@get(PAGE_PATH, sync_to_thread=True)
def stop_words_page(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    saved: FromQuery[str | None] = None,
) -> Template:
    """The current list, whether it is the default one, and the form to change it (admin)."""
    if (refused := require_role_page(request, actor, "admin", "stopwords.forbidden")) is not None:
        return refused
    with container.db.read() as s:
        words = stop_words(s)
    return _editor(request, actor, words, saved=saved)


@post(PAGE_PATH, sync_to_thread=True, status_code=303)
def stop_words_save(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    data: URLEncodedBody[dict[str, str]],
) -> Response[Any]:
    """Replace the list with the words typed; the index picks it up through the outbox."""
    if (refused := require_role_page(request, actor, "admin", "stopwords.forbidden")) is not None:
        return refused
    text = str(data.get("words", ""))
    words = entered_words(text)
    if (wrong := too_long_or_too_many(words)) is not None:
        key, values = wrong
        t = i18n.translator(language(request))
        with container.db.read() as s:
            current = stop_words(s)
        problem = t(key).format(**values)
        return _editor(request, actor, current, text=text, problem=problem)
    with container.db.transaction() as s:
        replace_stop_words(s, words)
    return Redirect(f"{PAGE_PATH}?saved=list", status_code=303)


@post(f"{PAGE_PATH}/default", sync_to_thread=True, status_code=303)
def stop_words_restore_default(
    request: Request[Any, Any, Any], container: ContainerDep, actor: ActorDep
) -> Response[Any]:
    """Back to the default Polish list (the service's empty list)."""
    if (refused := require_role_page(request, actor, "admin", "stopwords.forbidden")) is not None:
        return refused
    with container.db.transaction() as s:
        replace_stop_words(s, [])
    return Redirect(f"{PAGE_PATH}?saved=default", status_code=303)


PAGES: list[Any] = [stop_words_page, stop_words_save, stop_words_restore_default]
