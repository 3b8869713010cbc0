"""One contract, two implementations: the Azure DevOps client against the local stand-in
(served by uvicorn on a loopback port, real HTTP) and against a real organisation.

The real run needs ``SEDNO_TEST_DEVOPS_URL`` (e.g. ``https://dev.azure.com/acme``),
``SEDNO_TEST_DEVOPS_PROJECT`` and ``SEDNO_TEST_DEVOPS_PAT`` (Work Items read & write); optional
``SEDNO_TEST_DEVOPS_AREA`` (default: the project), ``SEDNO_TEST_DEVOPS_TYPE`` (default ``Bug``),
``SEDNO_TEST_DEVOPS_STATE`` (a state the type can move to from its first one, default
``Active``) and ``SEDNO_TEST_DEVOPS_ASSIGNEE`` (a user of the organisation). Work items it creates
are deleted (to the recycle bin) afterwards. Fault injection runs against the stand-in only.
"""

from __future__ import annotations

import base64
import json
import os
import random
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import uvicorn

from tickets.handoff.azure_devops import (
    AzureDevOpsClient,
    DevOpsFinal,
    DevOpsRetryable,
    RevisionConflict,
    WorkItemSpec,
    parse_workitem_updated,
    ticket_tag,
)
from tools.devops_standin import create_standin_app

