"""`sedno backup DIR` / `sedno restore DIR` for the embedded default.

The backup holds the SQLite database (taken with SQLite's online backup API, so the server may
keep running), the content-addressed blobs (raw mail, attachments) and a manifest. The search
index is not backed up: `restore` rebuilds it from the database.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from pathlib import Path

from tickets.core.settings import Settings

MANIFEST = "sedno-backup.json"


class BackupError(Exception):
    """The backup cannot be taken or restored (wrong database, bad folder)."""


def _sqlite_path(settings: Settings) -> Path:
    url = settings.database.url
    if not url.startswith("sqlite:///"):
        raise BackupError(
            "backup/restore is for the embedded SQLite database; use pg_dump for PostgreSQL"
        )
    return Path(url.removeprefix("sqlite:///"))


def _copy_tree(source: Path, target: Path) -> int:
    """Copy new files only (blobs are immutable, named by their hash)."""
    count = 0
    if not source.is_dir():
        return 0
    for path in source.rglob("*"):
        if path.is_file() and not path.name.startswith(".tmp-"):
            dest = target / path.relative_to(source)
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dest)
                count += 1
    return count


def backup(settings: Settings, target: Path) -> dict[str, object]:
    db_path = _sqlite_path(settings)
    if not db_path.exists():
        raise BackupError(f"no database at {db_path}")
    target.mkdir(parents=True, exist_ok=True)
    if (target / "sedno.db").exists():
        raise BackupError(f"{target} already holds a backup")
    # Blobs first: anything the database names was written before its commit.
    blobs = _copy_tree(settings.data_dir / "blobs", target / "blobs")
    source = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    dest = sqlite3.connect(target / "sedno.db")
    try:
        source.backup(dest)
    finally:
        dest.close()
        source.close()
    manifest = {
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "database": "sedno.db",
        "blobs": blobs,
        "format": 1,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def restore(settings: Settings, source: Path) -> dict[str, object]:
    manifest_path = source / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"{source} is not a Sedno backup (no {MANIFEST})")
    manifest: dict[str, object] = json.loads(manifest_path.read_text(encoding="utf-8"))
    db_path = _sqlite_path(settings)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source / 'sedno.db'}?mode=ro", uri=True)
    dst = sqlite3.connect(db_path)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    _copy_tree(source / "blobs", settings.data_dir / "blobs")
    shutil.rmtree(settings.data_dir / "search", ignore_errors=True)
    return manifest
