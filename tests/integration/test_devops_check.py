"""`sedno devops check` against the stand-in: it reads, says what would fail, writes nothing."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from api.cli import main
from tests.integration.test_devops_contract import (
    STANDIN_PAT,
    ServedStandin,
    standin_fixture,  # noqa: F401 - the module's stand-in
)
from tickets.accounts.auth import create_user
from tickets.core.db import Database
from tickets.handoff.service import ModuleEntry, put_modules


def _run(db: Database, standin: ServedStandin, tmp_path: Path, **env: str) -> tuple[int, str]:
    values = {
        "SEDNO_DATA_DIR": str(tmp_path / "data"),
        "SEDNO_DATABASE_URL": db.url,
        "SEDNO_DEVOPS_URL": standin.org_url,
        "SEDNO_DEVOPS_PROJECT": "Sedno",
        "SEDNO_DEVOPS_PAT": STANDIN_PAT,
        "SEDNO_DEVOPS_WEBHOOK_SECRET": "a-long-enough-hook-secret",
        "SEDNO_PUBLIC_URL": "https://sedno.example.com",
        **env,
    }
    result = CliRunner().invoke(main, ["devops", "check"], env=values)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_check_names_what_would_fail_and_changes_nothing(
    db: Database, standin: ServedStandin, tmp_path: Path
) -> None:
    standin.admin.post("/_standin/reset", json={"process": "Basic"}).raise_for_status()
    with db.transaction() as s:
        person, _ = create_user(s, login="p", name="P", role="consultant", email="obcy@x.pl")
        put_modules(s, [
            ModuleEntry(module="Handel", area_path="Sedno\\Handel"),
            ModuleEntry(module="Płace", area_path="Sedno\\Płace", second_line_id=person.id),
        ])  # fmt: skip
    code, out = _run(db, standin, tmp_path)
    assert code == 1, out
    assert "FAIL module Płace" in out and "'Sedno\\Płace' does not exist" in out
    assert "OK   module Handel" in out
    assert "handoffs create Issue: To Do (Proposed), Doing (InProgress), Done (Completed)" in out
    assert "Issue has no repro steps" in out
    assert "no state in category Removed" in out
    assert [c["method"] for c in standin.calls()] == ["GET"] * len(standin.calls())
    assert standin.items() == []


def test_check_passes_on_a_good_configuration(
    db: Database, standin: ServedStandin, tmp_path: Path
) -> None:
    standin.admin.post("/_standin/reset", json={"process": "Agile"}).raise_for_status()
    with db.transaction() as s:
        put_modules(s, [ModuleEntry(module="Handel", area_path="Sedno\\Handel")])
    code, out = _run(db, standin, tmp_path)
    assert code == 0, out
    assert "ready for handoffs" in out


def test_check_reports_a_wrong_token(db: Database, standin: ServedStandin, tmp_path: Path) -> None:
    code, out = _run(db, standin, tmp_path, SEDNO_DEVOPS_PAT="wrong")
    assert code == 1
    assert "FAIL credentials" in out and "401" in out
