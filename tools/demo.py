"""Demo data for `make run`: a directory, ~300 tickets in every state and a queue that tells the
story of a support desk (distinct problems across modules, one handed off, one client under
*Zakaz kontaktu*, pending mail of every kind), timestamped in the desk's working hours."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tickets.accounts import auth
from tickets.core.orm import ClientRow, TicketRow, UserRow
from tickets.core.schemas import SYSTEM, Actor, TicketCreate
from tickets.core.services import create_ticket
from tickets.directory import service as directory

WARSAW = ZoneInfo("Europe/Warsaw")
WORK_START_H, WORK_END_H = 8, 16


class Problem(msgspec.Struct, forbid_unknown_fields=True):
    """One support problem; its tickets reword the title and description (data/demo_problems.json)."""

    module: str
    type: str
    titles: list[str]
    descriptions: list[str]
    solution: str
    keywords: list[str]
    kb: str | None = None


def load_problems() -> list[Problem]:
    raw = (Path(__file__).parent / "data" / "demo_problems.json").read_bytes()
    return msgspec.convert(json.loads(raw)["problems"], list[Problem])


VARIANTS = [
    "Klient zgłasza, że {d}",
    "Od rana: {d}",
    "{d} Problem dotyczy kilku stanowisk.",
    "Partner przekazuje zgłoszenie: {d}",
    "{d} Występuje po ostatniej aktualizacji.",
    "{d}",
    "Telefonicznie: {d} Prośba o pilny kontakt.",
]

PARTNERS = [
    ("Soneta Partner Kraków", "biuro@sonetapartner.example.pl", "+48 12 300 40 50", ""),
    (
        "ERP Serwis Gdańsk",
        "serwis@erpserwis.example.pl",
        "+48 58 300 40 60",
        "Partner złoty — priorytet obsługi",
    ),
    ("Biuro Rachunkowe Tax-Pro", "kontakt@taxpro.example.pl", "+48 22 300 40 70", ""),
]


class DemoClient(msgspec.Struct):
    name: str
    partner: int
    do_not_contact: bool
    note: str
    email: str
    nip: str
    licences: list[tuple[str, str, list[str]]]
    contacts: list[tuple[str, str, str]]
    """(name, e-mail, phone); the first contact's phone matches the telephony demo."""


CLIENTS = [
    DemoClient(
        "Piekarnia Łączka sp. z o.o.",
        0,
        False,
        "",
        "biuro@piekarnia-laczka.example.pl",
        "6762470026",
        [("EN-100201", "enova365", ["Handel", "Księgowość", "Magazyn"])],
        [
            ("Marta Łączka", "marta@piekarnia-laczka.example.pl", "600 100 201"),
            ("Tomasz Kowalczyk", "ksiegowosc@piekarnia-laczka.example.pl", "600 100 211"),
        ],
    ),
    DemoClient(
        "Zakład Mięsny Żuraw",
        0,
        True,
        "Zaległe płatności — nie kontaktować się bez zgody działu sprzedaży",
        "biuro@zuraw.example.pl",
        "5252248481",
        [("EN-100202", "enova365", ["Kadry Płace", "Pulpit Pracownika"])],
        [("Jerzy Żuraw", "jerzy@zuraw.example.pl", "600 100 202")],
    ),
    DemoClient(
        "Hurtownia Ćma S.A.",
        1,
        False,
        "",
        "zamowienia@hurtownia-cma.example.pl",
        "7781456298",
        [("EN-100203", "enova365", ["Handel", "Magazyn", "Ewidencja Środków Pieniężnych"])],
        [
            ("Ola Ćma", "ola@hurtownia-cma.example.pl", "600 100 203"),
            ("Grzegorz Nowicki", "it@hurtownia-cma.example.pl", "600 100 213"),
        ],
    ),
    DemoClient(
        "Sklep Ogrodowy Źdźbło",
        1,
        False,
        "",
        "sklep@zdzblo.example.pl",
        "8992689516",
        [("TR-500101", "Triva", ["Triva"])],
        [("Kamil Źdźbło", "kamil@zdzblo.example.pl", "600 100 204")],
    ),
    DemoClient(
        "Gminny Ośrodek Kultury w Łodzi",
        2,
        False,
        "",
        "sekretariat@gok-lodz.example.pl",
        "7251801126",
        [("EN-100204", "enova365", ["Kadry Płace", "Pulpit Pracownika", "Workflow"])],
        [("Beata Kulturalna", "kadry@gok-lodz.example.pl", "600 100 205")],
    ),
    DemoClient(
        "Przychodnia Zdrowie Plus sp. z o.o.",
        2,
        False,
        "",
        "administracja@zdrowieplus.example.pl",
        "5213017228",
        [
            (
                "EN-100205",
                "enova365",
                ["Księgowość", "Kadry Płace", "Środki Trwałe", "Business Intelligence"],
            )
        ],
        [("Renata Wiśniewska", "finanse@zdrowieplus.example.pl", "600 100 206")],
    ),
    DemoClient(
        "Zakłady Stolarskie Dąb",
        0,
        False,
        "",
        "biuro@stolarnia-dab.example.pl",
        "6340197335",
        [("EN-100206", "enova365", ["Produkcja", "Magazyn", "Handel", "CRM", "Delegacje"])],
        [("Paweł Dębski", "pawel@stolarnia-dab.example.pl", "600 100 207")],
    ),
]


