"""What `sedno serve` needs around uvicorn: the public URL it is reached at, and child
processes (the DevOps stand-in) that never outlive it."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from typing import Final

PR_SET_PDEATHSIG: Final = 1
WILDCARD_HOSTS: Final = frozenset({"", "0.0.0.0", "::", "[::]"})


def default_public_url(host: str, port: int) -> str:
    """`http://host:port` as a browser reaches this server (a wildcard bind: this machine's
    name), used when `SEDNO_PUBLIC_URL` is not set."""
    if host in WILDCARD_HOSTS:
        host = socket.gethostname()
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def free_port(preferred: int, host: str = "127.0.0.1") -> int:
    """`preferred` when nothing listens there, else any free port (two `make run`s coexist)."""
    with socket.socket() as probe:
        try:
            probe.bind((host, preferred))
            return preferred
        except OSError:
            pass
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: the kernel sends SIGTERM when the parent dies, however it
    dies (even SIGKILL, where no `finally` of ours runs)."""
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_child(argv: Sequence[str]) -> subprocess.Popen[bytes]:
    """A helper process in a process group of its own: Ctrl-C reaches only `sedno serve`,
    which then stops the group itself (`stop_child`), after its own shutdown."""
    return subprocess.Popen(list(argv), start_new_session=True, preexec_fn=_die_with_parent)


def stop_child(child: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """SIGTERM to the child's whole process group, SIGKILL when it does not stop in time."""
    if child.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGTERM)
    try:
        child.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
