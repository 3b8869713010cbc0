"""Alembic, driven from code: `sedno migrate` and the embedded default's start-up."""

from __future__ import annotations

import warnings
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def check(url: str) -> None:
    """Raise when the models and the migrations disagree.

    SQLite cannot reflect expression indexes (`lower(email)`), so Alembic skips comparing them
    there with a warning; PostgreSQL compares them."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*expression-based index")
        command.check(alembic_config(url))
