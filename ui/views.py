"""The consultant's console: server-rendered pages mounted beside the JSON API."""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, Receive, Scope, Send

from api.deps import SESSION_COOKIE_OPT
from ui import (
    admin_pages,
    auth_pages,
    call_pages,
    queue_pages,
    search_pages,
    stopword_pages,
    telephony_pages,
    ticket_pages,
)
from ui.assignment_pages import PAGES as ASSIGNMENT_PAGES
from ui.console_pages import PAGES as CONSOLE_PAGES
from ui.curation_views import curation_week_page
from ui.curator_pages import PAGES as CURATOR_PAGES
from ui.notice_pages import PAGES as NOTICE_PAGES
from ui.planner_pages import PAGES as PLANNER_PAGES
from ui.task_pages import PAGES as TASK_PAGES
from ui.timecost_pages import PAGES as TIMECOST_PAGES
from ui.web import (
    STATIC_DIR,
    UI_EXCEPTION_HANDLERS,
    SecurityHeadersMiddleware,
    csrf_middleware,
    csrf_secret,
)


def csrf_protection(app: ASGIApp) -> ASGIApp:
    """CSRF on the UI's form posts, signed with the installation's secret (read at first use)."""
    protected: dict[str, ASGIApp] = {}

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        container = scope["litestar_app"].state.container
        secret = csrf_secret(container)
        if secret not in protected:
            protected.clear()
            middleware = csrf_middleware(secret)
            protected[secret] = middleware(app)
        await protected[secret](scope, receive, send)

    return guarded


PAGES: list[Any] = [
    auth_pages.login_form,
    auth_pages.login_submit,
    auth_pages.logout,
    auth_pages.switch_language,
    search_pages.search_page,
    search_pages.search_fragment,
    search_pages.similar_fragment,
    call_pages.call_form,
    call_pages.call_register,
    call_pages.call_console,
    call_pages.call_close,
    call_pages.clients_fragment,
    ticket_pages.ticket_page,
    ticket_pages.ticket_by_number,
    ticket_pages.ticket_transition,
    ticket_pages.ticket_timer,
    ticket_pages.ticket_edit,
    ticket_pages.ticket_verify,
    ticket_pages.ticket_handoff,
    ticket_pages.ticket_reply,
    ticket_pages.ticket_note,
    ticket_pages.ticket_upload,
    queue_pages.queue_page,
    queue_pages.queue_accept,
    queue_pages.queue_drop,
    queue_pages.queue_drop_spam,
    queue_pages.queue_restore,
    admin_pages.definitions_page,
    admin_pages.definition_save,
    *PLANNER_PAGES,
    *CONSOLE_PAGES,
    *ASSIGNMENT_PAGES,
    *telephony_pages.PAGES,
    admin_pages.devops_page,
    *stopword_pages.PAGES,
    *TASK_PAGES,
    *TIMECOST_PAGES,
    *NOTICE_PAGES,
]

PAGES.extend([curation_week_page, *CURATOR_PAGES])

ROUTES: list[Any] = [
    Router(
        path="/",
        route_handlers=[
            *PAGES,
            create_static_files_router(
                path="/static", directories=[STATIC_DIR], include_in_schema=False
            ),
        ],
        middleware=[SecurityHeadersMiddleware(), csrf_protection],
        exception_handlers=UI_EXCEPTION_HANDLERS,
        include_in_schema=False,
        security=[],
        opt={SESSION_COOKIE_OPT: True},
    )
]