def nip_is_valid(nip: str) -> bool:
    """The NIP checksum (weights 6 5 7 2 3 4 5 6 7, mod 11)."""
    digits = [int(c) for c in nip if c.isdigit()]
    if len(digits) != 10:
        return False
    check = sum(w * d for w, d in zip((6, 5, 7, 2, 3, 4, 5, 6, 7), digits, strict=False)) % 11
    return check == digits[9]


def working_time(rng: random.Random, now: dt.datetime, days_back: int) -> dt.datetime:
    """A moment on a working day (Mon–Fri, 8–16 in Warsaw) about `days_back` days ago and not
    after `now`, in UTC (at night, today's working hours are still to come: the day before)."""
    day = (now.astimezone(WARSAW) - dt.timedelta(days=days_back)).date()
    while True:
        while day.weekday() >= 5:
            day -= dt.timedelta(days=1)
        local = dt.datetime.combine(
            day,
            dt.time(rng.randint(WORK_START_H, WORK_END_H - 1), rng.randint(0, 59)),
            tzinfo=WARSAW,
        )
        if local <= now:
            return local.astimezone(dt.UTC)
        day -= dt.timedelta(days=1)


def last_working_moment(at: dt.datetime) -> dt.datetime:
    """`at` if it is inside working hours, else the end of the last working hour before it."""
    local = at.astimezone(WARSAW)
    if local.weekday() < 5 and WORK_START_H <= local.hour < WORK_END_H:
        return at
    day = local.date()
    if local.weekday() >= 5 or local.hour < WORK_START_H:
        day -= dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    end = dt.datetime.combine(day, dt.time(WORK_END_H - 1, 59), tzinfo=WARSAW)
    return end.astimezone(dt.UTC)


def later_working_time(rng: random.Random, start: dt.datetime, now: dt.datetime) -> dt.datetime:
    """A moment 1–30 working hours after `start`, inside working hours, not after `now` (five
    minutes before it at the latest) and not before `start`."""
    local = start.astimezone(WARSAW)
    for _ in range(rng.randint(1, 30)):
        local += dt.timedelta(hours=1)
        while local.weekday() >= 5 or not WORK_START_H <= local.hour < WORK_END_H:
            local += dt.timedelta(hours=1)
    at = local.replace(minute=rng.randint(0, 59)).astimezone(dt.UTC)
    return max(min(at, last_working_moment(now - dt.timedelta(minutes=5))), start)


def _demo_modules(s: Session, modules: list[str]) -> None:
    """The module dictionary (DevOps area paths, second line) for the demo's stand-in project."""
    from tickets.handoff.service import ModuleEntry, put_modules

    second, _ = auth.create_user(
        s,
        login="produkcja",
        name="Ewa Produkcja",
        role="consultant",
        email="produkcja@sedno.localhost",
    )
    put_modules(
        s,
        [
            ModuleEntry(
                module=m,
                area_path=f"Sedno\\{m}",
                price_list_code=f"M{i + 1:02d}",
                second_line_id=second.id,
            )
            for i, m in enumerate(modules)
        ],
    )


DEMO_SYNONYMS = {
    "KSeF": ["Krajowy System e-Faktur"],
    "JPK": ["Jednolity Plik Kontrolny"],
    "PPK": ["Pracownicze Plany Kapitałowe"],
    "MPP": ["mechanizm podzielonej płatności"],
}
"""A few synonyms, so the dictionary the console suggests from shows what they do."""


def _demo_keywords(s: Session, problems: list[Problem]) -> None:
    """The keyword dictionary: every keyword the demo's tickets carry (the console refuses others)."""
    from search.analysis import folded_text
    from search.keywords import KeywordIn, create_keyword, form_index

    for name in dict.fromkeys(k for p in problems for k in p.keywords):
        if folded_text(name) not in form_index(s):
            synonyms = DEMO_SYNONYMS.get(name, [])
            create_keyword(s, SYSTEM, KeywordIn(name=name, synonyms=synonyms))


