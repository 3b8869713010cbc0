"""Answering an assignment from the UI: the page a signed link of the assignment mail opens
(no login; opening it only asks — the answer is recorded by the page's button, so a mail
scanner that follows links in advance answers nothing; "Odrzucam" takes an optional
reason), and the two buttons of the ticket page for the assignee."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from api.deps import ActorDep, ContainerDep
from tickets.assignments import links
from tickets.assignments.answers import (
    AssignmentAnswered,
    AssignmentSuperseded,
    answer_by_link,
    answer_current,
    assignment_and_ticket,
    still_to_answer,
)
from tickets.core.services import utcnow
from tickets.domain.errors import ValidationFailed
from ui.web import page


def _refused(request: Request[Any, Any, Any], exc: links.LinkRefused) -> Template:
    status = 410 if exc.expired else 403
    problem = "expired" if exc.expired else "invalid"
    return page(request, "assignment_answer.html", status_code=status, problem=problem)


def _link_query(a: str, d: str, e: str, s: str) -> dict[str, str]:
    return {"a": a, "d": d, "e": e, "s": s}


def _answer_page(
    request: Request[Any, Any, Any], container: ContainerDep, link: links.AnswerLink,
    query: dict[str, str], *, record: bool, reason: str = "",
) -> Template:  # fmt: skip
    """Record the link's answer (`record`) or only check it may be given, then show the page:
    the result, the reason form of a pending rejection, or why nothing changed (409)."""
    with container.db.transaction() as session:
        row, ticket = assignment_and_ticket(session, link.assignment_id)
        problem = ""
        try:
            if record:
                answer_by_link(session, row.id, link.answer, utcnow(), reason=reason)
            else:
                still_to_answer(session, row, ticket, link.answer)
        except AssignmentSuperseded:
            problem = "superseded"
        except AssignmentAnswered:
            problem = "answered"
        return page(request, "assignment_answer.html", status_code=409 if problem else 200,
                    problem=problem, state=row.state, answer=link.answer, number=ticket.number,
                    title=ticket.title, ticket_id=ticket.id, query=query)  # fmt: skip


@get(links.ANSWER_PATH, sync_to_thread=True)
def answer_link_page(
    request: Request[Any, Any, Any], container: ContainerDep, a: FromQuery[str] = "",
    d: FromQuery[str] = "", e: FromQuery[str] = "", s: FromQuery[str] = "",
) -> Template:  # fmt: skip
    """A link of the assignment mail: the page asks to confirm (or to reject, with a reason)
    and records nothing itself. A tampered link is 403, an old one 410."""
    try:
        link = links.read_link(container.settings.secret_key, a, d, e, s, utcnow())
    except links.LinkRefused as exc:
        return _refused(request, exc)
    return _answer_page(request, container, link, _link_query(a, d, e, s), record=False)


@post(links.ANSWER_PATH, sync_to_thread=True, status_code=303)
def answer_link_submit(
    request: Request[Any, Any, Any], container: ContainerDep,
    data: URLEncodedBody[dict[str, str]],
) -> Response[Any]:  # fmt: skip
    """The answer sent from the link's page (a rejection with its reason; sending twice
    changes nothing); then back to the page, which shows the result."""
    a, d, e, s = (str(data.get(k) or "") for k in ("a", "d", "e", "s"))
    try:
        link = links.read_link(container.settings.secret_key, a, d, e, s, utcnow())
    except links.LinkRefused as exc:
        return _refused(request, exc)
    shown = _answer_page(request, container, link, _link_query(a, d, e, s), record=True,
                         reason=str(data.get("reason") or ""))  # fmt: skip
    if shown.status_code != 200:
        return shown
    return Redirect(f"{links.ANSWER_PATH}?a={a}&d={d}&e={e}&s={s}", status_code=303)


@post("/tickets/{ticket_id:int}/assignment/answer", sync_to_thread=True, status_code=303)
def ticket_assignment_answer(
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Response[Any]:
    """The assignee's buttons on the ticket page."""
    answer = str(data.get("answer") or "")
    if answer not in links.ANSWERS:
        raise ValidationFailed("answer", "confirmed or rejected")
    with container.db.transaction() as s:
        answer_current(s, actor, ticket_id, answer, str(data.get("reason") or ""), utcnow())  # type: ignore[arg-type]
    return Redirect(f"/tickets/{ticket_id}", status_code=303)


PAGES: list[Any] = [answer_link_page, answer_link_submit, ticket_assignment_answer]
