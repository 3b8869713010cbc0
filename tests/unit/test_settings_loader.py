"""One settings loader: `.env` and the environment count alike for every capability."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.bootstrap import load_configuration, redacted
from api.cli import main
from tickets.core.settings import SettingsError
from tickets.curation.schedule import due_period


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory of its own, and no SEDNO_* variable from the caller's shell."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("SEDNO_")]:
        monkeypatch.delenv(name)
    return tmp_path


def test_a_dotenv_reaches_intake_and_curation(workdir: Path) -> None:
    (workdir / ".env").write_text("SEDNO_INTAKE_REOPEN_DAYS=5\nSEDNO_CURATION_HOUR=9\n")
    config = load_configuration()
    assert config.intake.reopen_days == 5
    assert config.curation.hour == 9
    # The digest of a Monday waits for 09:00 Warsaw time (07:00 UTC in winter), not 07:00.
    monday = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    assert due_period(monday.replace(hour=7, minute=30), config.curation) is None
    assert due_period(monday.replace(hour=8, minute=1), config.curation) == "2026-W50"


def test_the_environment_wins_over_dotenv(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (workdir / ".env").write_text("SEDNO_INTAKE_REOPEN_DAYS=5\n")
    monkeypatch.setenv("SEDNO_INTAKE_REOPEN_DAYS", "12")
    assert load_configuration().intake.reopen_days == 12


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SEDNO_CURATION_HOUR", "nine"),
        ("SEDNO_CURATION_HOUR", "25"),
        ("SEDNO_INTAKE_REOPEN_DAYS", "-1"),
        ("SEDNO_SMTP_PORT", "smtp"),
        ("SEDNO_LINKCHECK_CONCURRENCY", "many"),
        ("SEDNO_PLANNER_SLOT_MINUTES", "half"),
        ("SEDNO_TIMEZONE", "Mars/Olympus"),
    ],
)
def test_a_bad_value_names_its_variable(workdir: Path, variable: str, value: str) -> None:
    env = {"SEDNO_SMTP_HOST": "smtp.example", variable: value}
    with pytest.raises(ValueError, match=f"^{variable}: "):
        load_configuration(env)


def test_config_show_prints_json_with_secrets_redacted(workdir: Path) -> None:
    (workdir / ".env").write_text(
        "SEDNO_CURATION_HOUR=9\nSEDNO_SMTP_HOST=smtp.example\nSEDNO_SMTP_PASSWORD=hunter2\n"
        "SEDNO_DATABASE_URL=postgresql://sedno:pw0rd@db.example/sedno\n"
        "SEDNO_DEVOPS_URL=https://dev.azure.com/o\nSEDNO_DEVOPS_PROJECT=P\n"
        "SEDNO_DEVOPS_PAT=pat-value\nSEDNO_SECRET_KEY=s3cret\nSEDNO_TELEPHONY_SECRET=pbx-secret\n"
    )
    result = CliRunner().invoke(main, ["config", "show"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["curation"]["hour"] == 9
    assert shown["core"]["smtp"] == {
        "host": "smtp.example",
        "port": 25,
        "user": "",
        "password": "***",
    }
    assert shown["core"]["devops"]["pat"] == "***"
    assert shown["core"]["secret_key"] == "***"
    assert shown["core"]["database"]["url"] == "postgresql://sedno:***@db.example/sedno"
    assert shown["telephony"]["secret"] == "***"
    for secret in ("hunter2", "pw0rd", "pat-value", "s3cret", "pbx-secret"):
        assert secret not in result.output


def test_config_show_refuses_a_bad_value_naming_it(workdir: Path) -> None:
    (workdir / ".env").write_text("SEDNO_CURATION_HOUR=late\n")
    result = CliRunner().invoke(main, ["config", "show"])
    assert result.exit_code == 1
    assert "SEDNO_CURATION_HOUR" in result.output


def test_redaction_keeps_empty_secrets_visible_as_empty() -> None:
    config = load_configuration({})
    assert redacted(config)["core"]["admin_token"] is None
    with pytest.raises(SettingsError):
        load_configuration({"SEDNO_SPAMD_PORT": "x"})