def _client_for(rng: random.Random, clients: list[ClientRow], module: str) -> ClientRow:
    """A client whose licence covers the module, when one has it."""
    fitting = [
        c for c in clients if any(module in (lic.modules or []) for lic in c.licences)
    ] or clients
    return fitting[rng.randrange(len(fitting))]


def _ticket(
    problem: Problem,
    rng: random.Random,
    client: ClientRow,
    reported: dt.datetime,
    copy: int,
    contacts: dict[int, int],
) -> TicketCreate:
    desc = problem.descriptions[copy % len(problem.descriptions)]
    licence = next(iter(client.licences), None)
    return TicketCreate(
        definition="ZS",
        title=problem.titles[copy % len(problem.titles)],
        description=rng.choice(VARIANTS).format(d=desc[0].lower() + desc[1:]),
        client_id=client.id,
        partner_id=client.partner_id,
        contact_id=contacts.get(client.id),
        licence=licence.number if licence else None,
        product="Triva" if problem.module == "Triva" else "enova365",
        version=f"{rng.choice([2404, 2410, 2504, 2510])}.{rng.randint(1, 6)}",
        module=problem.module,
        type=problem.type,
        priority=rng.choice(["normalny", "normalny", "normalny", "wysoki", "niski", "krytyczny"]),
        reported_at=reported,
        keywords=problem.keywords,
        submission_mode=rng.choice(["phone", "phone", "email", "email", "form"]),
    )


def _solved_tickets(
    s: Session,
    rng: random.Random,
    problems: list[Problem],
    clients: list[ClientRow],
    contacts: dict[int, int],
    now: dt.datetime,
    total: int,
    leads: list[UserRow],
) -> int:
    """Every problem solved 2–6 times in different words, spread over two years."""
    made = 0
    copies = [2 + rng.randrange(5) for _ in problems]
    while sum(copies) < total:
        copies[rng.randrange(len(copies))] += 1
    for ix, (problem, n) in enumerate(zip(problems, copies, strict=True)):
        for copy in range(n):
            client = _client_for(rng, clients, problem.module)
            reported = working_time(rng, now, rng.randint(3, 700))
            data = _ticket(problem, rng, client, reported, copy, contacts)
            rejected = problem.type == "feature" and copy == 1
            solution = (
                "Nie planujemy tej zmiany w najbliższych wersjach; obejście opisano w rozwiązaniu "
                "pierwszego zgłoszenia."
                if rejected
                else problem.solution
            )
            kb = [f"https://pomoc.enova.pl/artykul/{problem.kb}"] if problem.kb else []
            data = msgspec.structs.replace(
                data,
                solution=solution,
                kb_links=kb if rng.random() < 0.8 else [],
                lead_consultant_id=leads[rng.randrange(len(leads))].id,
            )
            create_ticket(
                s,
                SYSTEM,
                data,
                state="completed",
                resolution="rejected" if rejected else "resolved",
                external_id=f"demo:{ix}:{copy}",
                completed_at=later_working_time(rng, reported, now),
            )
            made += 1
    return made


OPEN_WORK = [
    # (definition, problem index or title, state, lead login)
    ("ZS", 0, "reported", "konsultant"),
    ("ZS", 16, "reported", "konsultant"),
    ("ZS", 26, "analysing", "konsultant"),
    ("ZS", 4, "analysing", "konsultant"),
    ("ZS", 9, "in_progress", "konsultant"),
    ("ZS", 20, "in_progress", "kurator"),
    ("ZS", 37, "reported", "kurator"),
    ("ZS", 45, "analysing", "kurator"),
    ("ZS", 33, "cancelled", "konsultant"),
    ("ZS", 50, "cancelled", "kurator"),
]
OTHER_DEFINITIONS = [
    # (definition, title, description, state, days back)
    (
        "ZW",
        "Aktualizacja bazy wiedzy o KSeF 2.0",
        "Przejrzeć artykuły o KSeF po zmianie schematu i zaktualizować rozwiązania.",
        "in_progress",
        2,
    ),
    (
        "ZW",
        "Przegląd zgłoszeń bez słów kluczowych",
        "Uzupełnić słowa kluczowe w zgłoszeniach z ostatniego kwartału.",
        "reported",
        1,
    ),
    (
        "KOM",
        "Komunikat: przerwa techniczna serwera licencji w sobotę",
        "W sobotę 8:00–10:00 serwer licencji będzie niedostępny; prosimy poinformować klientów.",
        "completed",
        9,
    ),
    (
        "SZ",
        "Szkolenie z obsługi KSeF dla Hurtowni Ćma",
        "Szkolenie zdalne dla działu sprzedaży: wysyłka faktur, obsługa odrzuceń, faktury zakupu.",
        "reported",
        1,
    ),
    (
        "SZ",
        "Szkolenie z list płac dla GOK w Łodzi",
        "Naliczanie wypłat, PPK, deklaracje ZUS; 4 godziny, stacjonarnie.",
        "completed",
        30,
    ),
]


