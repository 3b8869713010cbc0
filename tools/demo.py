"""Demo data for `make run`: a small directory and a few hundred solved tickets in Polish."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tickets.accounts import auth
from tickets.core.orm import ClientRow, TicketRow, UserRow
from tickets.core.schemas import SYSTEM, TicketCreate
from tickets.core.services import create_ticket
from tickets.directory import service as directory

# (module, title, description, solution, keywords, kb article id)
PROBLEMS: list[tuple[str, str, str, str, list[str], str | None]] = [
    (
        "Handel",
        "Błąd wysyłki faktury do KSeF",
        "Przy wysyłce faktury sprzedaży do Krajowego Systemu e-Faktur pojawia się komunikat o błędzie schematu FA(2).",
        "Zaktualizować program do najnowszej wersji i ponownie wysłać fakturę; schemat FA(3) obowiązuje od nowej wersji. Sprawdzić NIP nabywcy.",
        ["KSeF", "faktura", "e-faktura"],
        "kb-1021",
    ),
    (
        "Handel",
        "Nie można zaksięgować korekty faktury",
        "Korekta faktury zakupu nie daje się zaksięgować, program zgłasza brak dokumentu źródłowego.",
        "Powiązać korektę z fakturą pierwotną w zakładce Relacje, następnie ponownie uruchomić księgowanie.",
        ["korekta", "faktura", "księgowanie"],
        "kb-1044",
    ),
    (
        "Kadry Płace",
        "Lista płac nie nalicza składek ZUS",
        "Po zmianie stawki wypadkowej lista płac za bieżący miesiąc nie nalicza składek ZUS pracodawcy.",
        "Wprowadzić nową stawkę wypadkową z datą obowiązywania od 1 kwietnia w konfiguracji firmy i przeliczyć listę płac.",
        ["ZUS", "lista płac", "składki"],
        "kb-2010",
    ),
    (
        "Kadry Płace",
        "Urlop wypoczynkowy źle wyliczony",
        "Limit urlopu wypoczynkowego pracownika na nowy rok wyliczył się w wymiarze 20 zamiast 26 dni.",
        "Uzupełnić staż pracy z poprzednich zatrudnień w kartotece pracownika i przeliczyć limity nieobecności.",
        ["urlop", "limit urlopu", "staż pracy"],
        "kb-2031",
    ),
    (
        "Kadry Płace",
        "Deklaracja PIT-11 z błędną kwotą",
        "Wydruk deklaracji PIT-11 pokazuje zaniżony przychód z umowy zlecenia.",
        "Sprawdzić definicję elementu wynagrodzenia umowy zlecenia — pole 'Przychód PIT' musi być zaznaczone. Po poprawie wygenerować deklarację ponownie.",
        ["PIT-11", "deklaracja", "umowa zlecenie"],
        None,
    ),
    (
        "Księgowość",
        "Plik JPK_V7M odrzucony przez bramkę",
        "Wysyłka JPK_V7M kończy się błędem 413 — niepoprawny podpis.",
        "Podpisać plik ponownie profilem zaufanym lub danymi autoryzującymi z poprzedniego zeznania; kwota przychodu musi być zgodna z PIT za rok ubiegły.",
        ["JPK", "JPK_V7M", "podpis"],
        "kb-3005",
    ),
    (
        "Księgowość",
        "Rozrachunki nie rozliczają się automatycznie",
        "Przelewy z wyciągu bankowego nie rozliczają się z fakturami, mimo zgodnej kwoty.",
        "Włączyć w konfiguracji automatyczne rozliczanie po numerze dokumentu w tytule przelewu i ponownie zaimportować wyciąg.",
        ["rozrachunki", "wyciąg bankowy", "przelewy"],
        "kb-3017",
    ),
    (
        "Księgowość",
        "Łączenie kont księgowych w planie kont",
        "Po połączeniu dwóch kont analitycznych salda nie przeniosły się na konto docelowe.",
        "Łączenie kont wykonać przez funkcję 'Połącz konta' przy zamkniętym okresie; następnie przeliczyć obroty i salda.",
        ["plan kont", "łączenie kont", "salda"],
        None,
    ),
    (
        "Ewidencja Środków Pieniężnych",
        "Import wyciągu bankowego MT940 nie działa",
        "Import wyciągu w formacie MT940 z banku kończy się pustą listą operacji.",
        "Ustawić kodowanie pliku na Windows-1250 w definicji importu i wskazać właściwy rachunek bankowy.",
        ["MT940", "wyciąg bankowy", "import"],
        "kb-4002",
    ),
    (
        "Magazyn",
        "Ujemne stany magazynowe po inwentaryzacji",
        "Po zatwierdzeniu inwentaryzacji część towarów ma ujemne stany.",
        "Zatwierdzić zaległe dokumenty PZ sprzed daty inwentaryzacji i przeliczyć stany w kolejności chronologicznej.",
        ["inwentaryzacja", "stany magazynowe", "PZ"],
        None,
    ),
    (
        "Handel",
        "Drukarka fiskalna nie drukuje paragonu",
        "Po aktualizacji sterownika drukarka fiskalna nie drukuje paragonów, błąd komunikacji na porcie COM.",
        "Ustawić prędkość portu na 9600 i protokół Thermal w konfiguracji urządzeń zewnętrznych, następnie zrestartować usługę.",
        ["drukarka fiskalna", "paragon"],
        "kb-1102",
    ),
    (
        "Workflow",
        "Zadania workflow nie przychodzą do akceptującego",
        "Dokumenty do akceptacji nie pojawiają się na liście zadań kierownika działu.",
        "Uzupełnić w definicji procesu rolę 'Kierownik' dla działu i przypisać operatora do roli.",
        ["workflow", "akceptacja"],
        None,
    ),
    (
        "Pulpit Pracownika",
        "Pracownik nie widzi wniosku urlopowego",
        "W Pulpicie Pracownika brak możliwości złożenia wniosku urlopowego.",
        "Nadać operatorowi uprawnienie do wniosków w module Pulpit Pracownika i odświeżyć sesję przeglądarki.",
        ["pulpit pracownika", "wniosek urlopowy"],
        "kb-6001",
    ),
    (
        "Triva",
        "Triva: nie synchronizuje zamówień ze sklepem",
        "Zamówienia ze sklepu internetowego nie pobierają się do Trivy od wczoraj.",
        "Odnowić token API sklepu w konfiguracji integracji i uruchomić synchronizację ręcznie.",
        ["synchronizacja", "zamówienia", "sklep"],
        None,
    ),
    (
        "Kadry Płace",
        "Błąd przy wysyłce e-Deklaracji ZUS",
        "Płatnik zwraca błąd przy wysyłce deklaracji ZUS DRA z enova365.",
        "Wyeksportować deklarację do pliku KEDU w wersji 5.5 i zaimportować do Płatnika.",
        ["ZUS", "DRA", "KEDU"],
        "kb-2050",
    ),
    (
        "Handel",
        "Cennik nie uwzględnia rabatu kontrahenta",
        "Na fakturze sprzedaży nie nalicza się rabatu kontrahenta z karty.",
        "Sprawdzić priorytet cenników — rabat kontrahenta musi mieć wyższy priorytet niż promocja; przeliczyć pozycje dokumentu.",
        ["rabat", "cennik", "faktura"],
        None,
    ),
]

VARIANTS = [
    "Klient zgłasza, że {d}",
    "Od rana: {d}",
    "{d} Problem dotyczy kilku stanowisk.",
    "Partner przekazuje zgłoszenie: {d}",
    "{d} Występuje po ostatniej aktualizacji.",
]

PARTNERS = [
    ("Soneta Partner Kraków", ""),
    ("ERP Serwis Gdańsk", "Partner złoty — priorytet obsługi"),
    ("Biuro Rachunkowe Tax-Pro", ""),
]
CLIENTS = [
    (
        "Piekarnia Łączka sp. z o.o.",
        0,
        False,
        "",
        [("EN-100201", "enova365", ["Handel", "Księgowość"])],
    ),
    (
        "Zakład Mięsny Żuraw",
        0,
        True,
        "Zaległe płatności — nie kontaktować się bez zgody działu sprzedaży",
        [("EN-100202", "enova365", ["Kadry Płace"])],
    ),
    (
        "Hurtownia Ćma S.A.",
        1,
        False,
        "Negocjacje przedłużenia licencji w toku",
        [("EN-100203", "enova365", ["Handel", "Magazyn"])],
    ),
    ("Sklep Ogrodowy Źdźbło", 1, False, "", [("TR-500101", "Triva", ["Triva"])]),
    (
        "Gminny Ośrodek Kultury w Łodzi",
        2,
        False,
        "",
        [("EN-100204", "enova365", ["Kadry Płace", "Pulpit Pracownika"])],
    ),
]


def _demo_modules(s: Session) -> None:
    """The module dictionary (DevOps area paths, second line) for the demo's stand-in project."""
    try:
        from tickets.handoff.service import ModuleEntry, put_modules
    except ImportError:
        return
    second, _ = auth.create_user(
        s,
        login="produkcja",
        name="Ewa Produkcja",
        role="consultant",
        email="produkcja@sedno.localhost",
    )
    modules = sorted({p[0] for p in PROBLEMS})
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


