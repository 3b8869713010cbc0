"""`sedno import tickets`: idempotent on external_id, bad lines reported by number and skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from api.cli import main
from tickets.core import importer
from tickets.core.db import Database
from tickets.core.importer import import_file
from tickets.core.orm import TicketRow
from tickets.core.outbox import OutboxJobRow


def _line(i: int, **extra: object) -> str:
    base = {
        "external_id": f"old-crm:{i}",
        "definition": "ZS",
        "title": f"Zgłoszenie {i}",
        "description": "Błąd faktury",
        "solution": "Aktualizacja",
        "state": "completed",
        "product": "enova365",
        "module": "Handel",
        "keywords": ["faktura"],
        "reported_at": "2024-03-01T10:00:00Z",
        "completed_at": "2024-03-02T12:00:00Z",
    }
    base.update(extra)
    return json.dumps(base, ensure_ascii=False)


def test_import_is_idempotent_and_reports_bad_lines(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two whole batches and a part of one, with a batch that breaks in the database (the same
    # number twice) and goes line by line: batches of 100 instead of 1 000, a tenth of the rows.
    monkeypatch.setattr(importer, "BATCH", 100)
    path = tmp_path / "t.jsonl"
    lines = [_line(i) for i in range(1, 251)]
    lines[9] = "{not json"
    lines[19] = json.dumps({"external_id": "x", "definition": "ZS"})  # no title
    lines[29] = _line(30, definition="NOPE")
    lines[39] = _line(40, number="ZS/2024/88")
    lines[49] = _line(50, number="ZS/2024/88")  # the same number twice: only the first keeps it
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    first = import_file(db, path)
    assert first.read == 250
    assert first.created == 246
    assert [n for n, _ in first.errors] == [10, 20, 30, 50]
    assert "title" in dict(first.errors)[20]

    second = import_file(db, path)
    assert second.created == 0 and second.skipped_existing == 246

    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(TicketRow)) == 246
        kept = s.scalar(select(TicketRow).where(TicketRow.external_id == "old-crm:40"))
        assert kept is not None and kept.number == "ZS/2024/88"
        numbers = set(s.scalars(select(TicketRow.number)))
        assert len(numbers) == 246
        ids = [i for job in s.scalars(select(OutboxJobRow)) for i in job.payload["ticket_ids"]]
        assert len(ids) == 246  # every completed ticket is queued for indexing


def test_cli_prints_summary(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(_line(1) + "\n" + "oops\n", encoding="utf-8")
    env = {"SEDNO_DATA_DIR": str(tmp_path / "data")}
    result = CliRunner().invoke(main, ["import", "tickets", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output and "1 failed" in result.output
    assert "line 2:" in result.output