def _open_work(
    s: Session,
    rng: random.Random,
    problems: list[Problem],
    clients: list[ClientRow],
    contacts: dict[int, int],
    users: dict[str, UserRow],
    now: dt.datetime,
) -> list[TicketRow]:
    """Tickets still being worked on, in every state of the process, and the other definitions."""
    made: list[TicketRow] = []
    for n, (definition, problem_ix, state, lead) in enumerate(OPEN_WORK):
        problem = problems[problem_ix % len(problems)]
        client = _client_for(rng, clients, problem.module)
        reported = working_time(rng, now, rng.randint(0, 6))
        data = msgspec.structs.replace(
            _ticket(problem, rng, client, reported, n + 2, contacts),
            definition=definition,
            lead_consultant_id=users[lead].id,
        )
        made.append(create_ticket(s, SYSTEM, data, state=state, external_id=f"demo:open:{n}"))
    for n, (definition, title, desc, state, days) in enumerate(OTHER_DEFINITIONS):
        reported = working_time(rng, now, days)
        data = TicketCreate(
            definition=definition,
            title=title,
            description=desc,
            solution="Wykonano." if state == "completed" else "",
            reported_at=reported,
            lead_consultant_id=users["kurator" if n % 2 else "konsultant"].id,
        )
        made.append(
            create_ticket(
                s,
                SYSTEM,
                data,
                state=state,
                external_id=f"demo:other:{n}",
                completed_at=later_working_time(rng, reported, now),
            )
        )
    return made


def _hand_off_one(s: Session, tickets: list[TicketRow], users: dict[str, UserRow]) -> str | None:
    """Hand one analysed ticket to production; the worker creates its work item on the stand-in."""
    from tickets.handoff.service import request_handoff

    for ticket in tickets:
        if ticket.state == "analysing" and ticket.definition_code == "ZS":
            user = users["konsultant"]
            request_handoff(s, Actor(user.id, user.name, user.role), ticket.id)
            return ticket.number
    return None


def _mail(sender: str, subject: str, body: str, now: dt.datetime, **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "pomoc@sedno.localhost"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].rstrip(">"))
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def demo_mails(now: dt.datetime) -> Iterator[tuple[str, bytes]]:
    """The queue's story: a stranger's question, spam, an out-of-office reply, a bounce."""
    yield (
        "ham",
        _mail(
            "Karolina Zielińska <k.zielinska@nowafirma.example.pl>",
            "Pytanie o wdrożenie enova365 — faktury do KSeF",
            "Dzień dobry,\n\nod stycznia musimy wysyłać faktury do KSeF. Czy w naszej wersji "
            "enova365 (2410.3) trzeba coś skonfigurować, żeby faktury sprzedaży trafiały do "
            "KSeF automatycznie?\n\nPozdrawiam\nKarolina Zielińska\n"
            "tel. 601 234 567",
            now,
        ).as_bytes(),
    )
    yield (
        "spam",
        _mail(
            "Promocja <winner@lucky-prize.example.com>",
            "WYGRAŁEŚ!!! Odbierz nagrodę 10 000 zł — kliknij teraz",
            "GRATULACJE!!! Zostałeś wybrany. Viagra, casino, bitcoin — odbierz nagrodę teraz: "
            "http://lucky-prize.example.com/claim?id=1 FREE MONEY!!! Oferta ważna 24h.",
            now,
        ).as_bytes(),
    )
    yield (
        "auto-reply",
        _mail(
            "Ola Ćma <ola@hurtownia-cma.example.pl>",
            "Automatyczna odpowiedź: Przyjęliśmy Twoje zgłoszenie",
            "Dzień dobry, jestem na urlopie do poniedziałku. W pilnych sprawach proszę o "
            "kontakt z it@hurtownia-cma.example.pl.\n\nOla Ćma",
            now,
            Auto_Submitted="auto-replied",
            X_Auto_Response_Suppress="All",
        ).as_bytes(),
    )
    bounce = EmailMessage()
    bounce["From"] = "Mail Delivery System <MAILER-DAEMON@mx.example.net>"
    bounce["To"] = "pomoc@sedno.localhost"
    bounce["Subject"] = "Undelivered Mail Returned to Sender"
    bounce["Date"] = format_datetime(now)
    bounce["Message-ID"] = make_msgid(domain="mx.example.net")
    bounce["Auto-Submitted"] = "auto-replied"
    bounce.set_content(
        "This is the mail system at host mx.example.net.\n\nI'm sorry to have to inform you "
        "that your message could not be delivered to one or more recipients.\n\n"
        "<stary.adres@piekarnia-laczka.example.pl>: host mx.example.net said: 550 5.1.1 "
        "User unknown"
    )
    status = EmailMessage()
    status.set_content(
        "Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; "
        "stary.adres@piekarnia-laczka.example.pl\nAction: failed\nStatus: 5.1.1\n"
    )
    bounce.make_mixed()
    bounce.attach(status)
    bounce.replace_header("Content-Type", 'multipart/report; report-type="delivery-status"')
    yield "bounce", bounce.as_bytes()


