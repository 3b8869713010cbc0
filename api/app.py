"""The Litestar application: routes, errors, OpenAPI, in-process workers."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import threading
from collections.abc import Callable
from typing import Any

from litestar import Litestar, Router
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from api.bootstrap import Container, build_container, make_outbox_worker
from api.deps import provide_actor, provide_container
from api.errors import EXCEPTION_HANDLERS, document_problem_responses
from api.middleware import (
    AllowHeaderMiddleware,
    BodyGuardMiddleware,
    ClientAddressMiddleware,
    RequestIdMiddleware,
    SessionCookieCsrfMiddleware,
)
from api.openapi import make_truthful
from api.routes.admin import AdminController
from api.routes.directory import DirectoryController
from api.routes.planner import ROUTES as PLANNER_ROUTES
from api.routes.system import health, metrics, ready
from api.routes.telephony import ROUTES as TELEPHONY_ROUTES
from api.routes.tickets import TicketController, download_attachment, register_phone_event
from api.settings import Settings, load_settings
from tickets.notices.routes import ROUTES as NOTICE_ROUTES
from tickets.projects.routes import ROUTES as PROJECT_ROUTES
from tickets.protocol.routes import ROUTES as PROTOCOL_ROUTES
from tickets.protocol.routes import warm_up_printing

log = logging.getLogger("sedno")

# Route modules the other capabilities contribute; each exposes `ROUTES` (handlers/controllers).
OPTIONAL_ROUTE_MODULES = (
    "api.routes.search",
    "api.routes.intake",
    "api.routes.devops",
    "api.routes.curation",
    "api.routes.keywords",
    "ui.views",
)


def _ui_template_config() -> Any:
    """The UI's Jinja2 templates, when the UI is installed (`ui.web`)."""
    if importlib.util.find_spec("ui.web") is None:
        return None
    from ui.web import template_config

    return template_config()


def _ui_startup() -> list[Any]:
    """The UI's start-up hook (warms slow imports), when the UI is installed."""
    if importlib.util.find_spec("ui.web") is None:
        return []
    from ui.web import on_startup as ui_on_startup

    return [ui_on_startup]


def _session_cookie_csrf() -> list[Any]:
    """The UI's CSRF check for JSON API calls made with its session cookie, when installed."""
    if importlib.util.find_spec("ui.views") is None:
        return []
    from ui.views import csrf_protection

    return [SessionCookieCsrfMiddleware(csrf_protection)]


def _optional_routes() -> list[Any]:
    routes: list[Any] = []
    for name in OPTIONAL_ROUTE_MODULES:
        if importlib.util.find_spec(name) is not None:
            routes.extend(importlib.import_module(name).ROUTES)
    return routes


class Workers:
    """Background workers run inside `sedno serve` (the embedded default)."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        from api.scheduler import run_scheduler

        outbox = make_outbox_worker(self.container)
        self._spawn(
            "outbox", lambda: outbox.run_forever(self.stop, self.container.settings.outbox_poll_s)
        )
        self._spawn("scheduler", lambda: run_scheduler(self.container, self.stop))
        if self.container.settings.imap is not None and importlib.util.find_spec("intake.worker"):
            from intake.worker import run_intake_worker

            self._spawn(
                "intake",
                lambda: run_intake_worker(self.container.settings, self.container.db, self.stop),
            )

    def _spawn(self, name: str, target: Any) -> None:
        thread = threading.Thread(target=target, name=f"sedno-{name}", daemon=True)
        thread.start()
        self.threads.append(thread)

    def shutdown(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)


def create_app(
    settings: Settings | None = None,
    *,
    container: Container | None = None,
    run_workers: bool | None = None,
) -> Litestar:
    settings = settings or (container.settings if container else load_settings())
    container = container or build_container(settings)
    workers = Workers(container)
    start_workers = settings.run_workers if run_workers is None else run_workers

    def on_startup(app: Litestar) -> None:
        app.state.container = container
        make_truthful(app, app.openapi_schema)
        document_problem_responses(app.openapi_schema)
        if start_workers:
            workers.start()

    def on_shutdown(app: Litestar) -> None:
        workers.shutdown()

    api_dependencies: dict[str, Provide | Callable[..., Any]] = {
        "container": Provide(provide_container, sync_to_thread=False),
        # The token check may read the database (a token not seen for a while): in a worker
        # thread, never on the event loop, where a lookup stalls every request of the replica
        # (and, with the database down, /health too).
        "actor": Provide(provide_actor, sync_to_thread=True),
    }
    app_config = AppConfig(
        route_handlers=[
            health,
            ready,
            metrics,
            Router(
                path="/",
                route_handlers=[
                    TicketController,
                    DirectoryController,
                    AdminController,
                    download_attachment,
                    register_phone_event,
                    *PLANNER_ROUTES,
                    *_optional_routes(),
                    *TELEPHONY_ROUTES,
                    *PROTOCOL_ROUTES,
                    *NOTICE_ROUTES,
                    *PROJECT_ROUTES,
                ],
                security=[{"bearer": []}],
            ),
        ],
        dependencies=api_dependencies,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            RequestIdMiddleware(),
            ClientAddressMiddleware(settings.trusted_proxies),
            BodyGuardMiddleware(settings.request_max_bytes),
            AllowHeaderMiddleware(),
            *_session_cookie_csrf(),
        ],
        on_startup=[on_startup, *_ui_startup(), warm_up_printing],
        on_shutdown=[on_shutdown],
        request_max_body_size=settings.request_max_bytes,
        template_config=_ui_template_config(),
        openapi_config=OpenAPIConfig(
            title="Sedno",
            version="0.1.0",
            path="/schema",
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}
            ),
        ),
        debug=False,
    )
    app = Litestar.from_config(app_config)
    app.state.container = container
    app.state.workers = workers
    return app
