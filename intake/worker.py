"""The shared-mailbox worker: IMAP → one committed transaction per message → UID MOVE.

Exactly once, by construction rather than by luck:
- each message is ingested and the folder's high-water UID advanced in ONE transaction;
- only after the commit is the message moved to `Processed` (or `Quarantine`);
- a crash between commit and move leaves the message in the folder at or below the high-water
  mark: it is fetched again, `ingest_mail` finds its receipt (Message-ID or raw hash) and
  returns the first result without writing anything, and the move is done;
- a new UIDVALIDITY resets the mark to 0: everything is rescanned, dedupe keeps it exact.

IDLE when the server has it (checked again every `idle_timeout_s`, also a safety net for mail
that arrived between a scan and the IDLE start), polling otherwise; the connection is renewed
every `reconnect_s` (below IMAP's 29-minute IDLE limit).

Many workers may run on one mailbox (`sedno worker intake` ×N): only the holder of the lease
`imap:<mailbox>` (`intake/lease.py`) reads it; the others wait and take over when its lease
expires (`SEDNO_INTAKE_LEASE_S`, default 30 s). Every ingest transaction renews the lease and
checks it is still ours, so a reader that stalled past its expiry writes nothing.

`sedno worker intake` runs it, built by the composition root (`api.bootstrap`) with settings
from the environment and `.env` (SEDNO_DATA_DIR, SEDNO_DATABASE_URL, SEDNO_IMAP_*);
SIGTERM/SIGINT stop it after the current message.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from typing import Final

from imap_tools.errors import MailboxMoveError
from sqlalchemy import update
from sqlalchemy.exc import InterfaceError, OperationalError

from intake.context import IntakeContext
from intake.imap import PROCESSED_FOLDER, QUARANTINE_FOLDER, SharedMailbox, mailbox_key
from intake.ingest import ingest_mail, quarantine_raw
from intake.lease import LeaseLost, hold, release, try_acquire
from intake.orm import MailboxStateRow
from intake.receipts import IngestResult
from intake.settings import IntakeSettings
from tickets.core.attachments import BlobStore
from tickets.core.db import Database, utcnow
from tickets.core.settings import Settings

log = logging.getLogger("sedno.intake.worker")

MOVE_BATCH: Final = 20
"""Messages fetched, ingested, synced to disk and moved together."""
MAX_ATTEMPTS: Final = 3
"""A message whose ingest fails this often (not the database being down) is quarantined."""
LEASE_TTL_S: Final = 30.0
"""How long a mailbox reader's lease lasts without renewal (a dead reader is replaced after)."""

AfterCommit = Callable[[int, IngestResult], None]


