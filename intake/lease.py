"""Leases: one active holder of a named role (a mailbox reader) across processes and hosts.

A lease is a row with a holder and an expiry, so it works the same on SQLite and PostgreSQL.
The holder renews it well before it expires; a holder that dies simply stops renewing, and the
next contender takes the lease over once it has expired. `hold()` renews inside the caller's own
transaction and raises `LeaseLost` when someone else owns the lease: the work of that
transaction (an ingested message) is then rolled back, so a holder that stalled past its expiry
cannot write beside the one that replaced it. Expiry compares wall clocks: hosts sharing a
database must keep their clocks in sync (NTP), with skew well below the lease time.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import String, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from tickets.core.db import Base, Database, utcnow

log = logging.getLogger("sedno.lease")


class LeaseRow(Base):
    """Who holds the lease `name`, and until when."""

    __tablename__ = "worker_leases"

    name: Mapped[str] = mapped_column(String(600), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime] = mapped_column()
    acquired_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LeaseLost(RuntimeError):
    """Another holder owns the lease now; stop the work it guards."""


def try_acquire(db: Database, name: str, holder: str, ttl_s: float) -> bool:
    """Take or renew the lease; False while another holder's lease is still valid."""
    now = utcnow()
    until = now + dt.timedelta(seconds=ttl_s)
    try:
        with db.transaction() as session:
            row = session.get(LeaseRow, name, with_for_update=True)
            if row is None:
                session.add(LeaseRow(name=name, holder=holder, expires_at=until, acquired_at=now))
                log.info("lease %s acquired by %s", name, holder)
                return True
            if row.holder != holder and row.expires_at > now:
                return False
            if row.holder != holder:
                log.warning(
                    "lease %s taken over by %s from %s (expired %s)",
                    name,
                    holder,
                    row.holder,
                    row.expires_at.isoformat(),
                )
                row.holder = holder
                row.acquired_at = now
            row.expires_at = until
            return True
    except IntegrityError:
        return False  # another contender inserted the row first


def hold(session: Session, name: str, holder: str, ttl_s: float) -> None:
    """Renew the lease in the caller's transaction; raise `LeaseLost` if it is not ours."""
    row = session.get(LeaseRow, name, with_for_update=True, populate_existing=True)
    if row is None or row.holder != holder:
        raise LeaseLost(f"lease {name} is held by {row.holder if row else 'nobody'}")
    row.expires_at = utcnow() + dt.timedelta(seconds=ttl_s)


def release(db: Database, name: str, holder: str) -> None:
    """Give the lease up at once (clean shutdown), so a standby need not wait for expiry."""
    with db.transaction() as session:
        session.execute(delete(LeaseRow).where(LeaseRow.name == name, LeaseRow.holder == holder))


def current_holder(db: Database, name: str) -> str | None:
    """The holder of a valid lease, None when free or expired."""
    with db.read() as session:
        row = session.get(LeaseRow, name)
        if row is None or row.expires_at <= utcnow():
            return None
        return row.holder
