"""Call-detail records as the PBXs write them, parsed into one shape (pure functions).

* Asterisk / FreePBX `Master.csv` (cdr_csv): no header; columns accountcode, src, dst,
  dcontext, clid, channel, dstchannel, lastapp, lastdata, start, answer, end, duration,
  billsec, disposition, amaflags, then uniqueid (`loguniqueid=yes`) and userfield
  (`loguserfield=yes`); times in the PBX's local time unless `usegmtime=yes`.
* 3CX CDR output (file `cdr.log`): the fields in the order the admin configured, by default
  historyid, callid, duration, time-start, time-answered, time-end, reason-terminated,
  from-no, to-no, from-dn, to-dn, dial-no, reason-changed, final-number, final-dn, bill-code,
  bill-rate, bill-cost, bill-name, chain, from-type, to-type, final-type, from-dispname,
  to-dispname, final-dispname, missed-queue-calls; a first line naming the fields is honoured.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Iterator
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec

CdrFormat = Literal["asterisk", "3cx"]

ASTERISK_COLUMNS = (
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
    "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
)  # fmt: skip
THREECX_COLUMNS = (
    "historyid", "callid", "duration", "time-start", "time-answered", "time-end",
    "reason-terminated", "from-no", "to-no", "from-dn", "to-dn", "dial-no", "reason-changed",
    "final-number", "final-dn", "bill-code", "bill-rate", "bill-cost", "bill-name", "chain",
    "from-type", "to-type", "final-type", "from-dispname", "to-dispname", "final-dispname",
    "missed-queue-calls",
)  # fmt: skip
_UNIQUEID = re.compile(r"^\d{9,}\.\d+$")
_CHANNEL_PEER = re.compile(r"^[A-Za-z0-9]+/([^-@/;]+)")
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d.%m.%Y %H:%M:%S")


class CdrError(ValueError):
    """A line that is not a call record of the format; names the column at fault."""

    def __init__(self, column: str, message: str) -> None:
        self.column = column
        super().__init__(f"{column}: {message}")


class CdrRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One call leg from a PBX call log."""

    call_id: str
    source: CdrFormat
    src: str
    """Who called (number or extension)."""
    dst: str
    """Who was called (number or extension)."""
    started_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    talk_s: int | None
    src_extension: str | None = None
    """The PBX's own extension on the calling side, when the log names it."""
    dst_extension: str | None = None
    """The extension that answered (or rang last) on the called side."""


def parse_time(value: str, tz: ZoneInfo, column: str) -> dt.datetime | None:
    text = value.strip()
    if not text:
        return None
    for fmt in _TIME_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).replace(tzinfo=tz).astimezone(dt.UTC)
        except ValueError:
            continue
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CdrError(column, f"not a date and time: {text!r}") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)).astimezone(dt.UTC)


def parse_seconds(value: str, column: str) -> int | None:
    """`83`, `83.4` or `00:01:23`."""
    text = value.strip()
    if not text:
        return None
    try:
        if ":" in text:
            total = 0
            for part in text.split(":"):
                total = total * 60 + int(part)
            return total
        return int(float(text))
    except ValueError:
        raise CdrError(column, f"not a duration: {text!r}") from None


def _peer(channel: str) -> str | None:
    """`PJSIP/101-0000002a` → `101`; a trunk channel names a trunk, not an extension."""
    match = _CHANNEL_PEER.match(channel.strip())
    return match.group(1) if match else None


def parse_asterisk_row(row: list[str], tz: ZoneInfo) -> CdrRecord:
    if len(row) < len(ASTERISK_COLUMNS):
        raise CdrError("line", f"{len(row)} columns; Master.csv has at least 16")
    f = dict(zip(ASTERISK_COLUMNS, row, strict=False))
    extra = row[len(ASTERISK_COLUMNS) :]
    uniqueid = next((v.strip() for v in extra if _UNIQUEID.match(v.strip())), "")
    started = parse_time(f["start"], tz, "start")
    if started is None:
        raise CdrError("start", "empty")
    answered = parse_time(f["answer"], tz, "answer")
    ended = parse_time(f["end"], tz, "end")
    disposition = f["disposition"].strip().upper()
    billsec = parse_seconds(f["billsec"], "billsec")
    if disposition != "ANSWERED":
        answered, billsec = None, None
    if not uniqueid:
        key = "|".join((f["start"], f["src"], f["dst"], f["channel"])).encode()
        uniqueid = "h" + hashlib.sha256(key).hexdigest()[:24]
    return CdrRecord(
        call_id=uniqueid,
        source="asterisk",
        src=f["src"].strip(),
        dst=f["dst"].strip(),
        started_at=started,
        answered_at=answered,
        ended_at=ended,
        talk_s=billsec,
        src_extension=_peer(f["channel"]),
        dst_extension=_peer(f["dstchannel"]),
    )


def parse_3cx_row(row: list[str], columns: tuple[str, ...], tz: ZoneInfo) -> CdrRecord:
    f = {name: value for name, value in zip(columns, row, strict=False)}
    call_key = (f.get("historyid") or f.get("callid") or "").strip()
    if not call_key:
        raise CdrError("historyid", "empty (and no callid)")
    started = parse_time(f.get("time-start", ""), tz, "time-start")
    if started is None:
        raise CdrError("time-start", "empty")
    answered = parse_time(f.get("time-answered", ""), tz, "time-answered")
    ended = parse_time(f.get("time-end", ""), tz, "time-end")
    talk = parse_seconds(f.get("duration", ""), "duration") if answered else None
    if answered is not None and ended is not None:
        talk = max(0, int((ended - answered).total_seconds()))

    def extension(kind: str) -> str | None:
        if (f.get(f"{kind}-type") or "").strip().lower() == "extension":
            return (f.get(f"{kind}-dn") or "").strip() or None
        return None

    return CdrRecord(
        call_id=call_key,
        source="3cx",
        src=(f.get("from-no") or "").strip(),
        dst=(f.get("to-no") or f.get("dial-no") or "").strip(),
        started_at=started,
        answered_at=answered,
        ended_at=ended,
        talk_s=talk,
        src_extension=extension("from"),
        dst_extension=extension("final") or extension("to"),
    )


def read_cdr(
    lines: Iterable[str], fmt: CdrFormat, tz: ZoneInfo
) -> Iterator[tuple[int, CdrRecord | CdrError]]:
    """(line number, record or the error of that line), one per non-empty line."""
    columns: tuple[str, ...] = THREECX_COLUMNS
    for number, row in enumerate(csv.reader(lines), start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if fmt == "3cx" and number == 1 and "historyid" in [c.strip().lower() for c in row]:
            columns = tuple(c.strip().lower() for c in row)
            continue
        try:
            if fmt == "asterisk":
                yield number, parse_asterisk_row(row, tz)
            else:
                yield number, parse_3cx_row(row, columns, tz)
        except CdrError as exc:
            yield number, exc
