"""Content-addressed file store for attachments and raw mail, with type sniffing."""

from __future__ import annotations

import hashlib
import itertools
import os
from pathlib import Path

from sqlalchemy.orm import Session

from tickets.core.orm import AttachmentRow
from tickets.domain.errors import ValidationFailed

# Magic numbers of the types a support desk sees; anything else is served as octet-stream.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"BZh", "application/x-bzip2"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
    (b"MZ", "application/x-msdownload"),
    (b"\x7fELF", "application/x-executable"),
)


def sniff_type(data: bytes) -> str:
    """The type the bytes really are, never trusting the declared one."""
    head = data[:16]
    for magic, ctype in _SIGNATURES:
        if head.startswith(magic):
            return ctype
    if head[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    sample = data[:4096]
    if b"\x00" in sample:
        return "application/octet-stream"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError:
        # Polish text in a legacy charset is still text.
        if sum(b < 9 or 13 < b < 32 for b in sample) > 0:
            return "application/octet-stream"
    lowered = sample.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<script", b"<svg", b"<?xml")):
        # Served as plain text so a browser never renders it.
        return "text/plain"
    return "text/plain"


class BlobStore:
    """Files under `root/ab/cdef…` named by their SHA-256; writing the same bytes twice is free.

    `fsync_each` (the default) makes every `put` durable before it returns. Without it the
    caller batches: it must call `sync()` before relying on what was stored (the mailbox
    worker leaves a message in its IMAP folder, the source copy, until then).
    """

    def __init__(self, root: Path, *, fsync_each: bool = True) -> None:
        self.root = root
        self.fsync_each = fsync_each
        self._unsynced = False
        self._dirs: set[str] = set()
        self._tmp_seq = itertools.count()  # next() on it is atomic across threads

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_for(digest)
        if target.exists():
            return digest
        if digest[:2] not in self._dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(digest[:2])
        # Unique per process and call: no random name to draw, O_EXCL guards the rest.
        tmp = target.parent / f".tmp-{os.getpid()}-{id(self):x}-{next(self._tmp_seq)}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                if self.fsync_each:
                    handle.flush()
                    _datasync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self._unsynced = not self.fsync_each
        return digest

    def sync(self) -> None:
        """Make everything `put` without `fsync_each` durable (one sync for the batch; it also
        flushes SQLite's WAL, which commits with synchronous=NORMAL leave to the OS)."""
        if self._unsynced:
            os.sync()
            self._unsynced = False

    def delete(self, sha256: str) -> bool:
        """Remove a blob; False when it was not there. The caller checks nothing uses it."""
        try:
            self.path_for(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def get(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()


def _datasync(fd: int) -> None:
    """File data and the metadata needed to read it back (fdatasync; fsync where absent)."""
    sync = getattr(os, "fdatasync", os.fsync)
    sync(fd)


def _safe_filename(name: str) -> str:
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*').strip(". ")
    return name[:200] or "attachment"


def add_attachment(
    session: Session,
    store: BlobStore,
    *,
    filename: str,
    data: bytes,
    declared_type: str = "",
    max_bytes: int,
    ticket_id: int | None = None,
    call_id: int | None = None,
    message_id: int | None = None,
    user_id: int | None = None,
) -> AttachmentRow:
    """Store the bytes (content-addressed) and record the attachment."""
    if len(data) > max_bytes:
        raise ValidationFailed("file", f"{len(data)} bytes is over the limit of {max_bytes}")
    digest = store.put(data)
    row = AttachmentRow(
        ticket_id=ticket_id,
        call_id=call_id,
        message_id=message_id,
        filename=_safe_filename(filename),
        declared_type=declared_type[:200],
        content_type=sniff_type(data),
        size=len(data),
        sha256=digest,
        uploaded_by=user_id,
    )
    session.add(row)
    session.flush()
    return row
