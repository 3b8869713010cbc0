"""The Litestar application: routes, errors, OpenAPI, in-process workers. An entrypoint: it
registers every route module (API and UI) by name."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from litestar import Litestar, Router
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from api.bootstrap import build_container, make_outbox_worker, scheduled_jobs
from api.container import Container
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
from api.routes import assignments as assignment_routes
from api.routes import curation as curation_routes
from api.routes import devops as devops_routes
from api.routes import intake as intake_routes
from api.routes import keywords as keyword_routes
from api.routes import search as search_routes
from api.routes.admin import AdminController
from api.routes.directory import DirectoryController
from api.routes.notices import ROUTES as NOTICE_ROUTES
from api.routes.planner import ROUTES as PLANNER_ROUTES
from api.routes.projects import ROUTES as PROJECT_ROUTES
from api.routes.protocol import ROUTES as PROTOCOL_ROUTES
from api.routes.system import health, metrics, ready
from api.routes.tasks import ROUTES as TASK_ROUTES
from api.routes.telephony import ROUTES as TELEPHONY_ROUTES
from api.routes.tickets import TicketController, download_attachment, register_phone_event
from api.routes.timecost import ROUTES as TIMECOST_ROUTES
from api.scheduler import run_scheduler
from api.swagger import swagger_assets, swagger_plugin
from intake.worker import run_intake_worker
from tickets.core.settings import Settings, load_settings
from ui import views as ui_views
from ui import web as ui_web

log = logging.getLogger("sedno")


def _exception_handlers() -> dict[type[Exception] | int, Any]:
    """The API's problem+json handlers; an unknown URL a browser asks for gets the console's
    404 page in its language instead."""
    return {**EXCEPTION_HANDLERS, NotFoundException: ui_web.unknown_url_page}


class Workers:
    """Background workers run inside `sedno serve` (the embedded default)."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        outbox = make_outbox_worker(self.container)
        self._spawn(
            "outbox", lambda: outbox.run_forever(self.stop, self.container.settings.outbox_poll_s)
        )
        self._spawn("scheduler", lambda: run_scheduler(self.container, self.stop, scheduled_jobs()))
        if self.container.settings.imap is not None:
            c = self.container
            self._spawn("intake", lambda: run_intake_worker(c.settings, c.db, self.stop, c.intake))

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
            swagger_assets(),
            Router(
                path="/",
                route_handlers=[
                    TicketController,
                    DirectoryController,
                    AdminController,
                    download_attachment,
                    register_phone_event,
                    *PLANNER_ROUTES,
                    *search_routes.ROUTES,
                    *intake_routes.ROUTES,
                    *devops_routes.ROUTES,
                    *curation_routes.ROUTES,
                    *keyword_routes.ROUTES,
                    *ui_views.ROUTES,
                    *TELEPHONY_ROUTES,
                    *TASK_ROUTES,
                    *TIMECOST_ROUTES,
                    *PROTOCOL_ROUTES,
                    *NOTICE_ROUTES,
                    *assignment_routes.ROUTES,
                    *PROJECT_ROUTES,
                ],
                security=[{"bearer": []}],
            ),
        ],
        dependencies=api_dependencies,
        exception_handlers=_exception_handlers(),
        middleware=[
            RequestIdMiddleware(),
            ClientAddressMiddleware(settings.trusted_proxies),
            BodyGuardMiddleware(settings.request_max_bytes),
            AllowHeaderMiddleware(),
            SessionCookieCsrfMiddleware(ui_views.csrf_protection),
        ],
        on_startup=[on_startup, ui_web.on_startup],
        on_shutdown=[on_shutdown],
        request_max_body_size=settings.request_max_bytes,
        template_config=ui_web.template_config(),
        openapi_config=OpenAPIConfig(
            title="Sedno",
            version="0.1.0",
            path="/schema",
            render_plugins=[swagger_plugin()],
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