STANDIN_PAT = "standin-pat"
HOOK_SECRET = "hook-secret-123"
REAL_ENV = ("SEDNO_TEST_DEVOPS_URL", "SEDNO_TEST_DEVOPS_PROJECT", "SEDNO_TEST_DEVOPS_PAT")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServedStandin:
    """The stand-in under uvicorn in a background thread, and its admin routes."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.root = f"http://127.0.0.1:{self.port}"
        self.org_url = f"{self.root}/standin"
        config = uvicorn.Config(
            create_standin_app(project="Sedno", pat=STANDIN_PAT),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.admin = httpx.Client(base_url=self.root, timeout=15)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the stand-in did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.admin.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def fault(self, **fault: Any) -> None:
        self.admin.post("/_standin/faults", json=fault).raise_for_status()

    def reset(self) -> None:
        self.admin.post("/_standin/reset").raise_for_status()

    def items(self) -> list[dict[str, Any]]:
        return list(self.admin.get("/_standin/workitems").json()["value"])

    def calls(self) -> list[dict[str, Any]]:
        return list(self.admin.get("/_standin/calls").json()["value"])

    def hooks(self) -> list[dict[str, Any]]:
        return list(self.admin.get("/_standin/hooks").json()["value"])


@pytest.fixture(scope="module", name="standin")
def standin_fixture() -> Iterator[ServedStandin]:
    served = ServedStandin()
    served.start()
    yield served
    served.stop()


@dataclass
class Backend:
    name: str
    org_url: str
    project: str
    pat: str
    area_path: str
    work_item_type: str
    target_state: str
    assignee: str | None
    served: ServedStandin | None = None
    created: list[int] = field(default_factory=list)

    def client(self, *, pat: str | None = None, timeout: float = 10) -> AzureDevOpsClient:
        return AzureDevOpsClient(
            self.org_url, self.project, self.pat if pat is None else pat, timeout=timeout
        )

    def spec(self, number: str, **overrides: Any) -> WorkItemSpec:
        values: dict[str, Any] = {
            "ticket_number": number,
            "ticket_url": f"https://sedno.example.com/tickets/{number.replace('/', '-')}",
            "title": f"[test] Błąd wydruku faktury {number}",
            "description": "Klient: <ACME & Syn>\nWydruk faktury korygującej\n\nWersja 2404.1",
            "area_path": self.area_path,
            "priority": "wysoki",
            "tags": ("sedno-test",),
            "assigned_to": self.assignee,
            "work_item_type": self.work_item_type,
        }
        values.update(overrides)
        return WorkItemSpec(**values)

    def unique_number(self) -> str:
        return f"ZS/2026/{random.randrange(10**6, 10**7)}"


def _delete_real_items(backend: Backend) -> None:
    with httpx.Client(auth=("", backend.pat), timeout=20) as http:
        for item_id in backend.created:
            http.delete(
                f"{backend.org_url.rstrip('/')}/{backend.project}/_apis/wit/workitems/{item_id}",
                params={"api-version": "7.1"},
            )


@pytest.fixture(params=["standin", "azure"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "standin":
        served: ServedStandin = request.getfixturevalue("standin")
        served.reset()
        yield Backend(
            name="standin",
            org_url=served.org_url,
            project="Sedno",
            pat=STANDIN_PAT,
            area_path="Sedno\\Kadry i Płace",
            work_item_type="Bug",
            target_state="Active",
            assignee="anna.nowak@example.com",
            served=served,
        )
        return
    missing = [name for name in REAL_ENV if not os.environ.get(name)]
    if missing:
        pytest.skip(f"real Azure DevOps not configured: set {', '.join(missing)}")
    project = os.environ["SEDNO_TEST_DEVOPS_PROJECT"]
    real = Backend(
        name="azure",
        org_url=os.environ["SEDNO_TEST_DEVOPS_URL"],
        project=project,
        pat=os.environ["SEDNO_TEST_DEVOPS_PAT"],
        area_path=os.environ.get("SEDNO_TEST_DEVOPS_AREA", project),
        work_item_type=os.environ.get("SEDNO_TEST_DEVOPS_TYPE", "Bug"),
        target_state=os.environ.get("SEDNO_TEST_DEVOPS_STATE", "Active"),
        assignee=os.environ.get("SEDNO_TEST_DEVOPS_ASSIGNEE") or None,
    )
    yield real
    _delete_real_items(real)


@pytest.fixture
def served(standin: ServedStandin) -> ServedStandin:
    """Stand-in only: fault injection and hooks."""
    standin.reset()
    return standin


def _standin_client(served: ServedStandin, *, timeout: float = 10) -> AzureDevOpsClient:
    return AzureDevOpsClient(served.org_url, "Sedno", STANDIN_PAT, timeout=timeout)


def _spec(number: str = "ZS/2026/17", **overrides: Any) -> WorkItemSpec:
    values: dict[str, Any] = {
        "ticket_number": number,
        "ticket_url": f"https://sedno.example.com/tickets/{number.replace('/', '-')}",
        "title": "Nie drukuje się faktura",
        "description": "Opis",
        "area_path": "Sedno",
    }
    values.update(overrides)
    return WorkItemSpec(**values)


# ------------------------------------------------------------------ the contract


def test_create_sends_fields_tags_relation_area_and_priority(backend: Backend) -> None:
    number = backend.unique_number()
    with backend.client() as client:
        item = client.create_work_item(backend.spec(number))
    backend.created.append(item.id)

    assert item.id > 0 and item.rev == 1
    assert item.title == f"[test] Błąd wydruku faktury {number}"
    assert item.area_path == backend.area_path
    assert item.priority == 2
    assert item.work_item_type == backend.work_item_type
    assert ticket_tag(number) in item.tags and "sedno-test" in item.tags
    assert f"https://sedno.example.com/tickets/{number.replace('/', '-')}" in item.hyperlinks
    assert item.html_url is not None and item.html_url.endswith(f"/_workitems/edit/{item.id}")
    description = item.fields["System.Description"]
    assert "Klient: &lt;ACME &amp; Syn&gt;<br>Wydruk faktury korygującej" in description
    assert "&lt;ACME &amp; Syn&gt;" in item.fields["Microsoft.VSTS.TCM.ReproSteps"]
    if backend.assignee:
        assert item.assigned_to is not None
        assert backend.assignee.split("@")[0].casefold() in item.assigned_to.casefold()


def test_get_returns_what_was_created(backend: Backend) -> None:
    number = backend.unique_number()
    with backend.client() as client:
        created = client.create_work_item(backend.spec(number))
        backend.created.append(created.id)
        fetched = client.get_work_item(created.id)

    assert (fetched.id, fetched.rev, fetched.title) == (created.id, created.rev, created.title)
    assert fetched.state == created.state and fetched.state
    assert fetched.tags == created.tags
    assert fetched.area_path == backend.area_path
    assert fetched.html_url == created.html_url
    assert fetched.hyperlinks == created.hyperlinks


def test_update_with_current_rev_applies_and_stale_rev_conflicts(backend: Backend) -> None:
    with backend.client() as client:
        item = client.create_work_item(backend.spec(backend.unique_number()))
        backend.created.append(item.id)

        commented = client.add_comment(item.id, item.rev, "Przekazano do produkcji <pilne>")
        assert commented.rev == item.rev + 1

        moved = client.set_state(item.id, commented.rev, backend.target_state)
        assert moved.rev == commented.rev + 1
        assert moved.state == backend.target_state

        with pytest.raises(RevisionConflict) as conflict:
            client.add_comment(item.id, item.rev, "spóźniony komentarz")
        assert conflict.value.status == 412
        assert conflict.value.expected_rev == item.rev
        assert client.get_work_item(item.id).rev == moved.rev, "a conflict changes nothing"


def test_add_tag_keeps_the_ticket_tag(backend: Backend) -> None:
    number = backend.unique_number()
    with backend.client() as client:
        item = client.create_work_item(backend.spec(number))
        backend.created.append(item.id)
        tagged = client.add_tag(item.id, item.rev, "eskalacja")
        assert set(tagged.tags) >= {ticket_tag(number), "sedno-test", "eskalacja"}
        assert client.find_by_tag(ticket_tag(number)) == [item.id]


def test_find_by_tag_finds_exactly_the_ticket_even_when_numbers_share_a_prefix(
    backend: Backend,
) -> None:
    base = backend.unique_number()
    with backend.client() as client:
        short = client.create_work_item(backend.spec(base))
        longer = client.create_work_item(backend.spec(base + "7"))
        backend.created += [short.id, longer.id]

        assert client.find_by_tag(ticket_tag(base)) == [short.id]
        assert client.find_by_tag(ticket_tag(base + "7")) == [longer.id]
        assert client.find_by_tag(ticket_tag(base + "9")) == []
        assert client.find_by_tag("it's-not-there") == [], "quotes are escaped in WIQL"


def test_wrong_pat_is_final_401(backend: Backend) -> None:
    with backend.client(pat="not-the-pat") as client, pytest.raises(DevOpsFinal) as error:
        client.find_by_tag(ticket_tag("ZS/2026/1"))
    assert error.value.status == 401
    assert not isinstance(error.value, DevOpsRetryable)


def test_unknown_work_item_is_final_404(backend: Backend) -> None:
    with backend.client() as client, pytest.raises(DevOpsFinal) as error:
        client.get_work_item(2_000_000_000)
    assert error.value.status == 404


def test_create_needs_a_json_patch_body(backend: Backend) -> None:
    url = f"{backend.org_url}/{backend.project}/_apis/wit/workitems/${backend.work_item_type}"
    ops = [{"op": "add", "path": "/fields/System.Title", "value": "x"}]
    with httpx.Client(auth=("", backend.pat), timeout=20) as http:
        answer = http.post(
            url,
            params={"api-version": "7.1"},
            json=ops,
            headers={"X-TFS-FedAuthRedirect": "Suppress"},
        )
    assert answer.status_code == 415


# ------------------------------------------------------------------ stand-in only: faults


def test_429_with_retry_after_is_retryable_and_honoured(served: ServedStandin) -> None:
    served.fault(mode="rate_limit", retry_after=1)
    with _standin_client(served) as client:
        with pytest.raises(DevOpsRetryable) as error:
            client.find_by_tag(ticket_tag("ZS/2026/1"))
        assert error.value.retry_after == 1.0
        assert not error.value.maybe_applied
        calls_after_429 = len(served.calls())

        # Retry-After is enforced by the client: nothing leaves before it passes.
        with pytest.raises(DevOpsRetryable) as early:
            client.find_by_tag(ticket_tag("ZS/2026/1"))
        assert early.value.retry_after is not None and 0 < early.value.retry_after <= 1.0
        assert len(served.calls()) == calls_after_429

        client.wait_for_allowance()
        assert client.find_by_tag(ticket_tag("ZS/2026/1")) == []


def test_500_is_retryable_and_may_have_applied(served: ServedStandin) -> None:
    served.fault(mode="error", status=500, match="create")
    with _standin_client(served) as client:
        with pytest.raises(DevOpsRetryable) as error:
            client.create_work_item(_spec())
        assert error.value.maybe_applied
        assert error.value.retry_after is None
        assert client.create_work_item(_spec()).rev == 1


def test_service_down_503_is_retryable(served: ServedStandin) -> None:
    served.fault(mode="down", count=None)
    with _standin_client(served) as client:
        for _ in range(2):
            with pytest.raises(DevOpsRetryable):
                client.get_work_item(1)
        served.admin.delete("/_standin/faults").raise_for_status()
        with pytest.raises(DevOpsFinal):
            client.get_work_item(1)


def test_timeout_is_retryable(served: ServedStandin) -> None:
    served.fault(mode="hang", seconds=2, match="create")
    with _standin_client(served, timeout=0.5) as client:
        started = time.monotonic()
        with pytest.raises(DevOpsRetryable) as error:
            client.create_work_item(_spec())
        assert time.monotonic() - started < 1.5
        assert error.value.maybe_applied, "a timed-out create must be looked up before a retry"
    assert served.items() == []


def test_connection_refused_is_retryable_and_not_applied() -> None:
    client = AzureDevOpsClient(f"http://127.0.0.1:{_free_port()}/standin", "Sedno", "x")
    with client, pytest.raises(DevOpsRetryable) as error:
        client.create_work_item(_spec())
    assert not error.value.maybe_applied


def test_create_applied_but_answered_too_late_is_adopted_not_duplicated(
    served: ServedStandin,
) -> None:
    spec = _spec("ZS/2026/41")
    served.fault(mode="slow_apply", seconds=2, match="create")
    with _standin_client(served, timeout=0.5) as client:
        with pytest.raises(DevOpsRetryable) as error:
            client.create_work_item(spec)
        assert error.value.maybe_applied

        # The rule: look up by tag before creating again.
        found = client.find_by_tag(ticket_tag(spec.ticket_number))
        assert len(found) == 1
        adopted = client.create_or_adopt(spec)
        assert adopted.id == found[0]
        assert client.create_or_adopt(spec).id == adopted.id
    assert len(served.items()) == 1
    assert [c["kind"] for c in served.calls()].count("create") == 1


def test_retry_after_on_a_200_is_surfaced_and_honoured(served: ServedStandin) -> None:
    served.fault(mode="retry_after_ok", retry_after=1, match="create")
    with _standin_client(served) as client:
        item = client.create_work_item(_spec())
        assert item.rev == 1
        assert client.last_retry_after == 1.0
        assert 0 < client.delay_before_next_call() <= 1.0
        calls = len(served.calls())
        with pytest.raises(DevOpsRetryable) as early:
            client.get_work_item(item.id)
        assert early.value.retry_after is not None and early.value.retry_after <= 1.0
        assert len(served.calls()) == calls, "nothing is sent before Retry-After passes"
        assert client.wait_for_allowance() > 0
        assert client.get_work_item(item.id).id == item.id


def test_missing_suppress_header_gives_the_sign_in_page(served: ServedStandin) -> None:
    url = f"{served.org_url}/Sedno/_apis/wit/workitems/1"
    answer = httpx.get(url, params={"api-version": "7.1"}, auth=("", "wrong"))
    assert answer.status_code == 203
    assert "text/html" in answer.headers["Content-Type"]


# ------------------------------------------------------------------ stand-in only: hooks


class HookReceiver:
    """A tiny Sedno-like webhook endpoint: checks the secret, keeps what arrived."""

    def __init__(self, secret: str, *, answer_after: float = 0.0) -> None:
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.answered = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                auth = self.headers.get("Authorization", "")
                password = ""
                if auth.startswith("Basic "):
                    password = base64.b64decode(auth[6:]).decode().partition(":")[2]
                ok = secret in (password, self.headers.get("X-Sedno-Secret"))
                if ok:
                    with receiver.lock:
                        receiver.received.append(json.loads(body))
                time.sleep(answer_after)
                self.send_response(200 if ok else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                receiver.answered.set()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/devops/webhook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 5) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        with self.lock:
            return list(self.received)


@pytest.fixture
def receiver() -> Iterator[HookReceiver]:
    hooks = HookReceiver(HOOK_SECRET)
    yield hooks
    hooks.close()


def test_state_change_fires_hooks_duplicated_and_out_of_order(
    served: ServedStandin, receiver: HookReceiver
) -> None:
    served.admin.post(
        "/_standin/config", json={"hook_url": receiver.url, "hook_secret": HOOK_SECRET}
    ).raise_for_status()
    with _standin_client(served) as client:
        item = client.create_work_item(_spec("ZS/2026/88"))
        answer = served.admin.post(
            f"/_standin/workitems/{item.id}/state",
            json={
                "state": "Resolved",
                "changed_by": "Piotr Produkcja <piotr@firma.pl>",
                "duplicate": 2,
                "out_of_order": True,
            },
        )
        answer.raise_for_status()
        assert [d["status_code"] for d in answer.json()["deliveries"]] == [200, 200, 200]

        updates = [parse_workitem_updated(p) for p in receiver.wait_for(3)]
        assert [u.rev for u in updates] == [2, 2, 1]
        assert updates[0].event_id == updates[1].event_id != updates[2].event_id
        newest = updates[0]
        assert newest.work_item_id == item.id
        assert (newest.old_state, newest.new_state, newest.state) == ("New", "Resolved", "Resolved")
        assert newest.changed_by == "piotr@firma.pl"
        assert "System.State" in newest.changed_fields
        assert ticket_tag("ZS/2026/88") in newest.tags

        # A consumer that keeps the highest rev ends on the newest state despite the replay.
        seen_rev, state = 0, None
        for update in updates:
            if update.rev > seen_rev:
                seen_rev, state = update.rev, update.state
        assert (seen_rev, state) == (2, "Resolved")
        assert client.get_work_item(item.id).rev == 2


def test_updates_through_the_api_fire_hooks_with_the_header_secret(
    served: ServedStandin, receiver: HookReceiver
) -> None:
    served.admin.post(
        "/_standin/config",
        json={"hook_url": receiver.url, "hook_secret": HOOK_SECRET, "hook_auth": "header"},
    ).raise_for_status()
    with _standin_client(served) as client:
        item = client.create_work_item(_spec("ZS/2026/89"))
        client.add_comment(item.id, item.rev, "Sprawdzone")
    received = receiver.wait_for(1)
    assert len(received) == 1
    update = parse_workitem_updated(received[0])
    assert (update.work_item_id, update.rev, update.new_state) == (item.id, 2, None)
    assert "System.CommentCount" in update.changed_fields


def test_a_reset_leaves_out_the_answer_of_a_hook_still_in_flight(served: ServedStandin) -> None:
    # The hook log of a new era stays empty although a hook sent before the reset is answered
    # after it (before: that answer landed in the new log, and the next test saw [200, 401]).
    slow = HookReceiver(HOOK_SECRET, answer_after=0.4)
    try:
        served.admin.post(
            "/_standin/config", json={"hook_url": slow.url, "hook_secret": HOOK_SECRET}
        ).raise_for_status()
        with _standin_client(served) as client:
            item = client.create_work_item(_spec("ZS/2026/91"))
            # An update through the API answers first and sends its hook after.
            client.add_comment(item.id, item.rev, "Sprawdzone")
        assert len(slow.wait_for(1)) == 1
        served.reset()
        assert slow.answered.wait(10)
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            assert served.hooks() == []
            time.sleep(0.05)
    finally:
        slow.close()


def test_a_wrong_hook_secret_is_refused_and_logged(
    served: ServedStandin, receiver: HookReceiver
) -> None:
    served.admin.post(
        "/_standin/config", json={"hook_url": receiver.url, "hook_secret": "wrong"}
    ).raise_for_status()
    with _standin_client(served) as client:
        item = client.create_work_item(_spec("ZS/2026/90"))
    served.admin.post(
        f"/_standin/workitems/{item.id}/state", json={"state": "Active"}
    ).raise_for_status()
    assert receiver.received == []
    assert [h["status_code"] for h in served.hooks()] == [401]
