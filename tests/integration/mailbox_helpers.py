"""Helpers of the tests that run `sedno worker intake` processes on a real mailbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from imap_tools import MailBoxUnencrypted
from sqlalchemy import func, select

from intake.context import IntakeContext
from intake.imap import SharedMailbox
from intake.worker import IntakeWorker
from tests.integration.conftest import intake_env, make_mail
from tests.services.dovecot import Dovecot
from tickets.core.db import Database
from tickets.core.settings import ImapSettings, Settings

REPO = Path(__file__).resolve().parents[2]


def count_rows(db: Database, model: type) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def folder_size(mailbox: ImapSettings, folder: str) -> int:
    """Messages in an IMAP folder (0 when it does not exist yet)."""
    with MailBoxUnencrypted(mailbox.host, mailbox.port).login(
        mailbox.user, mailbox.password, initial_folder=None
    ) as box:
        if not box.folder.exists(folder):
            return 0
        return int(box.folder.status(folder, ["MESSAGES"])["MESSAGES"])


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """An intake worker process (`sedno worker intake`) writing to `log` (appended across
    restarts)."""
    handle = open(log, "ab")  # noqa: SIM115 - the child owns it until it dies
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker", "intake"],
        cwd=REPO,
        env=env,
        stdout=handle,
        stderr=handle,
    )


def fill_mailbox(mailbox: ImapSettings, count: int, *, domains: int, hash_every: int) -> None:
    """`count` distinct requests in INBOX; every `hash_every`-th has no Message-ID (deduplicated
    by the hash of its raw bytes)."""
    with MailBoxUnencrypted(mailbox.host, mailbox.port).login(
        mailbox.user, mailbox.password, initial_folder=None
    ) as box:
        for i in range(count):
            raw = make_mail(
                sender=f"klient{i}@firma{i % domains}.pl",
                subject=f"Zgłoszenie {i}",
                body=f"Treść zgłoszenia numer {i}.",
                message_id=None if i % hash_every == 0 else "auto",
            )
            box.client.append("INBOX", None, None, raw)


def worker_env(
    data_dir: Path, db: Database, dovecot: Dovecot, mailbox: ImapSettings, lease_s: float
) -> dict[str, str]:
    """The environment of an intake worker process reading `mailbox` into `db`."""
    return {
        **os.environ,
        **intake_env(data_dir, db),
        **dovecot.env(mailbox.user),
        "PYTHONPATH": str(REPO),
        "SEDNO_INTAKE_LEASE_S": str(lease_s),
    }


def scan_mailbox(settings: Settings, db: Database, ctx: IntakeContext | None = None) -> None:
    """One pass of the intake worker over the mailbox (what `sedno worker intake` does)."""
    worker = IntakeWorker(settings, db, ctx=ctx)
    box = SharedMailbox(worker.imap)
    box.open()
    try:
        worker.process_available(box)
    finally:
        box.close()
