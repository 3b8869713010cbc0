"""Handoff round trip over real HTTP: Sedno and the DevOps stand-in each served by uvicorn,
a real SMTP server (aiosmtpd), real SQLite and PostgreSQL. Nothing is patched."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import func, select

from api.container import Container
from intake.mailer import make_send_mail_handler
from tests.integration.test_devops_contract import STANDIN_PAT, ServedStandin, _free_port
from tests.services.apps import shared_app
from tests.services.smtp import SmtpServer, smtp_server
from tickets.accounts.auth import create_user
from tickets.core.attachments import BlobStore
from tickets.core.db import Database
from tickets.core.orm import TicketHistoryRow, TicketRow
from tickets.core.outbox import OutboxJobRow, OutboxWorker, retry_now
from tickets.core.schemas import Actor, TicketCreate
from tickets.core.services import create_ticket, transition_ticket
from tickets.core.settings import Settings, load_settings
from tickets.handoff import service as handoff
from tickets.handoff.azure_devops import forget_retry_after, ticket_tag
from tickets.notices.rules import lead_wants_mail
from tickets.notifications import service as notifications

SECRET = "hook-secret-for-tests"
"""Each test's desk has its own secret (`SECRET` and a suffix): a hook the stand-in sends late,
after the test that caused it (a response held back by a fault), is refused by the next test's
desk, which shares the app and its URL."""
PUBLIC_URL = "http://sedno.test"
MODULE = "Kadry Płace"
AREA = "Sedno\\Kadry Płace"
DRAINED_KINDS = (
    handoff.CREATE_JOB,
    handoff.EXPORT_JOB,
    notifications.NOTIFY_USER_JOB,
    notifications.NOTIFY_STATE_JOB,
    "mail.send",
)


class ServedApp:
    """An ASGI app under uvicorn on a free loopback port."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", timeout_graceful_shutdown=1
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServedApp:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the app did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Env:
    db: Database
    container: Container
    standin: ServedStandin
    smtp: SmtpServer
    worker: OutboxWorker
    hook_url: str
    consultant: Actor
    consultant_id: int
    second_line_id: int

    def new_ticket(self, title: str = "Błąd wydruku listy płac", **fields: Any) -> int:
        values: dict[str, Any] = {
            "definition": "ZS",
            "title": title,
            "description": "Wydruk <PIT-11> & lista płac\nnie zawiera premii",
            "module": MODULE,
            "priority": "wysoki",
        }
        values.update(fields)
        with self.db.transaction() as s:
            ticket = create_ticket(s, self.consultant, TicketCreate(**values))
            transition_ticket(s, self.consultant, ticket.id, "analysing")
            return ticket.id

    def hand_off(self, ticket_id: int) -> None:
        with self.db.transaction() as s:
            handoff.request_handoff(s, self.consultant, ticket_id)

    def move(self, ticket_id: int, to: str) -> None:
        with self.db.transaction() as s:
            transition_ticket(s, self.consultant, ticket_id, to)

    def ticket(self, ticket_id: int) -> TicketRow:
        with self.db.read() as s:
            row = s.get(TicketRow, ticket_id)
            assert row is not None
            s.expunge(row)
            return row

    def history(self, ticket_id: int, action: str | None = None) -> list[TicketHistoryRow]:
        with self.db.read() as s:
            query = select(TicketHistoryRow).where(TicketHistoryRow.ticket_id == ticket_id)
            if action:
                query = query.where(TicketHistoryRow.action == action)
            rows = list(s.scalars(query.order_by(TicketHistoryRow.id)))
            s.expunge_all()
            return rows

    def pending(self) -> int:
        with self.db.read() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(OutboxJobRow)
                    .where(OutboxJobRow.status == "pending", OutboxJobRow.kind.in_(DRAINED_KINDS))
                )
                or 0
            )

    def jobs(self, kind: str, status: str | None = None) -> list[OutboxJobRow]:
        with self.db.read() as s:
            query = select(OutboxJobRow).where(OutboxJobRow.kind == kind)
            if status:
                query = query.where(OutboxJobRow.status == status)
            rows = list(s.scalars(query))
            s.expunge_all()
            return rows

    def drain(self, timeout_s: float = 20.0) -> None:
        """Run the outbox, retrying at once, until none of the handoff's jobs is pending."""
        deadline = time.monotonic() + timeout_s
        while self.pending():
            assert time.monotonic() < deadline, "the outbox did not drain"
            with self.db.transaction() as s:
                for kind in DRAINED_KINDS:
                    retry_now(s, kind)
            if self.worker.run_once() == 0:
                time.sleep(0.05)

    def run_once(self) -> None:
        with self.db.transaction() as s:
            for kind in DRAINED_KINDS:
                retry_now(s, kind)
        self.worker.run_once()

    def wait_for_hooks(self, count: int, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while len(hooks := self.standin.hooks()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return hooks

    def items(self) -> list[dict[str, Any]]:
        return self.standin.items()

    def change_state(self, work_item_id: int, state: str, **extra: Any) -> list[dict[str, Any]]:
        answer = self.standin.admin.post(
            f"/_standin/workitems/{work_item_id}/state", json={"state": state, **extra}
        )
        answer.raise_for_status()
        return list(answer.json()["deliveries"])


@pytest.fixture(scope="module")
def standin() -> Iterator[ServedStandin]:
    served = ServedStandin()
    served.start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def served_app(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedApp]:
    """One app under uvicorn per module: building it (the signature models of every handler,
    the OpenAPI document) costs about a second of CPU, more than most tests here. Each test
    puts its own container in (`env`); the app keeps no state of a test
    (`tests.services.apps`)."""

    def settings_for(data: Path, db: Database) -> Settings:
        return load_settings({"SEDNO_DATA_DIR": str(data), "SEDNO_DATABASE_URL": db.url})

    root = tmp_path_factory.mktemp("handoff-app")
    with shared_app(sqlite_template, root, settings_for) as app, ServedApp(app) as served:
        yield served


@pytest.fixture
def env(
    db: Database, tmp_path: Path, standin: ServedStandin, served_app: ServedApp
) -> Iterator[Env]:
    standin.reset()
    forget_retry_after()  # every test starts with a fresh organisation
    secret = f"{SECRET}-{uuid.uuid4().hex}"
    with smtp_server() as smtp:
        settings = load_settings(
            {
                "SEDNO_DATA_DIR": str(tmp_path / "data"),
                "SEDNO_DATABASE_URL": db.url,
                "SEDNO_PUBLIC_URL": PUBLIC_URL,
                "SEDNO_SMTP_HOST": smtp.host,
                "SEDNO_SMTP_PORT": str(smtp.port),
                "SEDNO_DEVOPS_URL": standin.org_url,
                "SEDNO_DEVOPS_PROJECT": "Sedno",
                "SEDNO_DEVOPS_PAT": STANDIN_PAT,
                "SEDNO_DEVOPS_WEBHOOK_SECRET": secret,
            }
        )
        container = Container(
            settings=settings, db=db, blobs=BlobStore(tmp_path / "data" / "blobs")
        )
        container.devops_timeout_s = 0.5
        single: dict[str, Any] = {"mail.send": make_send_mail_handler(settings)}
        batch: dict[str, Any] = {}
        handoff.register_outbox_handlers(container, single, batch)
        notifications.register_outbox_handlers(
            container, single, batch, lead_mail_wanted=lead_wants_mail
        )
        with db.transaction() as s:
            consultant, _ = create_user(
                s, login="anna", name="Anna Konsultant", role="consultant", email="anna@sedno.pl"
            )
            second, _ = create_user(
                s, login="piotr", name="Piotr Produkcja", role="consultant", email="piotr@firma.pl"
            )
            handoff.put_modules(
                s,
                [
                    handoff.ModuleEntry(
                        module=MODULE,
                        area_path=AREA,
                        price_list_code="KP-01",
                        second_line_id=second.id,
                    )
                ],
            )
            ids = (consultant.id, second.id)
        served_app.app.state.container = container
        try:
            hook_url = f"{served_app.url}/api/devops/webhook"
            standin.admin.post(
                "/_standin/config", json={"hook_url": hook_url, "hook_secret": secret}
            ).raise_for_status()
            yield Env(
                db=db,
                container=container,
                standin=standin,
                smtp=smtp,
                worker=OutboxWorker(db, single, batch),
                hook_url=hook_url,
                consultant=Actor(ids[0], "Anna Konsultant", "consultant"),
                consultant_id=ids[0],
                second_line_id=ids[1],
            )
        finally:
            container.close()  # its buffered search log written, as a replica's shutdown would


def _mails_to(env: Env, address: str) -> list[Any]:
    return [m for m in env.smtp.messages if address in m.rcpt_tos]


def test_round_trip_handoff_work_item_hook_and_mail(env: Env) -> None:
    ticket_id = env.new_ticket(contact_email="jan@klient.pl")
    env.hand_off(ticket_id)
    ticket = env.ticket(ticket_id)
    assert ticket.state == "in_progress"
    assert ticket.second_line_id == env.second_line_id
    assert [h.note for h in env.history(ticket_id, "handoff")] == [handoff.HANDOFF_NOTE]

    env.drain()

    items = env.items()
    assert len(items) == 1
    item = items[0]
    fields = item["fields"]
    ticket = env.ticket(ticket_id)
    assert fields["System.Title"] == f"[{ticket.number}] Błąd wydruku listy płac"
    assert (
        "Wydruk &lt;PIT-11&gt; &amp; lista płac<br>nie zawiera premii"
        in (fields["System.Description"])
    )
    assert f"Zgłoszenie: {ticket.number}" in fields["System.Description"]
    assert "&lt;PIT-11&gt;" in fields["Microsoft.VSTS.TCM.ReproSteps"]
    assert fields["System.AreaPath"] == AREA
    assert fields["Microsoft.VSTS.Common.Priority"] == 2
    tags = [t.strip() for t in fields["System.Tags"].split(";")]
    assert ticket_tag(ticket.number) in tags and "KP-01" in tags
    assert fields["System.AssignedTo"]["uniqueName"] == "piotr@firma.pl"
    links = [r["url"] for r in item["relations"] if r["rel"] == "Hyperlink"]
    assert links == [f"{PUBLIC_URL}/tickets/{ticket_id}"]
    assert (ticket.devops_work_item_id, ticket.devops_rev, ticket.devops_state) == (
        item["id"],
        1,
        "New",
    )
    assert ticket.devops_url is not None
    assert ticket.devops_url.endswith(f"/_workitems/edit/{item['id']}")
    # The second line was told about the handoff, the contact about "W realizacji".
    assert len(_mails_to(env, "piotr@firma.pl")) == 1
    assert "Zmiana stanu zgłoszenia: W realizacji" in str(
        _mails_to(env, "jan@klient.pl")[0].message["Subject"]
    )

    # The consultant parks the ticket while production works; production resolves the item.
    env.move(ticket_id, "analysing")
    env.drain()
    deliveries = env.change_state(item["id"], "Resolved", changed_by="Piotr <piotr@firma.pl>")
    assert [d["status_code"] for d in deliveries] == [200]

    ticket = env.ticket(ticket_id)
    assert ticket.state == "in_progress"
    assert (ticket.devops_state, ticket.devops_rev) == ("Resolved", 2)
    back = env.history(ticket_id, "transition")[-1]
    assert (back.actor, back.old_value, back.new_value, back.note) == (
        "Azure DevOps",
        "analysing",
        "in_progress",
        "Produkcja zakończyła",
    )

    env.drain()
    mails = _mails_to(env, "anna@sedno.pl")
    assert len(mails) == 1
    assert "Odpowiedź produkcji: Produkcja zakończyła" in str(mails[0].message["Subject"])
    body = mails[0].message.get_body(("plain",)).get_content()
    assert f"#{item['id']}" in body and "na „Rozwiązany”" in body and "Resolved" not in body
    # The move back came from production: nothing is exported to the work item again.
    exports = env.jobs(handoff.EXPORT_JOB)
    assert [(j.payload["old"], j.payload["new"]) for j in exports] == [
        ("in_progress", "analysing")  # the consultant's move (unmapped); none for production's
    ]
    assert env.items()[0]["rev"] == 2


def test_duplicated_and_older_hooks_change_nothing(env: Env) -> None:
    ticket_id = env.new_ticket()
    env.hand_off(ticket_id)
    env.drain()
    item_id = env.ticket(ticket_id).devops_work_item_id
    assert item_id is not None

    deliveries = env.change_state(item_id, "Resolved", duplicate=3, out_of_order=True)
    assert [(d["rev"], d["status_code"]) for d in deliveries] == [(2, 200)] * 3 + [(1, 200)]

    ticket = env.ticket(ticket_id)
    assert (ticket.devops_rev, ticket.devops_state) == (2, "Resolved")
    assert len(env.history(ticket_id, "devops_feedback")) == 1
    assert len(env.history(ticket_id, "devops_state")) == 1
    assert len(env.jobs(notifications.NOTIFY_USER_JOB)) == 2  # handoff (2nd line) + feedback


def test_hook_with_a_wrong_secret_is_refused_and_changes_nothing(env: Env) -> None:
    ticket_id = env.new_ticket()
    env.hand_off(ticket_id)
    env.drain()
    item_id = env.ticket(ticket_id).devops_work_item_id
    assert item_id is not None
    env.standin.admin.post(
        "/_standin/config", json={"hook_secret": "not-the-secret"}
    ).raise_for_status()

    deliveries = env.change_state(item_id, "Resolved")

    assert [d["status_code"] for d in deliveries] == [401]
    ticket = env.ticket(ticket_id)
    assert (ticket.devops_rev, ticket.devops_state) == (1, "New")
    assert env.history(ticket_id, "devops_feedback") == []


def test_state_export_comment_tag_and_mapped_state_without_echo(env: Env) -> None:
    ticket_id = env.new_ticket()
    env.hand_off(ticket_id)
    env.drain()
    item_id = env.ticket(ticket_id).devops_work_item_id

    env.move(ticket_id, "cancelled")
    env.drain()
    [item] = env.items()
    # An Agile bug has no state in the Removed category: the comment and tag say it.
    assert item["fields"]["System.State"] == "New"
    assert "sedno-anulowane" in item["fields"]["System.Tags"]
    assert any("anulowane w Sedno" in c for c in item["comments"])
    # Our own update fires a hook too; it is an echo, not production's answer.
    hooks = env.wait_for_hooks(1)
    assert [(h["rev"], h["status_code"]) for h in hooks] == [(2, 200)]
    assert env.history(ticket_id, "devops_feedback") == []
    ticket = env.ticket(ticket_id)
    assert (ticket.state, ticket.devops_state, ticket.devops_rev) == ("cancelled", "New", 2)

    env.move(ticket_id, "reported")  # reopened
    env.drain()
    [item] = env.items()
    assert item["fields"]["System.State"] == "Active"
    assert "sedno-wznowione" in item["fields"]["System.Tags"]
    assert item["id"] == item_id and item["rev"] == 3
    assert len(env.history(ticket_id, "devops_export")) == 2
    assert env.ticket(ticket_id).state == "reported"


def test_reconciliation_applies_a_missed_hook_once(env: Env) -> None:
    ticket_id = env.new_ticket()
    env.hand_off(ticket_id)
    env.drain()
    item_id = env.ticket(ticket_id).devops_work_item_id
    assert item_id is not None
    env.standin.admin.post("/_standin/config", json={"hook_url": ""}).raise_for_status()
    assert env.change_state(item_id, "Closed") == []  # the hook is lost

    first = handoff.reconcile_handoffs(env.container)
    second = handoff.reconcile_handoffs(env.container)

    assert (first.checked, first.applied, first.errors) == (1, 1, [])
    assert (second.checked, second.applied) == (1, 0)
    ticket = env.ticket(ticket_id)
    assert (ticket.devops_state, ticket.devops_rev) == ("Closed", 2)
    assert [h.note for h in env.history(ticket_id, "devops_feedback")] == ["Produkcja zakończyła"]
