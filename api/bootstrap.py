"""The composition root: settings in, wired services out.

Every capability is imported here by name and registered explicitly: its tables (for
`create_all` and Alembic), its outbox handlers, its scheduled jobs and the hooks the ticket
core calls (`install_hooks`). The HTTP routes are
registered the same way in `api/app.py`. Nothing is found by name at run time.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
from sqlalchemy import text

# Tables: every module that declares ORM classes, imported for its side effect on
# `Base.metadata` (create_all, Alembic's env.py and the migration comparison test read it).
import intake.lease
import intake.orm
import tickets.accounts.login_limits
import tickets.core.assignments
import tickets.core.orm
import tickets.core.outbox
import tickets.curation.orm
import tickets.handoff.orm
import tickets.handoff.pause
import tickets.notices.orm
import tickets.planner.orm
import tickets.projects.orm
import tickets.tasks.orm
import tickets.telephony.orm
import tickets.timecost.orm
from api.container import Container
from intake import handlers as intake_handlers
from intake.purge import run_scheduled_purge
from intake.settings import IntakeSettings, load_intake_settings
from search import sync as search_sync
from search.keywords import dictionary_keywords
from tickets.accounts.auth import ensure_bootstrap_admin
from tickets.core.attachments import BlobStore
from tickets.core.db import Base, Database, utcnow
from tickets.core.definitions import seed_defaults
from tickets.core.hooks import TicketHooks, install
from tickets.core.outbox import OutboxWorker
from tickets.core.settings import Settings, environment, load_settings
from tickets.curation import schedule as curation_schedule
from tickets.curation.linkcheck import LinkCheckSettings, load_linkcheck_settings
from tickets.curation.weeks import CurationSettings, load_curation_settings
from tickets.handoff import service as handoff
from tickets.handoff.modules import check_module
from tickets.notices import dispatch as notice_events
from tickets.notices.rules import lead_wants_mail, seed_rules
from tickets.notifications import service as notifications
from tickets.planner.mail import MailIdentity
from tickets.planner.mail import register as register_planner_mail
from tickets.planner.schedules import run_schedules
from tickets.planner.settings import PlannerSettings, load_planner_settings
from tickets.projects.orm import ProjectRow
from tickets.projects.service import project_name
from tickets.protocol.settings import ProtocolSettings, load_protocol_settings
from tickets.tasks.checklists import checklist_view, copy_template
from tickets.tasks.completion import check_completion
from tickets.tasks.fields import check_task_fields
from tickets.telephony.settings import TelephonySettings, load_telephony_settings
from tickets.telephony.statuses import seed_statuses
from tickets.timecost.settings import TimeCostSettings, load_timecost_settings

log = logging.getLogger("sedno")

TABLE_MODULES = (
    tickets.core.orm,
    tickets.core.outbox,
    intake.orm,
    intake.lease,
    tickets.handoff.orm,
    tickets.handoff.pause,
    tickets.tasks.orm,
    tickets.timecost.orm,
    tickets.curation.orm,
    tickets.planner.orm,
    tickets.telephony.orm,
    tickets.core.assignments,
    tickets.accounts.login_limits,
)
"""The modules whose tables make up `Base.metadata`; listed so a reader sees them all."""

SECRET_FIELDS = frozenset({"password", "pat", "webhook_secret", "secret_key", "admin_token"})
"""Field names whose values `sedno config show` prints as `***` (also `key`, `secret`,
`*_secret`, and the password inside a database URL)."""


class Configuration(msgspec.Struct, frozen=True, kw_only=True):
    """Every setting of Sedno, one Struct per capability, read once from one environment."""

    core: Settings
    intake: IntakeSettings
    curation: CurationSettings
    linkcheck: LinkCheckSettings
    planner: PlannerSettings
    telephony: TelephonySettings
    timecost: TimeCostSettings
    protocol: ProtocolSettings


def load_configuration(env: Mapping[str, str] | None = None) -> Configuration:
    """All settings from `env` (default: `.env` overlaid by the process environment).
    A wrong value raises `ValueError` whose message starts with the variable's name."""
    env = environment() if env is None else env
    return Configuration(
        core=load_settings(env),
        intake=load_intake_settings(env),
        curation=load_curation_settings(env),
        linkcheck=load_linkcheck_settings(env),
        planner=load_planner_settings(env),
        telephony=load_telephony_settings(env),
        timecost=load_timecost_settings(env),
        protocol=load_protocol_settings(env),
    )


def redacted(config: Configuration) -> dict[str, Any]:
    """The configuration as JSON-ready data with every secret replaced by `***`."""

    def walk(value: Any, name: str = "") -> Any:
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, name) for v in value]
        secret = name in SECRET_FIELDS or name in ("key", "secret") or name.endswith("_secret")
        if secret and value not in (None, ""):
            return "***"
        if name == "url" and isinstance(value, str) and "@" in value.split("//", 1)[-1]:
            # A database URL may carry a password: postgresql://user:pw@host/db.
            scheme, _, rest = value.partition("//")
            creds, _, host = rest.rpartition("@")
            user = creds.split(":", 1)[0]
            return f"{scheme}//{user}:***@{host}" if ":" in creds else value
        return value

    data = msgspec.to_builtins(config, enc_hook=str)
    assert isinstance(data, dict)
    result = walk(data)
    assert isinstance(result, dict)
    return result


