"""The purge of dropped calls: after the retention period a dropped call and its stored mail
are gone, the dedupe receipt stays (the same mail is never imported again), and whatever
else still uses a file keeps it; on real SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from api.container import Container
from intake.context import IntakeContext
from intake.ingest import ingest_mail
from intake.orm import IntakeCallRow, IntakeReceiptRow
from intake.purge import purge_dropped_calls, run_scheduled_purge
from intake.queue import drop_call
from intake.settings import IntakeSettings
from tests.integration.conftest import make_mail
from tickets.core.db import Database, utcnow
from tickets.core.orm import AttachmentRow
from tickets.core.schemas import SYSTEM

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
PDF = b"%PDF-1.4 the same invoice in two mails"


def _ingest(db: Database, ctx: IntakeContext, raw: bytes) -> int:
    with db.transaction() as s:
        result = ingest_mail(s, ctx, raw)
    assert result.call_id is not None
    return result.call_id


def _age_drop(db: Database, call_id: int, days: float) -> None:
    with db.transaction() as s:
        call = s.get(IntakeCallRow, call_id)
        assert call is not None and call.status == "dropped" and call.dropped_at is not None
        call.dropped_at = utcnow() - dt.timedelta(days=days)


def _raw_of(db: Database, call_id: int) -> str:
    with db.read() as s:
        call = s.get(IntakeCallRow, call_id)
        assert call is not None and call.raw_sha256
        return call.raw_sha256


def _count(db: Database, model: type, *where: object) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def test_dropped_calls_past_retention_are_purged_with_their_mail_but_not_their_receipt(
    db: Database, ctx: IntakeContext
) -> None:
    spam_raw = make_mail(subject="Okazja", body=f"Kup teraz {GTUBE}", attachment=("a.pdf", PDF))
    spam = _ingest(db, ctx, spam_raw)  # auto-dropped as spam
    not_ours = _ingest(db, ctx, make_mail(subject="Oferta szkoleń"))
    with db.transaction() as s:
        drop_call(s, SYSTEM, not_ours, "not_ours")
    recent = _ingest(db, ctx, make_mail(subject="Świeży spam", body=GTUBE))
    pending = _ingest(db, ctx, make_mail(subject="Faktura", attachment=("f.pdf", PDF)))
    _age_drop(db, spam, 31)
    _age_drop(db, not_ours, 45)
    _age_drop(db, recent, 29)
    purged_raws = [_raw_of(db, spam), _raw_of(db, not_ours)]
    kept_raws = [_raw_of(db, recent), _raw_of(db, pending)]

    report = purge_dropped_calls(db, ctx.blobs, IntakeSettings())

    assert report.calls == 2 and report.blobs == 2  # two raw mails; the PDF is still used
    with db.read() as s:
        assert sorted(s.scalars(select(IntakeCallRow.id))) == sorted([recent, pending])
        rows = s.execute(
            select(IntakeReceiptRow.call_id, IntakeReceiptRow.outcome).where(
                IntakeReceiptRow.call_id.in_([spam, not_ours])
            )
        )
        receipts = {call_id: outcome for call_id, outcome in rows}
    assert receipts == {spam: "purged", not_ours: "purged"}
    assert not any(ctx.blobs.exists(sha) for sha in purged_raws)
    assert all(ctx.blobs.exists(sha) for sha in kept_raws)
    assert _count(db, AttachmentRow, AttachmentRow.call_id == spam) == 0
    (pdf,) = _attachment_hashes(db, pending)
    assert ctx.blobs.exists(pdf)  # the spam's attachment too, but the pending call uses it

    # The same mail again (an IMAP re-read, a redelivery): recognised, nothing imported.
    with db.transaction() as s:
        again = ingest_mail(s, ctx, spam_raw)
    assert again.duplicate and (again.outcome, again.status) == ("call", "purged")
    assert _count(db, IntakeCallRow) == 2

    # Nothing left to do: a second run is a no-op.
    assert purge_dropped_calls(db, ctx.blobs, IntakeSettings()).calls == 0


def _attachment_hashes(db: Database, call_id: int) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(AttachmentRow.sha256).where(AttachmentRow.call_id == call_id)))


def test_retention_is_a_setting(db: Database, ctx: IntakeContext) -> None:
    call_id = _ingest(db, ctx, make_mail(body=GTUBE))
    _age_drop(db, call_id, 10)
    assert purge_dropped_calls(db, ctx.blobs, IntakeSettings()).calls == 0
    assert purge_dropped_calls(db, ctx.blobs, IntakeSettings(purge_dropped_after_days=7)).calls == 1


def test_scheduled_purge_runs_once_a_day_across_workers(db: Database, ctx: IntakeContext) -> None:
    call_id = _ingest(db, ctx, make_mail(body=GTUBE))
    _age_drop(db, call_id, 40)
    settings = IntakeSettings()
    workers = [
        Container(
            settings=ctx.settings,
            db=Database(db.url),
            blobs=ctx.blobs,
            intake=settings,
        )
        for _ in range(2)
    ]
    try:
        now = utcnow()
        ran = [run_scheduled_purge(w, now) for w in workers]
        assert ran == [now.date().isoformat(), None]
        assert _count(db, IntakeCallRow) == 0
        tomorrow = now + dt.timedelta(days=1)
        assert run_scheduled_purge(workers[1], tomorrow) == tomorrow.date().isoformat()
    finally:
        for w in workers:
            w.db.dispose()
