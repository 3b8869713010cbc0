"""A PostgreSQL server for tests: the local one when it answers, else a throwaway cluster."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg

LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _pg_bin() -> Path | None:
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        for version in sorted(root.iterdir(), reverse=True):
            if (version / "bin" / "initdb").exists():
                return version / "bin"
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[str]:
    """initdb + pg_ctl under a temp dir; yields an admin URL; removes it all at the end."""
    bindir = _pg_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    tmp = Path(tempfile.mkdtemp(prefix="sedno-pg-"))
    datadir = tmp / "data"
    port = free_port()
    as_root = os.geteuid() == 0
    if as_root:
        shutil.chown(tmp, "postgres", "postgres")

    def run(cmd: list[str]) -> None:
        if as_root:
            cmd = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(f"'{c}'" for c in cmd)]
        subprocess.run(cmd, check=True, capture_output=True)

    run(
        [
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ]
    )
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp} -c fsync=off"
    run(
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(datadir),
            "-o",
            opts,
            "-l",
            str(tmp / "log"),
            "-w",
            "start",
        ]
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            run([str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """An admin URL of a server that answers: `SEDNO_TEST_PG_URL`, the local one, or a new one."""
    url = os.environ.get("SEDNO_TEST_PG_URL") or LOCAL_URL
    if _answers(url):
        yield url
        return
    with throwaway_cluster() as new_url:
        yield new_url


def create_database(admin_url: str, *, template: str | None = None) -> str:
    """A fresh database on the server (a copy of `template` when given, which nobody may be
    connected to); returns its SQLAlchemy URL."""
    name = f"sedno_test_{uuid.uuid4().hex[:12]}"
    copy_of = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{copy_of}')
    base = admin_url.rsplit("/", 1)[0]
    return f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"


def drop_database(admin_url: str, sa_url: str) -> None:
    name = sa_url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
