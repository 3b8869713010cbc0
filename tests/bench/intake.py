"""Intake benchmark: `python -m tests.bench.intake [--mails N] [--latency-samples N]`.

1. Mails per second from raw bytes to a committed call (parse + classify + store, one
   transaction per mail) on the embedded SQLite, over the SpamAssassin ham folder (synthetic
   mail when it is absent): once with no stored spam model (a fresh install) and once with a
   trained one. Target ≥ 100/s.
2. Seconds from IMAP APPEND to the call in the queue, the worker sitting in IDLE on a real
   Dovecot (skipped when Dovecot cannot run here). Target < 2 s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from api.bootstrap import TABLE_MODULES
from intake.context import IntakeContext
from intake.imap import append_message
from intake.ingest import ingest_mail
from intake.learning import store_spam_model
from intake.orm import IntakeCallRow, MailboxStateRow
from intake.parse import ParseError, parse_mail
from intake.spam import train_model
from intake.worker import MOVE_BATCH, IntakeWorker
from tests.services.dovecot import DovecotUnavailable, dovecot_server
from tickets.core.attachments import BlobStore
from tickets.core.db import Database
from tickets.core.definitions import seed_defaults
from tickets.core.settings import Settings, load_settings

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "spamassassin-dev"


def _synthetic(n: int) -> list[bytes]:
    from tests.integration.conftest import make_mail

    return [
        make_mail(
            sender=f"klient{i}@firma{i % 50}.pl",
            subject=f"Problem z modułem Kadry Płace nr {i}",
            body="Dzień dobry,\nprzy naliczaniu listy płac program zgłasza błąd.\n" * 20,
        )
        for i in range(n)
    ]


def corpus(limit: int) -> tuple[list[bytes], str]:
    ham = DATA / "ham"
    if ham.is_dir():
        files = sorted(p for p in ham.iterdir() if p.is_file())[:limit]
        return [p.read_bytes() for p in files], f"SpamAssassin ham ({ham})"
    return _synthetic(limit), "synthetic mail (SpamAssassin ham not found)"


def _fresh_db(root: Path, extra_env: dict[str, str] | None = None) -> tuple[Settings, Database]:
    env = {"SEDNO_DATA_DIR": str(root), **(extra_env or {})}
    settings = load_settings(env)
    root.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database.url)
    assert TABLE_MODULES  # the composition root has imported every table
    db.create_all()
    with db.transaction() as session:
        seed_defaults(session)
    return settings, db


def _train(root: Path, db: Database) -> int:
    pairs = []
    for label, folder in ((False, DATA / "ham"), (True, DATA / "spam")):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir())[-300:]:
            try:
                pairs.append((parse_mail(path.read_bytes()), label))
            except ParseError:
                continue
    if not pairs:
        from intake.parse import parse_mail as parse

        pairs = [(parse(raw), False) for raw in _synthetic(50)]
        pairs += [(parse(raw.replace(b"Kadry", b"VIAGRA CASINO")), True) for raw in _synthetic(50)]
    model = train_model(pairs)
    with db.transaction() as session:
        return store_spam_model(session, model)


def throughput(mails: list[bytes], *, trained: bool, batched: bool) -> tuple[float, dict[str, int]]:
    """Mails/s; `batched` = the worker's way: raw stored without fsync, one sync per 20."""
    with tempfile.TemporaryDirectory(prefix="sedno-bench-") as tmp:
        settings, db = _fresh_db(Path(tmp))
        if trained:
            _train(Path(tmp), db)
        blobs = BlobStore(settings.data_dir / "blobs", fsync_each=False) if batched else None
        ctx = IntakeContext(settings, blobs=blobs)
        with db.read() as session:
            ctx.spam_model(session)  # load the model outside the timing
        outcomes: dict[str, int] = {}
        started = time.perf_counter()
        for i, raw in enumerate(mails, 1):
            with db.transaction() as session:
                result = ingest_mail(session, ctx, raw)
            key = f"{result.outcome}:{result.classification or '-'}"
            outcomes[key] = outcomes.get(key, 0) + 1
            if blobs is not None and (i % MOVE_BATCH == 0 or i == len(mails)):
                blobs.sync()
        elapsed = time.perf_counter() - started
        with db.read() as session:
            calls = session.scalar(select(func.count()).select_from(IntakeCallRow))
        assert calls == sum(v for k, v in outcomes.items() if k.startswith("call:"))
        db.dispose()
    return len(mails) / elapsed, outcomes


def append_to_call_latency(samples: int) -> list[float]:
    from tests.integration.conftest import make_mail

    with dovecot_server() as server, tempfile.TemporaryDirectory(prefix="sedno-bench-") as tmp:
        settings, db = _fresh_db(Path(tmp), server.env())
        assert settings.imap is not None
        stop = threading.Event()
        worker = IntakeWorker(settings, db, idle_timeout_s=60)
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with db.read() as session:
                    if session.scalar(select(func.count()).select_from(MailboxStateRow)):
                        break
                time.sleep(0.05)
            latencies: list[float] = []
            for i in range(samples):
                time.sleep(0.5)  # let the worker settle back into IDLE
                started = time.monotonic()
                append_message(settings.imap, make_mail(subject=f"Pomiar {i}", sender=f"a{i}@b.pl"))
                while time.monotonic() - started < 30:
                    with db.read() as session:
                        n = session.scalar(select(func.count()).select_from(IntakeCallRow))
                    if n == i + 1:
                        break
                    time.sleep(0.01)
                latencies.append(time.monotonic() - started)
            return latencies
        finally:
            stop.set()
            thread.join(timeout=90)
            db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--latency-samples", type=int, default=10)
    args = parser.parse_args()
    mails, source = corpus(args.mails)
    print(f"corpus: {len(mails)} mails from {source}")
    for trained in (False, True):
        for batched in (False, True):
            rate, outcomes = throughput(mails, trained=trained, batched=batched)
            label = "trained spam model" if trained else "shipped prior (fresh install)"
            how = (
                f"worker: raw synced once per {MOVE_BATCH}"
                if batched
                else "API path: fsync per raw mail"
            )
            print(f"ingest raw→committed call, embedded SQLite, {label}, {how}: {rate:.1f} mails/s")
        print(f"  outcomes: {dict(sorted(outcomes.items()))}")
    if args.latency_samples <= 0:
        print("append→call latency: skipped (--latency-samples 0)")
        return
    try:
        latencies = append_to_call_latency(args.latency_samples)
    except DovecotUnavailable as exc:
        print(f"append→call latency: skipped ({exc})")
        return
    print(
        f"IMAP APPEND → call in queue (IDLE), {len(latencies)} samples: "
        f"median {statistics.median(latencies):.3f}s, max {max(latencies):.3f}s"
    )


if __name__ == "__main__":
    main()
