"""A real SpamAssassin spamd for tests: local rules only (no network here), on a free port."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.services.postgres import free_port


class SpamdUnavailable(RuntimeError):
    """spamd cannot run here; tests skip with this reason."""


def ensure_installed() -> str:
    """The spamd binary, installing Debian's `spamassassin` and `spamc` when missing (root)."""
    found = shutil.which("spamd") or (
        "/usr/sbin/spamd" if Path("/usr/sbin/spamd").exists() else None
    )
    if found:
        return found
    if os.geteuid() != 0:
        raise SpamdUnavailable("spamassassin is not installed and we are not root to install it")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", "spamassassin", "spamd", "spamc"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(cmd, capture_output=True, env=env).returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, env=env)
        result = subprocess.run(cmd, capture_output=True, env=env)
        if result.returncode != 0:
            raise SpamdUnavailable(f"apt-get install spamassassin failed: {result.stderr[-500:]!r}")
    found = shutil.which("spamd") or "/usr/sbin/spamd"
    if not Path(found).exists():
        raise SpamdUnavailable("spamassassin installed but no spamd binary found")
    return found


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING SPAMC/1.5\r\n\r\n")
            return b"PONG" in sock.recv(64)
    except OSError:
        return False


class Spamd:
    """One spamd on 127.0.0.1:`port`, as `nobody`, with its pid file and log in a temp dir."""

    def __init__(self, binary: str, children: int = 2) -> None:
        self.binary = binary
        self.host = "127.0.0.1"
        self.port = free_port()
        self.children = children
        self.root = Path(tempfile.mkdtemp(prefix="sedno-spamd-"))
        os.chmod(self.root, 0o755)
        self.pidfile = self.root / "spamd.pid"
        self.logfile = self.root / "spamd.log"

    def start(self, timeout_s: float = 60.0) -> None:
        args = [
            self.binary,
            "-d",
            "-L",  # local tests only: there is no network here
            "-x",
            f"--listen={self.host}:{self.port}",
            f"--allowed-ips={self.host}",
            f"--pidfile={self.pidfile}",
            f"--max-children={self.children}",
            f"--min-children={self.children}",
            "-s",
            str(self.logfile),
        ]
        if os.geteuid() == 0:
            args += ["-u", "nobody"]
        subprocess.run(args, check=True, timeout=60, capture_output=True)
        deadline = time.monotonic() + timeout_s
        while not _answers(self.port):
            if time.monotonic() > deadline:
                raise SpamdUnavailable(f"spamd did not answer on {self.port}: {self.log()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.pidfile.exists():
            with contextlib.suppress(ValueError, ProcessLookupError):
                os.kill(int(self.pidfile.read_text().strip()), 15)
        deadline = time.monotonic() + 10
        while _answers(self.port) and time.monotonic() < deadline:
            time.sleep(0.1)

    def log(self) -> str:
        return self.logfile.read_text(errors="replace")[-2000:] if self.logfile.exists() else ""

    def env(self) -> dict[str, str]:
        return {"SEDNO_SPAMD_HOST": self.host, "SEDNO_SPAMD_PORT": str(self.port)}


@contextlib.contextmanager
def spamd_server() -> Iterator[Spamd]:
    """A running spamd; raises SpamdUnavailable when it cannot run here."""
    server = Spamd(ensure_installed())
    try:
        server.start()
    except (subprocess.SubprocessError, OSError) as exc:
        raise SpamdUnavailable(f"spamd did not start: {exc}") from exc
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
