"""A PostgreSQL server for tests: the local one when it answers, else a throwaway cluster."""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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


class DatabasePool:
    """Copies of a template database made ahead, and used ones dropped, in the background.

    `CREATE DATABASE … TEMPLATE` waits for the server's disk, and `DROP DATABASE` waits for a
    whole checkpoint (seconds on a busy server): a test that takes a ready copy and hands it
    back waits for neither. Drops go in batches on parallel connections, so one checkpoint
    serves many of them. Each copy is still fresh: made from the template, used by one test,
    dropped.
    """

    def __init__(self, admin_url: str, template: str, ready: int = 2) -> None:
        self.admin_url = admin_url
        self.template = template
        self._ready: queue.Queue[str] = queue.Queue()
        self._used: queue.Queue[str] = queue.Queue()
        self._wanted = ready
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._make, name="pg-pool-make", daemon=True),
            threading.Thread(target=self._drop, name="pg-pool-drop", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def take(self) -> str:
        """The SQLAlchemy URL of a fresh copy of the template."""
        try:
            return self._ready.get_nowait()
        except queue.Empty:
            return create_database(self.admin_url, template=self.template)

    def give_back(self, sa_url: str) -> None:
        """Drop the copy (later, in the background); nobody may be connected to it."""
        self._used.put(sa_url)

    def _make(self) -> None:
        while not self._stop.is_set():
            if self._ready.qsize() >= self._wanted:
                self._stop.wait(0.05)
                continue
            # A failure leaves `take` to make its copies itself: never a test's failure.
            try:
                self._ready.put(create_database(self.admin_url, template=self.template))
            except psycopg.Error:
                self._stop.wait(1.0)

    def _drop(self) -> None:
        while not self._stop.is_set():
            try:
                batch = [self._used.get(timeout=0.05)]
            except queue.Empty:
                continue
            self._drop_all(batch)

    def _drop_all(self, batch: list[str]) -> None:
        while True:
            try:
                batch.append(self._used.get_nowait())
            except queue.Empty:
                break
        with ThreadPoolExecutor(max_workers=8) as pool:
            for url in batch:
                pool.submit(drop_database, self.admin_url, url)

    def close(self) -> None:
        """Drop every copy, ready or used, before the template itself goes."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        while not self._ready.empty():
            self._used.put(self._ready.get_nowait())
        self._drop_all([])
