"""`sedno import tickets FILE.jsonl`: historical tickets, idempotent on `external_id`.

Lines go in batches of 1000, one transaction a batch; a batch that fails in the database is
retried line by line so that one bad line costs only itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tickets.core import definitions as defs
from tickets.core import sequence
from tickets.core.db import Database
from tickets.core.orm import TicketHistoryRow, TicketRow
from tickets.core.outbox import enqueue
from tickets.core.services import INDEX_JOB, utcnow
from tickets.domain.definitions import Definition
from tickets.domain.numbering import parse_number

BATCH = 1000


class ImportLine(msgspec.Struct, forbid_unknown_fields=False, kw_only=True):
    external_id: Annotated[str, Meta(min_length=1, max_length=200)]
    definition: Annotated[str, Meta(min_length=1, max_length=16)]
    title: Annotated[str, Meta(min_length=1, max_length=500)]
    description: str
    number: str | None = None
    solution: str = ""
    state: str | None = None
    resolution: Literal["resolved", "rejected"] | None = None
    product: str = ""
    module: str = ""
    version: str = ""
    area: str = ""
    type: str = ""
    priority: Literal["krytyczny", "wysoki", "normalny", "niski"] = "normalny"
    keywords: list[str] = msgspec.field(default_factory=list)
    kb_links: list[str] = msgspec.field(default_factory=list)
    reported_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None


class ImportSummary(msgspec.Struct):
    read: int = 0
    created: int = 0
    skipped_existing: int = 0
    failed: int = 0
    errors: list[tuple[int, str]] = msgspec.field(default_factory=list)

    def describe(self) -> str:
        return (
            f"read {self.read} lines: {self.created} created, {self.skipped_existing} already "
            f"imported, {self.failed} failed"
        )


_decoder = msgspec.json.Decoder(ImportLine)


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


def _row(
    line: ImportLine, definition: Definition, number: str | None, now: dt.datetime
) -> dict[str, Any]:
    state = line.state or ("completed" if line.solution else definition.initial_state)
    if state not in definition.state_codes():
        raise ValueError(f"state {state!r} is not a state of {definition.code}")
    reported = line.reported_at or now
    if reported.tzinfo is None:
        reported = reported.replace(tzinfo=dt.UTC)
    completed = None
    if state == "completed":
        completed = line.completed_at or reported
        if completed.tzinfo is None:
            completed = completed.replace(tzinfo=dt.UTC)
    return {
        "definition_code": definition.code,
        "state": state,
        "resolution": (line.resolution or "resolved")
        if state == "completed" and definition.kind == "task"
        else None,
        "title": line.title,
        "description": line.description,
        "solution": line.solution,
        "product": line.product,
        "module": line.module,
        "version": line.version,
        "area": line.area,
        "type": line.type,
        "priority": line.priority,
        "keywords": [k.strip() for k in line.keywords if k.strip()],
        "kb_links": [k.strip() for k in line.kb_links if k.strip()],
        "reported_at": reported,
        "completed_at": completed,
        "external_id": line.external_id,
        "verified": bool(line.kb_links),
        "reuse_count": 0,
        "created_at": now,
        "updated_at": now,
        "notes": "",
        "interface": "",
        "submission_mode": "",
        "_number": number,
    }


class _Batch:
    def __init__(self) -> None:
        self.items: list[tuple[int, ImportLine]] = []


def _write(session: Session, items: list[tuple[int, ImportLine]], summary: ImportSummary) -> None:
    """Insert the lines whose external_id is new; raises on a database error."""
    now = utcnow()
    definitions = {d.code: d for d in defs.list_definitions(session)}
    ids = [line.external_id for _, line in items]
    existing = set(
        session.scalars(select(TicketRow.external_id).where(TicketRow.external_id.in_(ids)))
    )
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line_no, line in items:
        if line.external_id in existing or line.external_id in seen:
            summary.skipped_existing += 1
            continue
        definition = definitions.get(line.definition.upper())
        if definition is None:
            summary.failed += 1
            summary.errors.append((line_no, f"unknown definition {line.definition!r}"))
            continue
        try:
            row = _row(line, definition, line.number, now)
            if line.number:
                parsed = parse_number(line.number)
                if parsed is None or parsed.code != definition.code:
                    raise ValueError(f"number {line.number!r} is not a {definition.code} number")
                row["year"], row["seq"], row["number"] = parsed.year, parsed.n, str(parsed)
        except ValueError as exc:
            summary.failed += 1
            summary.errors.append((line_no, str(exc)))
            continue
        seen.add(line.external_id)
        rows.append(row)
    # Kept numbers first, so that new numbers are given above them.
    for row in rows:
        if row.get("number"):
            sequence.reserve_number(session, row["definition_code"], row["year"], row["seq"])
    wanting: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in rows:
        if not row.get("number"):
            wanting.setdefault((row["definition_code"], row["reported_at"].year), []).append(row)
        row.pop("_number")
    for (code, year), group in wanting.items():
        definition = definitions[code]
        for row, seq in zip(
            group, sequence.take_numbers(session, code, year, len(group)), strict=True
        ):
            row["year"], row["seq"], row["number"] = year, seq, definition.format_number(year, seq)
    if not rows:
        return
    session.execute(insert(TicketRow), rows)
    inserted = dict(
        session.execute(
            select(TicketRow.external_id, TicketRow.id).where(
                TicketRow.external_id.in_([r["external_id"] for r in rows])
            )
        ).all()
    )
    session.execute(
        insert(TicketHistoryRow),
        [
            {
                "ticket_id": inserted[r["external_id"]],
                "actor": "import",
                "action": "imported",
                "new_value": r["external_id"],
                "note": "",
                "at": now,
            }
            for r in rows
        ],
    )
    completed = [inserted[r["external_id"]] for r in rows if r["state"] == "completed"]
    if completed:
        enqueue(session, INDEX_JOB, {"ticket_ids": completed})
    summary.created += len(rows)


def _flush(db: Database, batch: _Batch, summary: ImportSummary) -> None:
    if not batch.items:
        return
    try:
        with db.transaction() as session:
            attempt = ImportSummary()
            _write(session, batch.items, attempt)
    except Exception:
        # One line broke the batch (e.g. a number already taken): go line by line.
        for line_no, line in batch.items:
            single = ImportSummary()
            try:
                with db.transaction() as session:
                    _write(session, [(line_no, line)], single)
            except Exception as exc:
                single = ImportSummary(
                    failed=1,
                    errors=[(line_no, f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}")],
                )
            _merge(summary, single)
    else:
        _merge(summary, attempt)
    batch.items.clear()


def _merge(into: ImportSummary, part: ImportSummary) -> None:
    into.created += part.created
    into.skipped_existing += part.skipped_existing
    into.failed += part.failed
    into.errors.extend(part.errors)


def import_file(db: Database, path: Path, *, progress: bool = False) -> ImportSummary:
    """Import a JSONL file; bad lines are reported with their number and skipped."""
    summary = ImportSummary()
    batch = _Batch()
    total_bytes = path.stat().st_size
    bar = None
    if progress:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(
            TextColumn("import"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[lines]} lines"),
            TimeRemainingColumn(),
        )
        bar.start()
        task = bar.add_task("import", total=total_bytes, lines=0)
    done_bytes = 0
    try:
        for line_no, raw in _lines(path):
            summary.read += 1
            done_bytes += len(raw)
            try:
                batch.items.append((line_no, _decoder.decode(raw)))
            except msgspec.DecodeError as exc:
                summary.failed += 1
                summary.errors.append((line_no, str(exc)))
            if len(batch.items) >= BATCH:
                _flush(db, batch, summary)
                if bar is not None:
                    bar.update(task, completed=done_bytes, lines=summary.read)
        _flush(db, batch, summary)
    finally:
        if bar is not None:
            bar.update(task, completed=total_bytes, lines=summary.read)
            bar.stop()
    summary.errors.sort()
    return summary
