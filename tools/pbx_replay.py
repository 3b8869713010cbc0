"""A PBX stand-in for the demo: replays a working day of calls against a running Sedno, as an
Asterisk dialplan plus event forwarder would — it asks the route look-up where each call
should ring, then posts `ringing`, `answered` and `ended` to `/api/telephony/events` with the
shared secret. Optionally writes the same day as an Asterisk `Master.csv` for
`sedno telephony import-cdr`.

    python -m tools.pbx_replay --url http://127.0.0.1:8000 --secret S [--speed 60] [--calls 30]

`--speed 60` plays a minute of the day per second (today, events timed by the server);
`--speed 0` posts the whole of yesterday at once, each event's PBX time in `at`.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

WARSAW = ZoneInfo("Europe/Warsaw")
KNOWN_CALLERS = (  # the demo contacts and clients (tools/telephony_demo.py)
    "600100201", "600 100 202", "+48 600 100 203", "0048600100204", "600-100-205",
    "+48 12 345 67 80", "22 111 22 33", "58 765 43 21",
)  # fmt: skip
UNKNOWN_CALLERS = ("+48 601 234 567", "+48 602 345 678", "+49 30 1234567", "513 000 111")
INTERNAL_CALLERS = ("104", "105")


@dataclass
class PlannedCall:
    call_id: str
    caller: str
    ring_at: dt.datetime
    answer_after_s: int | None
    """None: nobody answers (the caller hangs up after `ring_s`)."""
    talk_s: int
    ring_s: int
    extension: str = ""


def plan_day(
    calls: int, seed: int, day: dt.date, start_hour: int = 8, end_hour: int = 16
) -> list[PlannedCall]:
    """A reproducible day: mostly known callers, some unknown, a few internal; one in five
    unanswered."""
    rng = random.Random(seed)
    opening = dt.datetime.combine(day, dt.time(start_hour), WARSAW)
    span_s = (end_hour - start_hour) * 3600
    times = sorted(rng.randrange(span_s) for _ in range(calls))
    planned = []
    for n, offset in enumerate(times):
        pick = rng.random()
        pool = KNOWN_CALLERS if pick < 0.7 else UNKNOWN_CALLERS if pick < 0.92 else INTERNAL_CALLERS
        answered = rng.random() > 0.2
        planned.append(
            PlannedCall(
                call_id=f"{int(opening.timestamp()) + offset}.{n}",
                caller=rng.choice(pool),
                ring_at=(opening + dt.timedelta(seconds=offset)).astimezone(dt.UTC),
                answer_after_s=rng.randint(3, 15) if answered else None,
                talk_s=rng.randint(45, 480),
                ring_s=rng.randint(15, 40),
            )
        )
    return planned


class Pbx:
    """Talks to Sedno as the PBX does (secret in `X-Sedno-Secret`)."""

    def __init__(self, url: str, secret: str, client: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/")
        self.client = client or httpx.Client(timeout=10.0)
        self.headers = {"X-Sedno-Secret": secret}

    def route(self, caller: str) -> str:
        answer = self.client.get(
            f"{self.url}/api/telephony/route",
            params={"caller": caller, "format": "text"},
            headers=self.headers,
        )
        answer.raise_for_status()
        return answer.text.strip()

    def event(
        self, call_id: str, event: str, caller: str, extension: str, at: dt.datetime | None
    ) -> dict[str, object]:
        body: dict[str, object] = {
            "call_id": call_id, "event": event, "caller": caller, "extension": extension
        }  # fmt: skip
        if at is not None:
            body["at"] = at.isoformat()
        answer = self.client.post(
            f"{self.url}/api/telephony/events", json=body, headers=self.headers
        )
        answer.raise_for_status()
        result: dict[str, object] = answer.json()
        return result


def timeline(call: PlannedCall) -> list[tuple[dt.datetime, str]]:
    events = [(call.ring_at, "ringing")]
    if call.answer_after_s is None:
        events.append((call.ring_at + dt.timedelta(seconds=call.ring_s), "ended"))
    else:
        answered = call.ring_at + dt.timedelta(seconds=call.answer_after_s)
        events += [(answered, "answered"), (answered + dt.timedelta(seconds=call.talk_s), "ended")]
    return events


def replay(
    pbx: Pbx,
    calls: list[PlannedCall],
    speed: float,
    log: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, int]:
    """Post every call's events in time order; `speed` 0 = at once with PBX times in `at`."""
    counts: dict[str, int] = {}
    steps = sorted(
        ((at, kind, call) for call in calls for at, kind in timeline(call)), key=lambda s: s[0]
    )
    if not steps:
        return counts
    day_start = steps[0][0]
    wall_start = time.monotonic()
    for at, kind, call in steps:
        if speed > 0:
            due = (at - day_start).total_seconds() / speed
            sleep(max(0.0, due - (time.monotonic() - wall_start)))
        if kind == "ringing":
            call.extension = pbx.route(call.caller) if len(_digits(call.caller)) >= 7 else "101"
        result = pbx.event(
            call.call_id, kind, call.caller, call.extension, at if speed == 0 else None
        )
        outcome = str(result.get("outcome"))
        counts[outcome] = counts.get(outcome, 0) + 1
        log(
            f"{at.astimezone(WARSAW):%H:%M:%S} {kind:8} {call.caller:>18} → {call.extension or '-':>4} {outcome}"
        )
    return counts


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def write_master_csv(calls: Iterable[PlannedCall], path: Path) -> None:
    """The day as Asterisk's cdr_csv writes it (loguniqueid=yes, loguserfield=yes), local time."""

    def local(at: dt.datetime | None) -> str:
        return at.astimezone(WARSAW).strftime("%Y-%m-%d %H:%M:%S") if at else ""

    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, quoting=csv.QUOTE_ALL)
        for call in calls:
            end = timeline(call)[-1][0]
            answer = (
                call.ring_at + dt.timedelta(seconds=call.answer_after_s)
                if call.answer_after_s is not None
                else None
            )
            billsec = call.talk_s if answer else 0
            writer.writerow([
                "", call.caller,
                call.extension or "s", "from-trunk", f'"" <{call.caller}>',
                "PJSIP/trunk-00000001", f"PJSIP/{call.extension or '101'}-00000002", "Dial",
                f"PJSIP/{call.extension or '101'},30", local(call.ring_at), local(answer), local(end),
                str(int((end - call.ring_at).total_seconds())), str(billsec),
                "ANSWERED" if answer else "NO ANSWER", "DOCUMENTATION", call.call_id, "",
            ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--secret", required=True, help="SEDNO_TELEPHONY_SECRET of the server")
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--speed", type=float, default=60.0, help="0 = post the day at once")
    parser.add_argument("--cdr-out", type=Path, help="also write the day as Asterisk Master.csv")
    args = parser.parse_args(argv)
    today = dt.datetime.now(WARSAW).date()
    # Posted at once, the day must be over already: yesterday's calls.
    day = today - dt.timedelta(days=1) if args.speed == 0 else today
    calls = plan_day(args.calls, args.seed, day)
    try:
        counts = replay(Pbx(args.url, args.secret), calls, args.speed)
    except httpx.HTTPError as exc:
        print(f"Sedno at {args.url} did not take the call: {exc}", file=sys.stderr)
        return 1
    if args.cdr_out:
        write_master_csv(calls, args.cdr_out)
        print(f"call log written to {args.cdr_out}")
    print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
