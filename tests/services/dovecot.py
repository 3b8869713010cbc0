"""A real Dovecot IMAP server for tests, configured in a temp dir, with stop and restart."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.services.postgres import free_port

USER = "support"
PASSWORD = "tajne-haslo"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/log/dovecot.log
info_log_path = {root}/log/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:{root}/mail/%u
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
# Any other user name with the test password: a fresh mailbox per test, no reloads needed.
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
protocol imap {{
  mail_max_userip_connections = 200
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    user = {user}
    group = {group}
    mode = 0660
  }}
  unix_listener stats-writer {{
    user = {user}
    group = {group}
    mode = 0660
  }}
}}
"""


class DovecotUnavailable(RuntimeError):
    """Dovecot cannot run here; tests skip with this reason."""


def ensure_installed() -> str:
    """The dovecot binary, installing `dovecot-imapd` when missing and running as root."""
    found = shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
    )
    if found:
        return found
    if os.geteuid() != 0:
        raise DovecotUnavailable("dovecot is not installed and we are not root to install it")
    cmd = ["apt-get", "install", "-y", "dovecot-imapd"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(cmd, capture_output=True, env=env).returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, env=env)
        result = subprocess.run(cmd, capture_output=True, env=env)
        if result.returncode != 0:
            raise DovecotUnavailable(
                f"apt-get install dovecot-imapd failed: {result.stderr[-500:]!r}"
            )
    found = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not Path(found).exists():
        raise DovecotUnavailable("dovecot-imapd installed but no dovecot binary found")
    return found


def _wait_port(port: int, *, up: bool, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                if up and sock.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    raise RuntimeError(f"dovecot port {port} did not go {'up' if up else 'down'}")


class Dovecot:
    """One Dovecot instance with one mailbox user; `host`, `port`, `user`, `password`."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.host = "127.0.0.1"
        self.port = free_port()
        self.user = USER
        self.password = PASSWORD
        self.root = Path(tempfile.mkdtemp(prefix="sedno-dovecot-"))
        self.config = self.root / "dovecot.conf"
        account = pwd.getpwnam("dovecot") if _has_user("dovecot") else pwd.getpwnam("nobody")
        self._uid, self._gid = account.pw_uid, account.pw_gid
        self._write_config(account.pw_name)

    def _write_config(self, user_name: str) -> None:
        os.chmod(self.root, 0o755)
        for sub in ("run", "state", "log", "mail", "home"):
            (self.root / sub).mkdir(exist_ok=True)
        for sub in ("mail", "home", "log"):
            os.chown(self.root / sub, self._uid, self._gid)
        group = _group_name(self._gid)
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        self.config.write_text(
            CONFIG.format(
                root=self.root,
                port=self.port,
                uid=self._uid,
                gid=self._gid,
                user=user_name,
                group=group,
                password=self.password,
            )
        )

    def add_user(self, name: str) -> None:
        """Another mailbox user: any name logs in with the test password (static passdb)."""
        if not name.isalnum():
            raise ValueError("mailbox user names are alphanumeric")

    def start(self) -> None:
        # The daemon keeps inherited pipes open: send its output to a file, not to a pipe.
        with open(self.root / "log" / "start.log", "ab") as out:
            result = subprocess.run(
                [self.binary, "-c", str(self.config)], stdout=out, stderr=out, timeout=30
            )
        if result.returncode != 0:
            raise RuntimeError(f"dovecot did not start:\n{self.log()}")
        _wait_port(self.port, up=True)

    def stop(self) -> None:
        subprocess.run(
            ["doveadm", "-c", str(self.config), "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
        )
        _wait_port(self.port, up=False)
        # The master exits a moment after the port closes; wait for its pid file to go.
        deadline = time.monotonic() + 10
        while (self.root / "run" / "master.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        path = self.root / "log" / "dovecot.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def env(self, user: str | None = None) -> dict[str, str]:
        """`SEDNO_IMAP_*` settings for a worker process."""
        return {
            "SEDNO_IMAP_HOST": self.host,
            "SEDNO_IMAP_PORT": str(self.port),
            "SEDNO_IMAP_USER": user or self.user,
            "SEDNO_IMAP_PASSWORD": self.password,
            "SEDNO_IMAP_SSL": "false",
            "SEDNO_IMAP_FOLDER": "INBOX",
        }

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _group_name(gid: int) -> str:
    import grp

    return grp.getgrgid(gid).gr_name


@contextlib.contextmanager
def dovecot_server() -> Iterator[Dovecot]:
    """A running Dovecot; raises DovecotUnavailable when it cannot run here."""
    if os.geteuid() != 0:
        raise DovecotUnavailable("Dovecot is started as root from its own config; not root here")
    server = Dovecot(ensure_installed())
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.cleanup()
