"""The composition root: settings in, wired services out."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.settings import Settings
from tickets.adapters.db import Database
from tickets.adapters.outbox import OutboxWorker
from tickets.attachments import BlobStore
from tickets.auth import ensure_bootstrap_admin
from tickets.definitions import seed_defaults
from tickets.notices import dispatch as _notice_events  # noqa: F401  (its flush listener)
from tickets.notices.rules import seed_rules
from tickets.planner.mail import MailIdentity
from tickets.planner.mail import register as register_planner_mail
from tickets.planner.settings import PlannerSettings, load_planner_settings
from tickets.telephony.statuses import seed_statuses

log = logging.getLogger("sedno")


@dataclass
class Container:
    """Everything a request or a worker needs, built once per process."""

    settings: Settings
    db: Database
    blobs: BlobStore
    extras: dict[str, Any] = field(default_factory=dict)
    _search: Any = None
    _search_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def search(self) -> Any:
        """The search engine, opened on first use (embedded tantivy or Meilisearch)."""
        with self._search_lock:
            if self._search is None:
                from search import open_engine

                self._search = open_engine(
                    self.settings.data_dir, self.settings.search.url, self.settings.search.key
                )
            return self._search

    def close(self) -> None:
        buffer = self.extras.pop("search_log", None)
        if buffer is not None:
            buffer.close()
        if self._search is not None:
            self._search.close()
            self._search = None
        self.db.dispose()


def build_container(settings: Settings, *, prepare: str = "auto") -> Container:
    """Wire a container. `prepare`: "migrate" (Alembic), "create" (tables from the models,
    tests), "none", or "auto" = migrate the embedded SQLite database, leave PostgreSQL to
    `sedno migrate` (so that replicas never race on migrations)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database.url)
    if prepare == "auto":
        prepare = "migrate" if db.is_sqlite else "none"
    if prepare == "migrate":
        from api.migrate import upgrade

        upgrade(settings.database.url)
    elif prepare == "create":
        db.create_all()
    with db.transaction() as session:
        seed_defaults(session)
        seed_rules(session)
        seed_statuses(session)
        ensure_bootstrap_admin(session, settings.admin_token)
    return Container(settings=settings, db=db, blobs=BlobStore(settings.data_dir / "blobs"))


def outbox_handlers(
    container: Container,
) -> tuple[dict[str, Callable[..., None]], dict[str, Callable[..., None]]]:
    """Single and batch handlers of every outbox kind the parts of Sedno define."""
    single: dict[str, Callable[..., None]] = {}
    batch: dict[str, Callable[..., None]] = {}
    for register in _registrars():
        register(container, single, batch)
    identity = MailIdentity(container.settings.mail_from, container.settings.mail_domain)
    register_planner_mail(single, container.db, planner_settings(container), identity)
    return single, batch


def planner_settings(container: Container) -> PlannerSettings:
    """The planner's settings, read once per process (`SEDNO_TIMEZONE`, `SEDNO_PLANNER_*`)."""
    settings = container.extras.get("planner_settings")
    if not isinstance(settings, PlannerSettings):
        settings = container.extras["planner_settings"] = load_planner_settings()
    return settings


def _registrars() -> list[Callable[[Container, dict[str, Any], dict[str, Any]], None]]:
    import importlib
    import importlib.util

    found = []
    for name in OUTBOX_MODULES:
        if module_exists(name):
            module = importlib.import_module(name)
            found.append(module.register_outbox_handlers)
    return found


OUTBOX_MODULES = (
    "search.sync",
    "intake.handlers",
    "tickets.handoff",
    "tickets.notifications",
    "tickets.curation",
)


def module_exists(name: str) -> bool:
    """Whether an optional part of Sedno is installed (its parent package may be absent too)."""
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def make_outbox_worker(container: Container, worker_id: str | None = None) -> OutboxWorker:
    single, batch = outbox_handlers(container)
    return OutboxWorker(container.db, single, batch, worker_id=worker_id)


def data_path(settings: Settings, *parts: str) -> Path:
    return settings.data_dir.joinpath(*parts)
