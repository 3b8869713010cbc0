"""The UI in headless Chromium: a real server (uvicorn, loopback) over demo data."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import uvicorn

from api.app import create_app
from api.bootstrap import build_container, load_configuration, make_outbox_worker
from api.container import Container
from api.serving import start_child, stop_child
from tests.services.smtp import SmtpServer, smtp_server
from tickets.core.settings import load_settings
from tools.demo import load_demo

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
TELEPHONY_SECRET = "ui-pbx-secret"
REPO = Path(__file__).resolve().parents[3]
# Where the UI tests leave their screenshots (to look at): var/screenshots, untracked, unless
# SEDNO_SCREENSHOTS names another folder (`SEDNO_SCREENSHOTS=docs/screenshots` refreshes the
# README's pictures), so that running the tests leaves the checkout as it was.
SCREENSHOTS = REPO / os.environ.get("SEDNO_SCREENSHOTS", "var/screenshots")


class Server(msgspec.Struct):
    url: str
    container: Container

    def index(self) -> None:
        """Carry out queued outbox jobs (search indexing) as the worker would."""
        make_outbox_worker(self.container).drain()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_desk(env: dict[str, str], port: int) -> Iterator[Server]:
    """The app over demo data under uvicorn on `port`, its outbox drained by the test."""
    settings = load_settings(env)
    container = build_container(settings, prepare="create", config=load_configuration(env))
    load_demo(container)
    make_outbox_worker(container).drain()
    app = create_app(settings, container=container, run_workers=False)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="ui-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    # The first import of intake (its classifier libraries) can take many seconds on a busy
    # machine; the app starts it in the background, and the tests wait for it once here.
    app.state.ui_warm_up.join(timeout=120)
    try:
        yield Server(url=f"http://127.0.0.1:{port}", container=container)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        container.close()


@pytest.fixture(scope="package")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("ui-data")
    env = {
        "SEDNO_DATA_DIR": str(data),
        "SEDNO_RUN_WORKERS": "0",
        "SEDNO_TELEPHONY_SECRET": TELEPHONY_SECRET,
    }
    with serve_desk(env, _free_port()) as server:
        yield server


STANDIN_SECRET = "ui-standin-hook-secret"


@dataclass
class DeskWithProduction:
    """The desk served as `sedno serve --demo-devops` serves it: the Azure DevOps stand-in
    as a process of its own (its service hook calls the desk back), and a real SMTP server."""

    desk: Server
    standin_url: str
    smtp: SmtpServer
    admin: httpx.Client
    """The stand-in's test routes (`/_standin/...`): production's side of the story."""

    def resolve(self, work_item_id: int) -> None:
        """Production resolves the work item; the stand-in's hook tells the desk at once."""
        answer = self.admin.post(
            f"/_standin/workitems/{work_item_id}/state",
            json={"state": "Resolved", "changed_by": "Ewa Produkcja <produkcja@standin.local>"},
        )
        answer.raise_for_status()
        assert [d["status_code"] for d in answer.json()["deliveries"]] == [200]


def _start_standin(port: int, hook_url: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "api.cli", "devops", "standin", "--port", str(port)]
    child = start_child([*argv, "--hook-url", hook_url, "--hook-secret", STANDIN_SECRET])
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_standin/workitems").status_code == 200:
                return child
        except httpx.HTTPError:
            pass
        if child.poll() is not None or time.monotonic() > deadline:
            stop_child(child)
            raise RuntimeError("the DevOps stand-in did not start")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def production_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskWithProduction]:
    port, standin_port = _free_port(), _free_port()
    url, standin_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{standin_port}"
    standin = _start_standin(standin_port, f"{url}/api/devops/webhook")
    env = {
        "SEDNO_DATA_DIR": str(tmp_path_factory.mktemp("ui-devops-data")),
        "SEDNO_RUN_WORKERS": "0",
        "SEDNO_PUBLIC_URL": url,
        "SEDNO_MAIL_FROM": "Pomoc Sedno <pomoc@sedno.test>",
        "SEDNO_DEVOPS_URL": f"{standin_url}/standin",
        "SEDNO_DEVOPS_PROJECT": "Sedno",
        "SEDNO_DEVOPS_PAT": "standin-pat",
        "SEDNO_DEVOPS_WEBHOOK_SECRET": STANDIN_SECRET,
    }
    try:
        with smtp_server() as smtp:
            env.update(SEDNO_SMTP_HOST=smtp.host, SEDNO_SMTP_PORT=str(smtp.port))
            with serve_desk(env, port) as desk, httpx.Client(base_url=standin_url) as admin:
                yield DeskWithProduction(desk, standin_url, smtp, admin)
    finally:
        stop_child(standin)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if shutil.which("chromium") is None and not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (run `bash .ci/system-deps.sh` as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, ui_server: Server) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT, locale="pl-PL", timezone_id="Europe/Warsaw")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    # Console errors include CSP violations. Not errors of the page: a refused request the
    # test expects (401/403: "Failed to load resource"), and the mail frame's sandbox refusing
    # to run script there (Playwright's own probes of the frame included).
    expected = ("Failed to load resource", "Blocked script execution in 'about:srcdoc'")

    def on_console(msg: Any) -> None:
        if msg.type == "error" and not msg.text.startswith(expected):
            errors.append(msg.text)

    tab.on("console", on_console)
    yield tab
    context.close()
    assert errors == [], f"the page reported errors: {errors}"


def login(page: Any, url: str, user: str = "konsultant") -> None:
    """Log in through the form, as a person would."""
    page.goto(f"{url}/login")
    page.fill("input[name=login]", user)
    page.fill("input[name=password]", f"{user}-demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def no_sideways_scroll(page: Any) -> None:
    """The page is no wider than the screen: nothing to scroll sideways to."""
    scroll, client = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll <= client, f"{page.url} is {scroll}px wide on a {client}px screen"


@contextmanager
def sized_tab(browser: Any, viewport: dict[str, int], **options: Any) -> Iterator[Any]:
    """A Polish tab of the given size (Warsaw time); no script error may happen in it."""
    context = browser.new_context(
        viewport=viewport, locale="pl-PL", timezone_id="Europe/Warsaw", **options
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert errors == []
