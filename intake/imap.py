"""The shared support mailbox over IMAP (imap-tools), with the traps of imaplib avoided.

- Capabilities are re-read after login: imaplib keeps the pre-login list, which lacks MOVE on
  Dovecot, and imap-tools would then "move" by copy + \\Deleted + EXPUNGE, expunging any
  message someone else had marked deleted. Without MOVE after login we refuse to move at all.
- Messages are fetched with BODY.PEEK (`mark_seen=False`) and their exact bytes kept, so the
  raw hash used for dedupe is the same on every fetch.
- Nothing here flags, deletes or expunges: `UID MOVE` only.
"""

from __future__ import annotations

import contextlib
import imaplib
from collections.abc import Iterator, Sequence
from typing import Any, Final

from imap_tools import MailBox, MailBoxUnencrypted, MailMessage

from tickets.core.settings import ImapSettings

PROCESSED_FOLDER: Final = "Processed"
QUARANTINE_FOLDER: Final = "Quarantine"
IDLE_MAX_S: Final = 29 * 60


class ImapUnsafe(RuntimeError):
    """The server lacks what a safe move needs (MOVE after login)."""


class RawMailMessage(MailMessage):
    """A fetched message that keeps its exact bytes."""

    def __init__(self, fetch_data: list[Any]) -> None:
        super().__init__(fetch_data)
        self.raw: bytes = self._get_message_data_parts(fetch_data)[0]


def mailbox_key(settings: ImapSettings) -> str:
    """The name of a mailbox folder in the high-water table."""
    return f"{settings.user}@{settings.host}:{settings.port}/{settings.folder}"


class SharedMailbox:
    """One logged-in connection to the shared folder."""

    def __init__(self, settings: ImapSettings, *, timeout_s: float = 60.0) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self.key = mailbox_key(settings)
        self._box: Any = None
        self.uidvalidity = 0
        self.capabilities: tuple[str, ...] = ()

    @property
    def box(self) -> Any:
        if self._box is None:
            raise RuntimeError("mailbox is not open")
        return self._box

    def open(self) -> None:
        cls = MailBox if self.settings.ssl else MailBoxUnencrypted
        box = cls(self.settings.host, self.settings.port, timeout=self.timeout_s)
        self._box = box
        box.login(self.settings.user, self.settings.password, initial_folder=None)
        typ, data = box.client.capability()
        if typ != "OK" or not data:
            raise ImapUnsafe("CAPABILITY failed after login")
        caps = tuple(data[-1].decode("ascii", "replace").upper().split())
        box.client.capabilities = caps
        self.capabilities = caps
        if "MOVE" not in caps:
            raise ImapUnsafe("the server does not offer MOVE; refusing copy + expunge")
        for folder in (PROCESSED_FOLDER, QUARANTINE_FOLDER):
            if not box.folder.exists(folder):
                box.folder.create(folder)
        box.folder.set(self.settings.folder)
        status = box.folder.status(self.settings.folder, ["UIDVALIDITY"])
        self.uidvalidity = int(status["UIDVALIDITY"])

    @property
    def has_idle(self) -> bool:
        return "IDLE" in self.capabilities

    def uids(self) -> list[int]:
        """Every UID now in the folder, ascending."""
        return sorted(int(u) for u in self.box.uids("ALL"))

    def fetch_raw(self, uids: Sequence[int], bulk: int = 20) -> Iterator[tuple[int, bytes]]:
        """(uid, exact bytes) of the given messages, without marking them seen."""
        if not uids:
            return
        self.box.email_message_class = RawMailMessage
        for message in self.box.fetch(
            uid_list=[str(u) for u in uids], mark_seen=False, bulk=bulk if len(uids) > 1 else False
        ):
            if message.uid is not None:
                yield int(message.uid), message.raw

    def move(self, uid: int, folder: str) -> None:
        """`UID MOVE` one message (server-side, no expunge of anything else)."""
        self.box.move(str(uid), folder)

    def take_news(self) -> bool:
        """Whether the server announced new mail in answers to earlier commands (FETCH, MOVE
        and IDLE start carry `* n EXISTS` too); clears the record."""
        responses = self.box.client.untagged_responses
        return bool(responses.pop("EXISTS", None)) | bool(responses.pop("RECENT", None))

    def wait_for_news(self, timeout_s: float) -> bool:
        """Block in IDLE up to `timeout_s`; True when the server announced something.

        Mail that arrived while we were busy was announced in an earlier answer, and imaplib
        filed that away: without looking there first it would wait for the next mail.
        """
        if self.take_news():
            return True
        idle = self.box.idle
        idle.start()
        try:
            if self.take_news():
                return True
            return bool(idle.poll(timeout=min(timeout_s, IDLE_MAX_S - 60)))
        finally:
            idle.stop()

    def close(self) -> None:
        box, self._box = self._box, None
        if box is None:
            return
        with contextlib.suppress(Exception):
            box.logout()
        with contextlib.suppress(Exception):
            box.client.shutdown()


def append_message(settings: ImapSettings, raw: bytes, folder: str | None = None) -> None:
    """APPEND a raw message (tests, re-injecting a released quarantine entry)."""
    cls = MailBox if settings.ssl else MailBoxUnencrypted
    with cls(settings.host, settings.port).login(
        settings.user, settings.password, initial_folder=None
    ) as box:
        typ, data = box.client.append(folder or settings.folder, None, None, raw)
        if typ != "OK":
            raise imaplib.IMAP4.error(f"APPEND failed: {data!r}")