class IntakeWorker:
    """Runs the mailbox loop; `process_available` is one scan (tests call it directly)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        ctx: IntakeContext | None = None,
        idle_timeout_s: float = 10.0,
        poll_s: float = 5.0,
        reconnect_s: float = 25 * 60,
        after_commit: AfterCommit | None = None,
        lease_ttl_s: float = LEASE_TTL_S,
        holder_id: str | None = None,
        intake: IntakeSettings | None = None,
    ) -> None:
        if settings.imap is None:
            raise ValueError("no mailbox configured (SEDNO_IMAP_HOST)")
        self.settings = settings
        self.imap = settings.imap
        self.db = db
        # Raw mail is stored without an fsync per file: a message stays in the IMAP folder,
        # the source copy, until `_move_all` has synced the batch (which also flushes
        # SQLite's WAL). One sync per batch instead of one fsync per message.
        self.ctx = ctx or IntakeContext(
            settings,
            blobs=BlobStore(settings.data_dir / "blobs", fsync_each=False),
            intake=intake,
        )
        self.idle_timeout_s = idle_timeout_s
        self.poll_s = poll_s
        self.reconnect_s = reconnect_s
        self.after_commit = after_commit
        self._failures: dict[tuple[int, int], int] = {}
        self._stuck: set[tuple[int, int]] = set()
        self.ingested = 0
        self.redone = 0
        self.lease_ttl_s = lease_ttl_s
        self.holder_id = holder_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.lease_name = f"imap:{mailbox_key(self.imap)}"
        self._holding = False
        """Set while `run()` holds the lease: every ingest then checks and renews it."""

    # State ----------------------------------------------------------------------------

    def _high_water(self, box: SharedMailbox) -> int:
        """The mark for this folder; reset to 0 when UIDVALIDITY changed."""
        with self.db.transaction() as session:
            state = session.get(MailboxStateRow, box.key, with_for_update=True)
            if state is None:
                session.add(MailboxStateRow(mailbox=box.key, uidvalidity=box.uidvalidity))
                return 0
            if state.uidvalidity != box.uidvalidity:
                log.warning(
                    "UIDVALIDITY of %s changed %s → %s: rescanning, dedupe keeps it exact",
                    box.key,
                    state.uidvalidity,
                    box.uidvalidity,
                )
                state.uidvalidity = box.uidvalidity
                state.high_water = 0
                return 0
            return int(state.high_water)

    # One scan --------------------------------------------------------------------------

    def process_available(self, box: SharedMailbox, stop: threading.Event | None = None) -> int:
        """Ingest and move every message now in the folder; return how many were handled."""
        high_water = self._high_water(box)
        uids = [u for u in box.uids() if (box.uidvalidity, u) not in self._stuck]
        # New mail is above the mark; anything at or below it is a message committed before a
        # crash but not moved: it goes through ingest again, which only finds its receipt.
        leftovers = [u for u in uids if u <= high_water]
        if leftovers:
            log.info("%d message(s) at or below UID %d not yet moved", len(leftovers), high_water)
        handled = 0
        to_move: list[tuple[int, IngestResult]] = []
        for uid, raw in box.fetch_raw(uids, bulk=MOVE_BATCH):
            result = self._handle(box, uid, raw, redo=uid <= high_water)
            if result is not None:
                to_move.append((uid, result))
                handled += 1
            if len(to_move) >= MOVE_BATCH:
                self._move_all(box, to_move)
            if stop is not None and stop.is_set():
                break
        self._move_all(box, to_move)
        return handled

    def _move_all(self, box: SharedMailbox, to_move: list[tuple[int, IngestResult]]) -> None:
        """Make what was stored durable, then let the messages leave the folder."""
        if not to_move:
            return
        self.ctx.blobs.sync()
        for uid, result in to_move:
            self._move(box, uid, result)
        to_move.clear()

    def _handle(
        self, box: SharedMailbox, uid: int, raw: bytes, *, redo: bool
    ) -> IngestResult | None:
        source_info = {"mailbox": box.key, "uid": uid, "uidvalidity": box.uidvalidity}
        try:
            with self.db.transaction() as session:
                if self._holding:
                    hold(session, self.lease_name, self.holder_id, self.lease_ttl_s)
                result = ingest_mail(session, self.ctx, raw, source_info=source_info)
                session.execute(
                    update(MailboxStateRow)
                    .where(
                        MailboxStateRow.mailbox == box.key,
                        MailboxStateRow.uidvalidity == box.uidvalidity,
                        MailboxStateRow.high_water < uid,
                    )
                    .values(high_water=uid, updated_at=utcnow())
                )
        except (OperationalError, InterfaceError, LeaseLost):
            raise  # the database is away or locked, or another reader took over: back off
        except Exception as exc:
            return self._failed(box, uid, raw, exc)
        if self.after_commit is not None:
            self.after_commit(uid, result)
        self.ingested += 0 if result.duplicate else 1
        self.redone += 1 if redo else 0
        return result

    def _move(self, box: SharedMailbox, uid: int, result: IngestResult) -> None:
        folder = QUARANTINE_FOLDER if result.outcome == "quarantined" else PROCESSED_FOLDER
        try:
            box.move(uid, folder)
        except MailboxMoveError as exc:
            # Refused for this message (it stays, already ingested): do not retry it on every
            # scan of this connection.
            self._stuck.add((box.uidvalidity, uid))
            log.error("could not move UID %s to %s: %s", uid, folder, exc)

    def _failed(
        self, box: SharedMailbox, uid: int, raw: bytes, exc: Exception
    ) -> IngestResult | None:
        key = (box.uidvalidity, uid)
        self._failures[key] = self._failures.get(key, 0) + 1
        log.error("ingest of UID %s failed (%d): %s", uid, self._failures[key], exc)
        if self._failures[key] < MAX_ATTEMPTS:
            return None
        reason = f"ingest failed {MAX_ATTEMPTS} times: {type(exc).__name__}: {exc}\n"
        reason += traceback.format_exc()[-2000:]
        with self.db.transaction() as session:
            result = quarantine_raw(
                session,
                self.ctx,
                raw,
                reason,
                source_info={"mailbox": box.key, "uid": uid, "uidvalidity": box.uidvalidity},
            )
        self._failures.pop(key, None)
        return result

    # The loop --------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Until `stop` is set: hold the mailbox lease, connect, scan, IDLE (or poll)."""
        backoff = 1.0
        waiting_logged = False
        try:
            while not stop.is_set():
                try:
                    acquired = try_acquire(
                        self.db, self.lease_name, self.holder_id, self.lease_ttl_s
                    )
                except Exception as exc:  # the database is away: wait, it comes back
                    log.warning("mailbox lease: %s: %s; retrying", type(exc).__name__, exc)
                    stop.wait(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
                if not acquired:
                    if not waiting_logged:
                        log.info("standby: another reader holds %s", self.lease_name)
                        waiting_logged = True
                    stop.wait(self._renew_every_s)
                    continue
                waiting_logged = False
                self._holding = True
                box = SharedMailbox(self.imap)
                try:
                    box.open()
                    backoff = 1.0
                    self._connected_loop(box, stop)
                except LeaseLost as exc:
                    log.warning("lost the mailbox lease: %s; standing by", exc)
                except Exception as exc:
                    log.warning(
                        "intake mailbox loop: %s: %s; retrying in %.0fs",
                        type(exc).__name__,
                        exc,
                        backoff,
                    )
                    stop.wait(backoff)
                    backoff = min(backoff * 2, 60.0)
                finally:
                    self._holding = False
                    box.close()
        finally:
            try:
                release(self.db, self.lease_name, self.holder_id)
            except Exception as exc:  # the database may be away; the lease then just expires
                log.warning("could not release %s: %s", self.lease_name, exc)

    @property
    def _renew_every_s(self) -> float:
        return max(0.2, self.lease_ttl_s / 3)

    def _connected_loop(self, box: SharedMailbox, stop: threading.Event) -> None:
        started = time.monotonic()
        log.info(
            "connected to %s (UIDVALIDITY %s, IDLE %s) as %s",
            box.key,
            box.uidvalidity,
            box.has_idle,
            self.holder_id,
        )
        while not stop.is_set():
            if not try_acquire(self.db, self.lease_name, self.holder_id, self.lease_ttl_s):
                raise LeaseLost(f"lease {self.lease_name} is held by another reader")
            self.process_available(box, stop)
            remaining = self.reconnect_s - (time.monotonic() - started)
            if remaining <= 0:
                return
            wait_s = min(self.idle_timeout_s, remaining, self._renew_every_s)
            if box.has_idle:
                box.wait_for_news(wait_s)
            else:
                stop.wait(min(self.poll_s, wait_s))


def run_intake_worker(
    settings: Settings, db: Database, stop_event: threading.Event, intake: IntakeSettings
) -> None:
    """`sedno worker intake`: run the shared-mailbox worker until `stop_event` is set."""
    if settings.imap is None:
        log.info("no mailbox configured (SEDNO_IMAP_HOST unset); intake worker idle")
        stop_event.wait()
        return
    IntakeWorker(settings, db, lease_ttl_s=settings.intake_lease_s, intake=intake).run(stop_event)