def load_demo(container: object, *, tickets: int = 300, seed: int = 7) -> str:
    """Idempotent: does nothing when demo clients exist already. Returns what it did."""
    db = container.db  # type: ignore[attr-defined]
    rng = random.Random(seed)
    with db.transaction() as s:
        if s.scalar(
            select(func.count()).select_from(ClientRow).where(ClientRow.name == CLIENTS[0][0])
        ):
            return "demo data already loaded"
        partners = [
            directory.create_partner(s, directory.PartnerIn(name=n, sales_note=note))
            for n, note in PARTNERS
        ]
        clients = []
        for name, partner_ix, dnc, note, licences in CLIENTS:
            clients.append(
                directory.create_client(
                    s,
                    directory.ClientIn(
                        name=name,
                        partner_id=partners[partner_ix].id,
                        do_not_contact=dnc,
                        sales_note=note,
                        licences=[
                            directory.LicenceIn(number=n, product=p, modules=m)
                            for n, p, m in licences
                        ],
                    ),
                )
            )
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
        _demo_modules(s)
        now = dt.datetime.now(dt.UTC)
        for i in range(tickets):
            module, title, desc, solution, keywords, kb = PROBLEMS[i % len(PROBLEMS)]
            client = clients[rng.randrange(len(clients))]
            reported = now - dt.timedelta(days=rng.randint(1, 700), hours=rng.randint(0, 23))
            product = "Triva" if module == "Triva" else "enova365"
            create_ticket(
                s,
                SYSTEM,
                TicketCreate(
                    definition="ZS",
                    title=title if i < len(PROBLEMS) else f"{title} ({client.name.split()[0]})",
                    description=rng.choice(VARIANTS).format(d=desc[0].lower() + desc[1:]),
                    solution=solution,
                    client_id=client.id,
                    partner_id=client.partner_id,
                    product=product,
                    version=f"{rng.choice([2304, 2310, 2404, 2410, 2504])}.{rng.randint(1, 6)}",
                    module=module,
                    type=rng.choice(["bug", "bug", "question", "question", "feature", "complaint"]),
                    priority=rng.choice(["normalny", "normalny", "wysoki", "niski", "krytyczny"]),
                    reported_at=reported,
                    keywords=keywords,
                    kb_links=[f"https://pomoc.enova.pl/artykul/{kb}"]
                    if kb and rng.random() < 0.8
                    else [],
                    submission_mode=rng.choice(["phone", "email", "form"]),
                ),
                state="completed",
                external_id=f"demo:{i}",
                completed_at=reported + dt.timedelta(hours=rng.randint(1, 72)),
            )
        count = s.scalar(select(func.count()).select_from(TicketRow)) or 0
    lines = [f"demo data loaded: {len(partners)} partners, {len(clients)} clients, {count} tickets"]
    lines.extend(tokens)
    return "\n".join(lines)
