"""The scaled-out layout of `compose.yaml`, from local processes: `python -m tools.cluster`.

A throwaway PostgreSQL (initdb/pg_ctl under a temp dir), `sedno migrate` once, two API
replicas (`sedno serve --no-workers`) on loopback ports, two outbox workers and, when a mailbox
is configured (SEDNO_IMAP_HOST), two intake workers. Search is the embedded engine on the shared
data dir: every process opens the same tantivy index; readers see other processes' commits on
their own (tantivy reloads on commit) and writers take the index lock only around a write.
Ctrl-C stops everything. `Cluster` is also what the cluster, load and fault tests drive.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO

import click
import httpx
import psycopg

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bindir() -> Path:
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        for version in sorted(root.iterdir(), reverse=True):
            if (version / "bin" / "initdb").exists():
                return version / "bin"
    found = shutil.which("initdb")
    if found is None:
        raise click.ClickException("PostgreSQL is not installed (apt-get install postgresql)")
    return Path(found).parent


class Postgres:
    """A throwaway PostgreSQL cluster that can be stopped and started again (fault tests)."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root = root
        self.datadir = root / "pgdata"
        self.port = port or free_port()
        self.bindir = _pg_bindir()
        self.as_root = os.geteuid() == 0

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str = "sedno") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, cmd: list[str]) -> None:
        if self.as_root:
            cmd = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(f"'{c}'" for c in cmd)]
        subprocess.run(cmd, check=True, capture_output=True)

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        )

    def start(self) -> None:
        opts = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
            "-c max_connections=300 -c fsync=off -c synchronous_commit=off"
        )
        self._run(
            [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-o",
                opts,
                "-l",
                str(self.root / "postgres.log"),
                "-w",
                "start",
            ]
        )

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(
                [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"]
            )

    def create_database(self, name: str = "sedno") -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')


class Cluster:
    """Postgres + migrate + API replicas + workers as child processes of this one."""

    def __init__(
        self,
        root: Path,
        *,
        replicas: int = 2,
        outbox_workers: int = 2,
        intake_workers: int = 2,
        env: Mapping[str, str] | None = None,
        admin_token: str | None = None,
    ) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.logs = root / "logs"
        self.postgres = Postgres(root / "pg")
        self.replica_ports = [free_port() for _ in range(replicas)]
        self.outbox_workers = outbox_workers
        self.admin_token = admin_token or f"sdn_cluster_{secrets.token_urlsafe(18)}"
        self.extra_env = dict(env or {})
        self.intake_workers = intake_workers if self._env().get("SEDNO_IMAP_HOST") else 0
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._outputs: list[IO[bytes]] = []

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.replica_ports]

    def _env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "SEDNO_DATA_DIR": str(self.data_dir),
            "SEDNO_ADMIN_TOKEN": self.admin_token,
            "SEDNO_RUN_WORKERS": "0",
            "PYTHONPATH": str(REPO),
            **self.extra_env,
        }
        if hasattr(self, "postgres"):
            env["SEDNO_DATABASE_URL"] = self.postgres.url()
        return env

    def _sedno(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "api.cli", *args]

    def spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        self.logs.mkdir(parents=True, exist_ok=True)
        out = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self._outputs.append(out)
        proc = subprocess.Popen(args, cwd=REPO, env=self._env(), stdout=out, stderr=out)
        self.procs[name] = proc
        return proc

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.postgres.init()
        self.postgres.start()
        self.postgres.create_database()
        subprocess.run(self._sedno("migrate"), cwd=REPO, env=self._env(), check=True)
        for i, port in enumerate(self.replica_ports, 1):
            self.spawn(f"api{i}", self._sedno("serve", "--no-workers", "--port", str(port)))
        for i in range(1, self.outbox_workers + 1):
            self.spawn(f"outbox{i}", self._sedno("worker", "outbox"))
        for i in range(1, self.intake_workers + 1):
            self.spawn(f"intake{i}", self._sedno("worker", "intake"))
        self.wait_healthy()

    def wait_healthy(self, timeout_s: float = 180.0) -> None:
        deadline = time.monotonic() + timeout_s
        for url in self.urls:
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                dead = [n for n, p in self.procs.items() if p.poll() is not None]
                if dead or time.monotonic() > deadline:
                    raise RuntimeError(f"cluster did not come up (exited: {dead}); see {self.logs}")
                time.sleep(0.1)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        proc.send_signal(sig)
        proc.wait(timeout=30)

    def restart(self, name: str) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            self.kill(name, signal.SIGTERM)
        self.spawn(name, [str(a) for a in proc.args])  # type: ignore[union-attr]

    def revive(self) -> list[str]:
        """Restart every process that has exited (killed by a test); their names."""
        dead = [name for name, proc in self.procs.items() if proc.poll() is not None]
        for name in dead:
            self.restart(name)
        if dead:
            self.wait_healthy()
        return dead

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.postgres.stop()
        for out in self._outputs:
            out.close()

    def describe(self) -> str:
        lines = [f"PostgreSQL   {self.postgres.url()}"]
        lines += [f"API replica  {url}" for url in self.urls]
        lines += [f"workers      {', '.join(n for n in self.procs if not n.startswith('api'))}"]
        lines += [f"admin token  {self.admin_token}", f"data dir     {self.data_dir}"]
        lines += [f"logs         {self.logs}"]
        return "\n".join(lines)


@contextlib.contextmanager
def running_cluster(root: Path | None = None, **kwargs: object) -> Iterator[Cluster]:
    """A started cluster, stopped (and its temp dir removed) at the end."""
    owned = root is None
    base = root or Path(tempfile.mkdtemp(prefix="sedno-cluster-"))
    os.chmod(base, 0o755)  # the postgres user must reach its data dir below
    cluster = Cluster(base, **kwargs)  # type: ignore[arg-type]
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        if owned:
            shutil.rmtree(base, ignore_errors=True)


@click.command()
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--replicas", default=2, show_default=True)
@click.option("--outbox-workers", default=2, show_default=True)
@click.option("--intake-workers", default=2, show_default=True)
def main(root: Path | None, replicas: int, outbox_workers: int, intake_workers: int) -> None:
    """Start the scaled-out layout locally; Ctrl-C stops it."""
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    with running_cluster(
        root,
        replicas=replicas,
        outbox_workers=outbox_workers,
        intake_workers=intake_workers,
    ) as cluster:
        click.echo(cluster.describe())
        click.echo("Ctrl-C stops the cluster.")
        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        while not stop:
            dead = [n for n, p in cluster.procs.items() if p.poll() is not None]
            if dead:
                click.echo(f"exited: {', '.join(dead)} (see {cluster.logs})", err=True)
                break
            time.sleep(0.5)
        click.echo("stopping…")


if __name__ == "__main__":
    main()
