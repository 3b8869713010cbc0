"""A developer's first look: `sedno serve` as a process (one log line a request, Alembic's
plugin lines once, Ctrl-C stops the DevOps stand-in too, the public URL follows the port) and
an OpenAPI document with a desk's data as its examples."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.bootstrap import build_container
from api.serving import default_public_url, free_port
from tickets.core.settings import load_settings

SEDNO = [sys.executable, "-m", "api.cli"]
RANDOM_EXAMPLE = re.compile(r"^[A-Za-z]{20}$")  # what Litestar's example factory makes up


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient[Any], Any]]:
    data = tmp_path_factory.mktemp("openapi")
    settings = load_settings({"SEDNO_DATA_DIR": str(data), "SEDNO_RUN_WORKERS": "0"})
    container = build_container(settings, prepare="create")
    with TestClient(create_app(settings, container=container, run_workers=False)) as client:
        yield client, client.get("/schema/openapi.json").json()
    container.close()


def _examples(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "examples" and isinstance(value, list):
                yield from value
            elif key == "example":
                yield value
            yield from _examples(value)
    elif isinstance(node, list):
        for item in node:
            yield from _examples(item)


def test_openapi_examples_are_a_desks_data_not_random_strings(
    openapi: tuple[TestClient[Any], Any],
) -> None:
    _, doc = openapi
    schemas = doc["components"]["schemas"]
    assert schemas["TicketView"]["properties"]["number"]["examples"] == ["ZS/2026/42"]
    assert schemas["TicketCreate"]["properties"]["product"]["examples"] == ["enova365"]
    assert schemas["Hit"]["properties"]["module"]["examples"] == ["Handel"]
    week = json.dumps(schemas["WeekReport"])
    assert "2026-W48" in week
    made_up = [v for v in _examples(doc) if isinstance(v, str) and RANDOM_EXAMPLE.match(v)]
    assert made_up == []


def test_swagger_ui_loads_nothing_from_outside(openapi: tuple[TestClient[Any], Any]) -> None:
    client, _ = openapi
    page = client.get("/schema/swagger").text
    urls = re.findall(r'(?:src|href)=["\']([^"\']+)', page)
    assert urls and all(url.startswith("/") for url in urls), urls
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert "SwaggerUIBundle" in client.get("/schema/assets/swagger-ui-bundle.js").text
    assert "Apache License" in client.get("/schema/assets/LICENSE").text
    # Only the files the page needs are served from the package folder.
    assert client.get("/schema/assets/index.html").status_code == 404


def test_public_url_follows_host_and_port() -> None:
    assert default_public_url("127.0.0.1", 8017) == "http://127.0.0.1:8017"
    assert default_public_url("0.0.0.0", 8080) == f"http://{socket.gethostname()}:8080"
    assert default_public_url("::1", 8080) == "http://[::1]:8080"
    assert load_settings({"SEDNO_PUBLIC_URL": "https://pomoc.example.pl/"}).public_url_explicit
    assert not load_settings({}).public_url_explicit


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEDNO_")}
    env.update({"SEDNO_DATA_DIR": str(data), "SEDNO_RUN_WORKERS": "0"})
    return env


def _wait_for(url: str, log: Path, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"sedno serve exited:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer:\n{log.read_text()}")


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_serve_logs_once_and_ctrl_c_stops_every_child(tmp_path: Path) -> None:
    env = _env(tmp_path / "data")
    migrated = subprocess.run(
        [*SEDNO, "migrate"], env=env, capture_output=True, text=True, timeout=300, check=True
    )
    assert migrated.stderr.count("setup plugin alembic.autogenerate.tables") == 1

    port = free_port(18017)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        # A session of its own, like a terminal's foreground job: Ctrl-C is SIGINT to it.
        serve = subprocess.Popen(
            [*SEDNO, "serve", "--port", str(port), "--no-workers", "--demo-devops"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for(f"http://127.0.0.1:{port}/health", log, serve, 240)
        text = log.read_text()
        standin = re.search(r"stand-in on http://127\.0\.0\.1:(\d+)/", text)
        assert standin is not None, text
        standin_port = int(standin.group(1))
        _wait_for(f"http://127.0.0.1:{standin_port}/_standin/workitems", log, serve, 60)
        assert f"Sedno on http://127.0.0.1:{port}/" in text
        for _ in range(3):
            assert httpx.get(f"http://127.0.0.1:{port}/login").status_code == 200
        # The access line is written after the answer is sent: wait for the three to be there.
        deadline = time.monotonic() + 30
        while log.read_text().count("/login") < 3 and time.monotonic() < deadline:
            time.sleep(0.05)

        os.killpg(serve.pid, signal.SIGINT)
        assert serve.wait(timeout=60) is not None
        text = log.read_text()
        request_lines = [line for line in text.splitlines() if "/login" in line]
        assert len(request_lines) == 3, request_lines
        assert "setup plugin" not in text
        deadline = time.monotonic() + 15
        while _listening(standin_port) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert not _listening(standin_port), "the DevOps stand-in outlived sedno serve"
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
