"""Backup and restore of the embedded default: every ticket comes back, search works again."""

from __future__ import annotations

from pathlib import Path

import msgspec
from click.testing import CliRunner
from sqlalchemy import func, select

from api.bootstrap import build_container, make_outbox_worker
from api.cli import main
from search.ports import SearchRequest
from tickets.core.attachments import add_attachment
from tickets.core.knowledge import is_knowledge
from tickets.core.orm import TicketRow
from tickets.core.settings import load_settings
from tickets.core.views import ticket_view
from tools.demo import load_demo


def _all_tickets(container) -> list[bytes]:  # type: ignore[no-untyped-def]
    with container.db.read() as s:
        ids = list(s.scalars(select(TicketRow.id).order_by(TicketRow.id)))
        return [msgspec.json.encode(ticket_view(s, i)) for i in ids]


def test_backup_restore_round_trip(tmp_path: Path) -> None:
    env = {"SEDNO_DATA_DIR": str(tmp_path / "data")}
    settings = load_settings(env)
    container = build_container(settings)
    load_demo(container, tickets=120)
    with container.db.transaction() as s:
        first = s.scalar(select(TicketRow).order_by(TicketRow.id).limit(1))
        assert first is not None
        add_attachment(
            s,
            container.blobs,
            filename="zrzut.png",
            data=b"\x89PNG\r\n\x1a\nxyz",
            max_bytes=1000,
            ticket_id=first.id,
        )
    make_outbox_worker(container).drain()
    before = _all_tickets(container)
    with container.db.read() as s:
        knowledge = s.scalar(select(func.count()).select_from(TicketRow).where(is_knowledge()))
    container.close()

    runner = CliRunner()
    result = runner.invoke(main, ["backup", str(tmp_path / "bk")], env=env)
    assert result.exit_code == 0, result.output
    # Disaster: the data dir is gone.
    import shutil

    shutil.rmtree(tmp_path / "data")
    result = runner.invoke(main, ["restore", str(tmp_path / "bk")], env=env)
    assert result.exit_code == 0, result.output
    assert f"rebuilt with {knowledge} tickets" in result.output  # the solved ones are indexed

    restored = build_container(load_settings(env))
    after = _all_tickets(restored)
    assert after == before
    att = msgspec.json.decode(after[0])["attachments"][0]
    assert restored.blobs.get(att["sha256"]).startswith(b"\x89PNG")
    hits = restored.search.search(SearchRequest(q="faktury", limit=5)).hits
    assert hits, "the rebuilt index answers"
    restored.close()


def test_backup_refuses_postgres(tmp_path: Path) -> None:
    env = {
        "SEDNO_DATA_DIR": str(tmp_path),
        "SEDNO_DATABASE_URL": "postgresql+psycopg://x@127.0.0.1:1/x",
    }
    result = CliRunner().invoke(main, ["backup", str(tmp_path / "bk")], env=env)
    assert result.exit_code != 0 and "pg_dump" in result.output
