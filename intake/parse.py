"""Parse raw mail robustly into a ParsedMail: headers, addresses, text, safe HTML, attachments.

The stdlib parser runs with the lenient compat32 policy for the MIME structure; header values
are decoded here (RFC 2047 words, also broken ones, and undeclared 8-bit text) because
`policy.default` raises on some malformed headers and turns undeclared 8-bit Polish into
replacement characters.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from mimetypes import guess_extension
from typing import Any, Final

import msgspec
import olefile

from intake.html import html_to_text, sanitize_html

# Labels that say nothing about the real charset.
_UNKNOWN_LABELS: Final = frozenset(
    {"", "unknown", "unknown-8bit", "x-unknown", "default", "x-user-defined", "8bit", "none"}
)
# WHATWG treats these labels as windows-1252: mail clients that say latin-1 often mean it.
_LABEL_OVERRIDES: Final = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "ascii",
    "ascii": "ascii",
    "x-mac-ce": "mac-latin2",
    "utf8": "utf-8",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "big5": "big5hkscs",
    "iso-8859-8-i": "iso-8859-8",
    "tis-620": "cp874",
}
# When these labels are wrong the text is usually Polish in another charset: guess again.
_GUESS_AGAIN: Final = frozenset({"ascii", "utf-8", "cp1252", "iso8859-2", "cp1250"})
_POLISH: Final = frozenset("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")
# Characters that appear when Polish text is decoded with the wrong single-byte table.
_MOJIBAKE: Final = frozenset(
    "±¶Ľ¦¬ˇ\u0080\u0081\u0082\u0083\u0084\u0085\u0086\u0087\u0088\u0089\u008a\u008b\u008c\u008d\u008e\u008f\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009a\u009b\u009c\u009d\u009e\u009f"
)
_SURROGATES: Final = re.compile("[\ud800-\udfff]")
_CONTROL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def codec_for(label: str | None) -> str | None:
    """The Python codec name for a MIME charset label, or None when unknown or unusable."""
    if label is None:
        return None
    name = label.strip().strip("\"'").lower().split("*", 1)[0]
    if name in _UNKNOWN_LABELS:
        return None
    name = _LABEL_OVERRIDES.get(name, name)
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return None
    except Exception:  # odd labels can upset codec search functions
        return None


def _polish_score(text: str) -> int:
    return sum(ch in _POLISH for ch in text) - 3 * sum(ch in _MOJIBAKE for ch in text)


def _guess_single_byte(data: bytes) -> str:
    """Decode 8-bit bytes of unknown charset, preferring a reading that looks Polish."""
    candidates: list[str] = []
    for codec in ("cp1250", "iso-8859-2"):
        try:
            candidates.append(data.decode(codec))
        except UnicodeDecodeError:
            continue
    if not candidates:
        return data.decode("latin-1")
    # Only the non-ASCII characters decide; max keeps the first (cp1250) on a tie.
    return max(candidates, key=lambda t: _polish_score("".join(ch for ch in t if ord(ch) > 127)))


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Decode text in the declared charset, else guess: utf-8, then cp1250/iso-8859-2, latin-1."""
    codec = codec_for(declared)
    if codec is not None and codec != "utf-8" and not data.isascii():
        # Valid multi-byte UTF-8 almost never happens by chance in another charset, while
        # mail labelled with the wrong charset is common.
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if codec is not None:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            if codec not in _GUESS_AGAIN:
                return data.decode(codec, "replace")
    if data.isascii():
        return data.decode("ascii")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Mostly valid UTF-8 with a few broken bytes stays UTF-8.
    loose = data.decode("utf-8", "replace")
    broken = loose.count("\ufffd")
    multibyte = sum(1 for ch in loose if ord(ch) > 127) - broken
    if multibyte > 4 * broken:
        return loose
    return _guess_single_byte(data)


def clean_text(text: str) -> str:
    """Text safe to store anywhere: no lone surrogates, no NULs or other control characters."""
    if _SURROGATES.search(text):
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        text = _SURROGATES.sub("\ufffd", text)
    return _CONTROL.sub("", text)


