"""Telephony figures on SQLite and PostgreSQL: call-log import rows/s, and the PBX's route and
caller look-ups (p50/p95, in-process) over a directory of N contacts with phones.

python -m tests.bench.telephony [--contacts N] [--cdr-rows N] [--lookups N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from api.bootstrap import TABLE_MODULES
from tests.services.postgres import create_database, drop_database, postgres_server
from tickets.accounts.auth import create_user
from tickets.core.db import Database
from tickets.core.definitions import seed_defaults
from tickets.core.orm import ClientRow, ContactRow, LicenceRow
from tickets.core.phone_numbers import to_e164
from tickets.telephony import statuses
from tickets.telephony.importer import import_cdr
from tickets.telephony.lookup import caller_view
from tickets.telephony.routing import route_call
from tickets.telephony.settings import TelephonySettings

SETTINGS = TelephonySettings(secret="bench", min_digits=7, queue_extension="800")
WARSAW = ZoneInfo("Europe/Warsaw")


def _phone(n: int) -> str:
    return f"+48 5{n // 1_000_000 % 10}{n // 10_000 % 100:02d} {n // 100 % 100:02d} {n % 100:02d}"


def _fill(db: Database, contacts: int) -> None:
    assert TABLE_MODULES  # the composition root has imported every table
    db.create_all()
    with db.transaction() as s:
        seed_defaults(s)
        statuses.seed_statuses(s)
        now = dt.datetime.now(dt.UTC)
        for i, ext in enumerate(("101", "102", "103", "104", "105")):
            user, _ = create_user(s, login=f"k{i}", name=f"K{i}", role="consultant")
            statuses.set_telephony(
                s, user.id, statuses.TelephonyPatch(extension=ext, competences=[f"M{i}"])
            )
            statuses.set_status(s, user.id, "available", now)
    rng = random.Random(5)
    per_client = 4
    for start in range(0, contacts, 2000):
        with db.transaction() as s:
            for n in range(start, min(contacts, start + 2000), per_client):
                client = ClientRow(name=f"Klient {n}", search_name=f"klient {n}")
                s.add(client)
                s.flush()
                s.add(LicenceRow(number=f"L{n}", client_id=client.id, product="enova365",
                                 modules=[f"M{rng.randrange(5)}"]))  # fmt: skip
                for k in range(per_client):
                    s.add(
                        ContactRow(name=f"Osoba {n + k}", phone=_phone(n + k), client_id=client.id)
                    )


def _master_csv(rows: int, contacts: int) -> str:
    rng = random.Random(9)
    out = io.StringIO()
    start = dt.datetime(2026, 11, 30, 8, 0)
    for i in range(rows):
        at = start + dt.timedelta(seconds=i * 7)
        answered = rng.random() > 0.2
        src = _phone(rng.randrange(contacts)).replace(" ", "")
        ans = (at + dt.timedelta(seconds=5)).strftime("%Y-%m-%d %H:%M:%S") if answered else ""
        end = (at + dt.timedelta(seconds=95)).strftime("%Y-%m-%d %H:%M:%S")
        out.write(
            f'"","{src}","101","from-trunk","","PJSIP/trunk-1","PJSIP/10{i % 5 + 1}-2","Dial","",'
            f'"{at:%Y-%m-%d %H:%M:%S}","{ans}","{end}","95","{90 if answered else 0}",'
            f'"{"ANSWERED" if answered else "NO ANSWER"}","DOCUMENTATION","{1764489600 + i}.{i}",""\n'
        )
    return out.getvalue()


def _percentiles(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=20)
    return f"p50 {statistics.median(samples):.2f} ms, p95 {q[18]:.2f} ms"


def _run(name: str, db: Database, contacts: int, cdr_rows: int, lookups: int) -> None:
    t0 = time.perf_counter()
    _fill(db, contacts)
    print(f"{name}: directory of {contacts} contacts filled in {time.perf_counter() - t0:.1f} s")
    rng = random.Random(3)
    numbers = [_phone(rng.randrange(contacts)) for _ in range(lookups)]
    for label, fn in (("route", route_call), ("lookup", None)):
        samples = []
        with db.read() as s:
            for raw in numbers:
                start = time.perf_counter()
                e164 = to_e164(raw)
                if fn is not None:
                    fn(s, e164, SETTINGS, dt.datetime.now(dt.UTC))
                else:
                    caller_view(s, e164, raw)
                samples.append((time.perf_counter() - start) * 1000)
        print(f"{name}: {label} look-up over {lookups} numbers: {_percentiles(samples)}")
    text = _master_csv(cdr_rows, contacts)
    start = time.perf_counter()
    summary = import_cdr(db, io.StringIO(text), "asterisk", SETTINGS, WARSAW)
    elapsed = time.perf_counter() - start
    print(f"{name}: import-cdr {cdr_rows} rows in {elapsed:.1f} s = {cdr_rows / elapsed:.0f} rows/s "
          f"({summary.describe()})")  # fmt: skip
    start = time.perf_counter()
    again = import_cdr(db, io.StringIO(text), "asterisk", SETTINGS, WARSAW)
    elapsed = time.perf_counter() - start
    print(f"{name}: re-import (idempotent) {cdr_rows / elapsed:.0f} rows/s ({again.describe()})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--cdr-rows", type=int, default=5_000)
    parser.add_argument("--lookups", type=int, default=500)
    args = parser.parse_args()
    print(f"load: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'b.db'}")
        _run("sqlite", db, args.contacts, args.cdr_rows, args.lookups)
        db.dispose()
    with postgres_server() as admin:
        url = create_database(admin)
        db = Database(url)
        try:
            _run("postgresql", db, args.contacts, args.cdr_rows, args.lookups)
        finally:
            db.dispose()
            drop_database(admin, url)
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
