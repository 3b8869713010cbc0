"""Engine, sessions and the one place a transaction is opened and committed."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of every Sedno table."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UtcDateTime(), dict[str, Any]: JSON(), list[str]: JSON()}  # noqa: RUF012


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 60}, pool_size=8, max_overflow=16
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself, so that writers can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # BEGIN IMMEDIATE: a writer waits for the lock at the start instead of failing at
        # its first write with SQLITE_BUSY after having read stale data.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


IDLE_PING_S = 5.0
"""A pooled connection unused this long is pinged before it is handed out."""


def _ping_when_idle(engine: Engine, idle_s: float) -> None:
    """`pool_pre_ping`, only for connections that sat idle: under load a connection is reused
    within milliseconds, and a ping on every checkout is one more round trip per request.

    A connection broken by a database restart is found either here (idle) or by its first
    statement; SQLAlchemy then invalidates the whole pool, so the next checkout reconnects.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("checked_in_at")
        if idle_since is None or time.monotonic() - idle_since < idle_s:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            if not dbapi_connection.autocommit:
                dbapi_connection.rollback()
        except Exception as exc:
            # The pool drops this connection and retries the checkout with a new one.
            raise DisconnectionError(str(exc)) from exc


class Database:
    """Owns the engines; `transaction()` is the unit of work for writers, `read()` for readers."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.write_engine = _sqlite_engine(url, immediate=True)
            self.read_engine = _sqlite_engine(url, immediate=False)
        else:
            self.write_engine = create_engine(url, pool_size=10, max_overflow=30)
            _ping_when_idle(self.write_engine, IDLE_PING_S)
            self.read_engine = self.write_engine
        self._writer = sessionmaker(self.write_engine, expire_on_commit=False)
        self._reader = sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """Open a write transaction; commit on success, roll back on any exception."""
        with self._writer() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (no write lock on SQLite)."""
        with self._reader() as session:
            try:
                yield session
            finally:
                session.rollback()

    def create_all(self) -> None:
        """Create tables directly (tests); production uses `sedno migrate`."""
        import_all_models()
        Base.metadata.create_all(self.write_engine)

    def dispose(self) -> None:
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


def import_all_models() -> None:
    """Import every module that declares tables, so the metadata is complete."""
    import importlib
    import importlib.util

    for name in MODEL_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    import tickets.notices.orm
    import tickets.planner.orm
    import tickets.projects.orm
    import tickets.telephony.orm  # noqa: F401


MODEL_MODULES = (
    "tickets.adapters.orm",
    "tickets.adapters.outbox",
    "intake.orm",
    "tickets.adapters.devops_orm",
    "search.orm",
    "tickets.adapters.curation_orm",
    "intake.lease",
    "api.login_limits",
)