def fix_8bit(value: str) -> str:
    """Turn raw 8-bit bytes the parser kept as surrogate escapes into real characters."""
    if not _SURROGATES.search(value):
        return value
    return decode_bytes(value.encode("ascii", "surrogateescape"))


_ENCODED_WORD: Final = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?]*)\?=")
_Q_HEX: Final = re.compile(rb"=([0-9A-Fa-f]{2})")
_FOLD: Final = re.compile(r"\r?\n(?=[ \t])|\r?\n$")
_NOT_B64: Final = re.compile(rb"[^A-Za-z0-9+/]")


def _word_bytes(encoding: str, text: str) -> bytes:
    raw = text.encode("ascii", "surrogateescape")
    if encoding in "Bb":
        data = _NOT_B64.sub(b"", raw)
        data = data[: len(data) - len(data) % 4] if len(data) % 4 == 1 else data
        try:
            return base64.b64decode(data + b"=" * (-len(data) % 4))
        except (binascii.Error, ValueError):
            return raw
    return _Q_HEX.sub(lambda m: bytes([int(m.group(1), 16)]), raw.replace(b"_", b" "))


def decode_header_value(value: str) -> str:
    """Unfold a raw header value and decode RFC 2047 words, tolerating broken ones.

    Adjacent words in one charset are joined before decoding, so a multi-byte character split
    across two words survives; words glued to text (not RFC-conformant, but common) decode too.
    """
    value = _FOLD.sub("", value)
    value = fix_8bit(value)
    if "=?" not in value:
        return clean_text(value).strip()
    out: list[str] = []
    pending = b""
    pending_charset: str | None = None
    pos = 0

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending:
            out.append(decode_bytes(pending, pending_charset))
        pending, pending_charset = b"", None

    for match in _ENCODED_WORD.finditer(value):
        between = value[pos : match.start()]
        charset = match.group(1)
        if between.strip() or charset.lower() != (pending_charset or "").lower():
            flush()
            # Whitespace between two encoded words is dropped (RFC 2047 section 6.2).
            if between.strip() or not out:
                out.append(between)
        pending += _word_bytes(match.group(2), match.group(3))
        pending_charset = charset
        pos = match.end()
    flush()
    out.append(value[pos:])
    return clean_text("".join(out)).strip()


LOOP_HEADER: Final = "X-Sedno-Loop"
_MAX_DEPTH: Final = 40
_HEADER_LINE: Final = re.compile(rb"^(From |[!-9;-~]+[ \t]*:)")
_MSG_ID: Final = re.compile(r"<([^<>\s]+)>")
_EMAIL: Final = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)*", re.UNICODE)
_PLAIN_ADDRESS: Final = re.compile(r"[^\s<>@,;]+@[^\s<>@,;]+")
_SEPARATORS: Final = re.compile(r"[,;]")


class ParseError(ValueError):
    """The bytes are not a mail at all; the caller quarantines them with this reason."""


class Address(msgspec.Struct, frozen=True):
    """One mailbox: the bare address (lower-cased domain) and the display name, decoded."""

    address: str
    name: str = ""

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2].lower()


class Attachment(msgspec.Struct, frozen=True):
    """A file carried by the mail, inline images and enclosed messages included."""

    filename: str
    content_type: str
    data: bytes
    size: int
    content_id: str | None = None
    inline: bool = False


class ParsedMail(msgspec.Struct, frozen=True, kw_only=True):
    """Everything intake needs from one raw mail; all text is decoded and safe to store.

    Message ids (message_id, in_reply_to, references) are bare, without angle brackets.
    `headers` maps each lower-cased header name to its decoded values in order of appearance.
    """

    sender: Address | None
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    subject: str = ""
    date: datetime | None = None
    text: str = ""
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    content_type: str = "text/plain"
    report_type: str | None = None
    auto_submitted: str | None = None
    precedence: str | None = None
    x_loop: tuple[str, ...] = ()
    own_loop: str | None = None
    list_id: str | None = None
    list_unsubscribe: str | None = None
    return_path: str | None = None
    x_autoreply: str | None = None
    x_autorespond: str | None = None
    x_auto_response_suppress: str | None = None
    headers: dict[str, list[str]] = msgspec.field(default_factory=dict)
    defects: tuple[str, ...] = ()
    raw_size: int = 0
    raw: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        values = self.headers.get(name.lower())
        return values[0] if values else None