def _fill_queue(container: object, now: dt.datetime) -> list[str]:
    from intake.handlers import intake_context
    from intake.ingest import ingest_mail

    db = container.db  # type: ignore[attr-defined]
    ctx = intake_context(container)  # type: ignore[arg-type]
    done = []
    for kind, raw in demo_mails(now):
        with db.transaction() as s:
            result = ingest_mail(s, ctx, raw, source_info={"demo": kind})
        done.append(f"{kind} → {result.outcome}/{result.status}")
    return done


def load_demo(container: object, *, tickets: int = 300, seed: int = 7) -> str:
    """Idempotent: does nothing when demo clients exist already. Returns what it did."""
    db = container.db  # type: ignore[attr-defined]
    rng = random.Random(seed)
    problems = load_problems()
    now = dt.datetime.now(dt.UTC)
    with db.transaction() as s:
        if s.scalar(
            select(func.count()).select_from(ClientRow).where(ClientRow.name == CLIENTS[0].name)
        ):
            return "demo data already loaded"
        partners = [
            directory.create_partner(
                s, directory.PartnerIn(name=n, email=e, phone=ph, sales_note=note)
            )
            for n, e, ph, note in PARTNERS
        ]
        clients = []
        first_contact: dict[int, int] = {}
        # client id → its first contact (a ticket names it as the caller)
        for c in CLIENTS:
            client = directory.create_client(
                s,
                directory.ClientIn(
                    name=c.name,
                    partner_id=partners[c.partner].id,
                    email=c.email,
                    tax_id=c.nip,
                    do_not_contact=c.do_not_contact,
                    sales_note=c.note,
                    licences=[
                        directory.LicenceIn(number=n, product=p, modules=m)
                        for n, p, m in c.licences
                    ],
                ),
            )
            for name, email, phone in c.contacts:
                contact = directory.create_contact(
                    s, directory.ContactIn(name=name, email=email, phone=phone, client_id=client.id)
                )
                first_contact.setdefault(client.id, contact.id)
            s.refresh(client)
            clients.append(client)
        tokens = []
        for login, name, role in (
            ("konsultant", "Anna Konsultant", "consultant"),
            ("kurator", "Piotr Kurator", "curator"),
            ("admin.demo", "Administrator demo", "admin"),
        ):
            if s.scalar(select(UserRow).where(UserRow.login == login)) is None:
                _, token = auth.create_user(
                    s,
                    login=login,
                    name=name,
                    role=role,
                    email=f"{login}@sedno.localhost",
                    password=f"{login}-demo",
                )
                tokens.append(f"{login} ({role}): password {login}-demo, token {token}")
        users = {u.login: u for u in s.scalars(select(UserRow))}
        _demo_modules(s, sorted({p.module for p in problems}))
        _demo_keywords(s, problems)
        solved = _solved_tickets(
            s,
            rng,
            problems,
            clients,
            first_contact,
            now,
            tickets,
            [users["konsultant"], users["kurator"]],
        )
        open_work = _open_work(s, rng, problems, clients, first_contact, users, now)
        handed_off = _hand_off_one(s, open_work, users)
        count = s.scalar(select(func.count()).select_from(TicketRow)) or 0
    queue = _fill_queue(container, now)
    lines = [
        f"demo data loaded: {len(partners)} partners, {len(clients)} clients, {count} tickets "
        f"({solved} solved, {len(open_work)} open or other), {len(problems)} distinct problems",
        f"handed off to Azure DevOps: {handed_off}",
        "queue: " + ", ".join(queue),
    ]
    lines.extend(tokens)
    return "\n".join(lines)