def create_tables(db: Database) -> None:
    """Every table of `TABLE_MODULES` (tests; production migrates with Alembic)."""
    assert TABLE_MODULES
    Base.metadata.create_all(db.write_engine)


def install_hooks() -> None:
    """Hand the ticket core what it asks of the capabilities (`tickets.core.hooks`), and let
    the notices see what each flush writes (`tickets.notices.dispatch.listen`)."""
    notice_events.listen()
    install(
        TicketHooks(
            field_checks=(check_module,),
            references={"project_id": ProjectRow},
            task_field_checks=(check_task_fields,),
            categorised=(copy_template,),
            completion_checks=(check_completion,),
            keywords=dictionary_keywords,
            checklist=checklist_view,
            project_name=project_name,
        )
    )


def build_container(
    settings: Settings, *, prepare: str = "auto", config: Configuration | None = None
) -> Container:
    """Wire a container. `prepare`: "migrate" (Alembic), "create" (tables from the models,
    tests), "none", or "auto" = migrate the embedded SQLite database, leave PostgreSQL to
    `sedno migrate` (so that replicas never race on migrations). The capabilities' settings
    come from `config`, else from the environment and `.env`."""
    install_hooks()
    config = config or load_configuration()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database.url, desk_timezone=settings.timezone)
    if prepare == "auto":
        prepare = "migrate" if db.is_sqlite else "none"
    if prepare == "migrate":
        from api.migrate import upgrade

        upgrade(settings.database.url)
    elif prepare == "create":
        create_tables(db)
    seed_desk(db, settings.admin_token)
    return Container(
        settings=settings,
        db=db,
        blobs=BlobStore(settings.data_dir / "blobs"),
        intake=config.intake,
        curation=config.curation,
        linkcheck=config.linkcheck,
        planner=config.planner,
        telephony=config.telephony,
        timecost=config.timecost,
        protocol=config.protocol,
    )


SEED_LOCK = 0x5ED0_5EED
"""PostgreSQL advisory lock key of `seed_desk` (any constant no other lock of Sedno uses)."""


def seed_desk(db: Database, admin_token: str | None) -> None:
    """Add what a desk starts with and lacks: definitions, dictionaries, notice rules, phone
    statuses, the bootstrap admin's token. Never overwrites an edit.

    Every process seeds when it starts, and processes start together (`sedno serve` and its
    workers, two replicas, two intake workers). Each seed reads what exists and inserts the
    rest, so two at once would insert the same rows and one would die of the unique key. On
    SQLite the write transaction takes the lock at BEGIN (IMMEDIATE); on PostgreSQL a
    transaction-scoped advisory lock makes the second wait, and under READ COMMITTED its reads
    then see the first's committed rows."""
    with db.transaction() as session:
        if not db.is_sqlite:
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEED_LOCK})
        seed_defaults(session)
        seed_rules(session)
        seed_statuses(session)
        ensure_bootstrap_admin(session, admin_token)


def outbox_handlers(
    container: Container,
) -> tuple[dict[str, Callable[..., None]], dict[str, Callable[..., None]]]:
    """Single and batch handlers of every outbox kind the parts of Sedno define."""
    single: dict[str, Callable[..., None]] = {}
    batch: dict[str, Callable[..., None]] = {}
    search_sync.register_outbox_handlers(container, single, batch)
    intake_handlers.register_outbox_handlers(container, single, batch)
    handoff.register_outbox_handlers(container, single, batch)
    notifications.register_outbox_handlers(
        container, single, batch, lead_mail_wanted=lead_wants_mail
    )
    curation_schedule.register_outbox_handlers(container, single, batch)
    identity = MailIdentity(container.settings.mail_from, container.settings.mail_domain)
    register_planner_mail(single, container.db, container.planner, identity)
    return single, batch


def run_service_schedules(container: Container, now: dt.datetime | None = None) -> list[int]:
    """Service schedules: each due ticket made once, whoever comes first."""
    return run_schedules(container.db, container.planner, now or utcnow(), f"pid:{os.getpid()}")


ScheduledJob = Callable[[Container, dt.datetime | None], object]


def scheduled_jobs() -> list[ScheduledJob]:
    """The periodic jobs every worker runs each minute (each runs once per period itself)."""
    return [
        search_sync.repopulate_if_empty,
        curation_schedule.run_scheduled,
        run_scheduled_purge,
        run_service_schedules,
    ]


def make_outbox_worker(container: Container, worker_id: str | None = None) -> OutboxWorker:
    single, batch = outbox_handlers(container)
    return OutboxWorker(container.db, single, batch, worker_id=worker_id)