def _parse_addresses(value: str | None) -> tuple[Address, ...]:
    if not value:
        return ()
    raw = _FOLD.sub("", fix_8bit(value))
    found: list[Address] = []
    try:
        pairs = getaddresses([raw])
    except Exception:
        pairs = []
    for name, addr in pairs:
        addr = addr.strip()
        if not _PLAIN_ADDRESS.fullmatch(addr):
            # getaddresses can return debris such as 'x <a@b.pl' from broken quoting.
            match = _EMAIL.search(addr)
            if match is None:
                continue
            addr = match.group(0)
        local, _, domain = addr.rpartition("@")
        found.append(Address(clean_text(f"{local}@{domain.lower()}"), decode_header_value(name)))
    if found:
        return tuple(found)
    # Malformed lists (bad quoting, stray brackets): take what looks like an address.
    decoded = decode_header_value(raw)
    for chunk in _SEPARATORS.split(decoded) if decoded.count("@") > 1 else [decoded]:
        match = _EMAIL.search(chunk)
        if match:
            name = chunk[: match.start()].strip(" <>\"'\t")
            local, _, domain = match.group(0).rpartition("@")
            found.append(Address(f"{local}@{domain.lower()}", name))
    return tuple(found)


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(_FOLD.sub("", value).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # "-0000" means unknown zone; read it as UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _ids(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    found = _MSG_ID.findall(value)
    if found:
        return tuple(clean_text(v) for v in found)
    return tuple(clean_text(v.strip("<>")) for v in value.split() if "@" in v)


class _Body:
    """What the walk over the MIME tree collects."""

    def __init__(self) -> None:
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[Attachment] = []
        self.enclosed: list[Message] = []
        self.defects: list[str] = []


def _filename(part: Message) -> str | None:
    # Re-read the raw headers: compat32 turns undeclared 8-bit parameters into U+FFFD.
    holder = Message()
    for key, value in part.raw_items():
        if key.lower() in ("content-type", "content-disposition"):
            holder[key] = _FOLD.sub("", fix_8bit(str(value)))
    try:
        name = holder.get_filename()
    except Exception:
        name = None
    return decode_header_value(str(name)) if name else None


def _default_name(ctype: str, index: int) -> str:
    ext = ".eml" if ctype.startswith("message/") else (guess_extension(ctype) or ".bin")
    return f"attachment-{index}{ext}"


def _serialise(message: Message | list[Message] | object) -> bytes:
    parts = message if isinstance(message, list) else [message]
    chunks: list[bytes] = []
    for item in parts:
        if not isinstance(item, Message):
            continue
        try:
            chunks.append(item.as_bytes(policy=compat32))
        except Exception:
            try:
                chunks.append(item.as_string(policy=compat32).encode("utf-8", "surrogateescape"))
            except Exception:
                continue
    return b"\n".join(chunks)


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    if isinstance(payload, str):
        return payload.encode("ascii", "surrogateescape")
    return b""


def _add_attachment(body: _Body, part: Message, ctype: str, data: bytes) -> None:
    disposition = (part.get_content_disposition() or "").lower()
    cid = part.get("content-id")
    content_id = _ids(str(cid))[0] if cid and _ids(str(cid)) else None
    filename = _filename(part) or _default_name(ctype, len(body.attachments) + 1)
    body.attachments.append(
        Attachment(
            filename=filename,
            content_type=ctype,
            data=data,
            size=len(data),
            content_id=content_id,
            inline=disposition == "inline" or (content_id is not None and disposition == ""),
        )
    )


def _walk(part: Message, body: _Body, depth: int) -> None:
    if depth > _MAX_DEPTH:
        body.defects.append("mime-too-deep")
        return
    try:
        ctype = part.get_content_type()
    except Exception:
        ctype = "text/plain"
    payload = part.get_payload()
    if ctype.startswith("message/") and isinstance(payload, list):
        # An enclosed mail (forward as attachment, bounce original, delivery status).
        if ctype in ("message/rfc822", "message/global") and isinstance(payload[0], Message):
            body.enclosed.append(payload[0])
        _add_attachment(body, part, ctype, _serialise(payload))
        return
    if isinstance(payload, list):
        for sub in payload:
            if isinstance(sub, Message):
                _walk(sub, body, depth + 1)
        return
    disposition = (part.get_content_disposition() or "").lower()
    maintype = ctype.split("/", 1)[0]
    is_body_text = ctype in ("text/plain", "text/html") and disposition != "attachment"
    if is_body_text and _filename(part) and disposition != "inline" and (body.plain or body.html):
        is_body_text = False  # a named text file after the body is an attachment
    data = _payload_bytes(part)
    if is_body_text or (maintype == "text" and ctype != "text/plain" and not disposition):
        if ctype == "text/html":
            body.html.append(decode_bytes(data, part.get_content_charset()))
            return
        if ctype == "text/plain":
            body.plain.append(decode_bytes(data, part.get_content_charset()))
            return
    if ctype.startswith("multipart/"):
        body.defects.append("multipart-without-parts")
        body.plain.append(decode_bytes(data, part.get_content_charset()))
        return
    _add_attachment(body, part, ctype, data)


def _text_of(body: _Body) -> str:
    plain = "\n\n".join(t.strip("\r\n").rstrip() for t in body.plain if t.strip())
    if plain:
        return plain
    return "\n\n".join(html_to_text(h) for h in body.html if h.strip())


def _enclosed_text(message: Message) -> str:
    inner = _Body()
    _walk(message, inner, 1)
    sender = decode_header_value(str(message.get("from", "")))
    subject = decode_header_value(str(message.get("subject", "")))
    return f"---- Enclosed message ----\nFrom: {sender}\nSubject: {subject}\n\n{_text_of(inner)}"


def _headers(message: Message) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        key = clean_text(fix_8bit(str(name))).strip().lower()
        try:
            decoded = decode_header_value(value) if isinstance(value, str) else str(value)
        except Exception:
            decoded = clean_text(str(value))
        headers.setdefault(key, []).append(decoded)
    return headers


def _first_raw(message: Message, name: str) -> str | None:
    for key, value in message.raw_items():
        if key.lower() == name:
            return value if isinstance(value, str) else str(value)
    return None


_OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# MIME headers of the original mail: the rebuilt body below brings its own.
_MIME_HEADERS: Final = re.compile(
    r"^(content-type|content-transfer-encoding|mime-version)\s*:.*(?:\r?\n[ \t].*)*\r?\n?",
    re.IGNORECASE | re.MULTILINE,
)


def _outlook_to_mime(raw: bytes) -> bytes:
    """Rebuild an Outlook .msg file (an OLE compound file) as a MIME mail."""
    # The stubs type stream paths as bytes; olefile takes and returns str.
    ole: Any = olefile.OleFileIO(raw)

    def stream(path: str) -> bytes | None:
        return ole.openstream(path).read() if ole.exists(path) else None

    def text(prefix: str, tag: str) -> str | None:
        unicode = stream(f"{prefix}__substg1.0_{tag}001F")
        if unicode is not None:
            return unicode.decode("utf-16-le", "replace").rstrip("\x00")
        eight_bit = stream(f"{prefix}__substg1.0_{tag}001E")
        return decode_bytes(eight_bit.rstrip(b"\x00")) if eight_bit is not None else None

    mime = EmailMessage()
    mime.set_content(text("", "1000") or "")
    html = stream("__substg1.0_10130102")
    if html:
        mime.add_alternative(decode_bytes(html.rstrip(b"\x00")), subtype="html")
    storages = {entry[0] for entry in ole.listdir() if entry[0].startswith("__attach_version1.0_")}
    for storage in sorted(storages):
        prefix = f"{storage}/"
        data = stream(f"{prefix}__substg1.0_37010102")
        if data is None:
            continue
        ctype = (text(prefix, "370E") or "application/octet-stream").lower()
        maintype, _, subtype = ctype.partition("/")
        name = text(prefix, "3707") or text(prefix, "3704") or "attachment.bin"
        mime.add_attachment(
            data, maintype=maintype, subtype=subtype or "octet-stream", filename=name
        )
    transport = text("", "007D")
    if transport:
        head = _MIME_HEADERS.sub("", transport.replace("\r\n", "\n")).strip("\n")
    else:
        sender = text("", "5D01") or text("", "0C1F") or ""
        name = text("", "0C1A") or ""
        lines = [f"From: {name} <{sender}>", f"Subject: {text('', '0037') or ''}"]
        if message_id := text("", "1035"):
            lines.append(f"Message-ID: {message_id}")
        head = "\n".join(lines)
    mime_bytes = mime.as_bytes()
    return head.encode("utf-8") + b"\n" + mime_bytes


def _check_is_mail(raw: bytes) -> bytes:
    if not raw or not raw.strip():
        raise ParseError("empty input")
    if raw.startswith(_OLE_MAGIC):
        try:
            return _outlook_to_mime(raw)
        except Exception as exc:
            raise ParseError(f"unreadable Outlook .msg file: {exc}") from exc
    # Some senders put blank or whitespace-only lines before the headers.
    stripped = raw.lstrip(b" \t\r\n")
    if not _HEADER_LINE.match(stripped[:1000]):
        raise ParseError("no mail headers at the start of the input")
    return stripped


def parse_mail(raw: bytes, loop_header: str = LOOP_HEADER) -> ParsedMail:
    """Parse one raw RFC 822 mail; raise ParseError only for input that is not mail."""
    data = _check_is_mail(raw)
    try:
        message = BytesParser(policy=compat32).parsebytes(data)
    except Exception as exc:  # the feed parser is lenient; a failure here means garbage
        raise ParseError(f"unparseable: {type(exc).__name__}: {exc}") from exc
    headers = _headers(message)
    if not headers:
        raise ParseError("no mail headers")

    def first(name: str) -> str | None:
        values = headers.get(name)
        return values[0] if values else None

    body = _Body()
    _walk(message, body, 0)
    text = _text_of(body)
    if not text and body.enclosed:
        text = _enclosed_text(body.enclosed[0])
    html_parts = [h for h in body.html if h.strip()]
    try:
        content_type = message.get_content_type()
        report_type = message.get_param("report-type")
    except Exception:
        content_type, report_type = "text/plain", None
    senders = _parse_addresses(_first_raw(message, "from")) or _parse_addresses(
        _first_raw(message, "sender")
    )
    defects = [type(d).__name__ for d in message.defects] + body.defects
    message_ids = _ids(first("message-id"))
    in_reply_to = _ids(first("in-reply-to"))
    return ParsedMail(
        sender=senders[0] if senders else None,
        to=_parse_addresses(_first_raw(message, "to")),
        cc=_parse_addresses(_first_raw(message, "cc")),
        reply_to=_parse_addresses(_first_raw(message, "reply-to")),
        subject=first("subject") or "",
        date=_parse_date(first("date")),
        text=clean_text(text.replace("\r\n", "\n").replace("\r", "\n")),
        html=sanitize_html("\n".join(html_parts)) if html_parts else None,
        attachments=tuple(body.attachments),
        message_id=message_ids[0] if message_ids else None,
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=_ids(first("references")),
        content_type=content_type,
        report_type=str(report_type).lower() if isinstance(report_type, str) else None,
        auto_submitted=first("auto-submitted"),
        precedence=first("precedence"),
        x_loop=tuple(headers.get("x-loop", ())),
        own_loop=first(loop_header.lower()),
        list_id=first("list-id"),
        list_unsubscribe=first("list-unsubscribe"),
        return_path=first("return-path"),
        x_autoreply=first("x-autoreply"),
        x_autorespond=first("x-autorespond"),
        x_auto_response_suppress=first("x-auto-response-suppress"),
        headers=headers,
        defects=tuple(defects),
        raw_size=len(raw),
        raw=raw,
    )
