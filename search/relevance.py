"""The relevance benchmark: Polish tickets whose titles share one vocabulary, and a
consultant's as-you-type queries for them (a title with typos, the last word cut short).

Two sets: `TUNING` is the one the ranking was tuned on; `UNSEEN` has its own title templates,
vocabulary, typo mix and seed, and was never looked at while tuning. A query counts as found
when its ticket is among the first ten hits.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import msgspec

from search.analysis import fold
from search.documents import TicketDocument


@dataclass(frozen=True)
class Vocabulary:
    """What one set's tickets are made of. Openers name the grammatical case they need."""

    openers: Sequence[tuple[str, str]]
    actions: dict[str, Sequence[str]]
    objects: Sequence[str]
    qualifiers: Sequence[str]
    filler: Sequence[str]
    solutions: Sequence[str]
    typos: Sequence[str]
    seed: int


TUNING = Vocabulary(
    openers=[("Błąd przy", "loc"), ("Problem z", "inst"), ("Pytanie o", "acc"),
             ("Komunikat przy", "loc"), ("Brak możliwości", "gen"), ("Nie działa", "nom"),
             ("Zawieszenie przy", "loc"), ("Prośba o pomoc przy", "loc")],
    actions={
        "loc": ["wystawianiu", "wydruku", "księgowaniu", "wysyłce", "imporcie", "eksporcie",
                "zamykaniu", "naliczaniu", "korekcie", "zatwierdzaniu", "generowaniu", "raporcie"],
        "inst": ["wystawianiem", "wydrukiem", "księgowaniem", "wysyłką", "importem", "eksportem",
                 "zamykaniem", "naliczaniem", "korektą", "zatwierdzaniem", "generowaniem", "raportem"],
        "acc": ["wystawianie", "wydruk", "księgowanie", "wysyłkę", "import", "eksport",
                "zamykanie", "naliczanie", "korektę", "zatwierdzanie", "generowanie", "raport"],
        "gen": ["wystawienia", "wydruku", "zaksięgowania", "wysłania", "importu", "eksportu",
                "zamknięcia", "naliczenia", "korekty", "zatwierdzenia", "wygenerowania", "raportu"],
        "nom": ["wystawianie", "wydruk", "księgowanie", "wysyłka", "import", "eksport",
                "zamykanie", "naliczanie", "korekta", "zatwierdzanie", "generowanie", "raport"],
    },
    objects=["faktury sprzedaży", "faktury korygującej", "listy płac", "deklaracji VAT-7",
             "pliku JPK_V7M", "przelewów zbiorczych", "raportu kasowego", "wyciągu bankowego",
             "noty księgowej", "deklaracji PIT-11", "składek ZUS", "urlopu wypoczynkowego",
             "zwolnienia lekarskiego", "remanentu magazynu", "dokumentu WZ", "zamówienia od klienta",
             "kursu waluty", "bilansu otwarcia", "rozrachunków z kontrahentem", "e-Deklaracji",
             "faktury zaliczkowej", "paragonu fiskalnego", "umowy zlecenie", "ewidencji czasu pracy",
             "planu kont", "środka trwałego", "polecenia księgowania", "wysyłki do KSeF"],
    qualifiers=["", "", "w module Handel", "po aktualizacji do 2504.2", "dla pracownika na umowie",
                "z datą wsteczną", "w walucie EUR", "na serwerze terminalowym", "u klienta w Łodzi",
                "w trybie wielofirmowym", "po zmianie stawki", "dla oddziału w Gdańsku",
                "w wersji 2410", "przy pracy zdalnej", "z poziomu workflow", "dla kilku firm"],
    filler=["klient", "zgłasza", "system", "program", "dokument", "pozycja", "kwota", "podatek",
            "pracownik", "okres", "firma", "baza", "serwer", "wydruk", "raport", "plik",
            "ustawienia", "konfiguracja", "operator", "faktury", "błąd", "problem", "listy",
            "płac", "księgowanie", "wysyłka", "deklaracji", "przy", "z", "nie", "działa"],
    solutions=["Należy zaktualizować program do najnowszej wersji i ponowić operację.",
               "Zmienić ustawienia w konfiguracji: System → Księgowość → Definicje dokumentów.",
               "Poprawić dane kontrahenta (NIP) i ponownie wygenerować plik.",
               "Przeliczyć listę płac po uzupełnieniu historii zatrudnienia.",
               "Nadać operatorowi uprawnienia do modułu i zalogować się ponownie."],
    typos=["swap", "swap", "substitute", "delete", "fold"],
    seed=2026,
)  # fmt: skip

UNSEEN = Vocabulary(
    openers=[("Awaria podczas", "gen2"), ("Kłopot z", "inst"), ("Jak wykonać", "acc"),
             ("Ostrzeżenie przy", "loc"), ("Nieprawidłowe", "nom2"), ("Wolne działanie przy", "loc")],
    actions={
        "gen2": ["drukowania", "przesyłania", "rozliczania", "synchronizacji", "archiwizacji",
                 "kopiowania", "podpisywania", "filtrowania", "sortowania", "odświeżania"],
        "inst": ["drukowaniem", "przesyłaniem", "rozliczaniem", "synchronizacją", "archiwizacją",
                 "kopiowaniem", "podpisywaniem", "filtrowaniem", "sortowaniem", "odświeżaniem"],
        "acc": ["drukowanie", "przesyłanie", "rozliczenie", "synchronizację", "archiwizację",
                "kopię", "podpis", "filtrowanie", "sortowanie", "odświeżenie"],
        "loc": ["drukowaniu", "przesyłaniu", "rozliczaniu", "synchronizacji", "archiwizacji",
                "kopiowaniu", "podpisywaniu", "filtrowaniu", "sortowaniu", "odświeżaniu"],
        "nom2": ["drukowanie", "przesyłanie", "rozliczanie", "synchronizowanie", "archiwizowanie",
                 "kopiowanie", "podpisywanie", "filtrowanie", "sortowanie", "odświeżanie"],
    },
    objects=["zestawienia obrotów", "kartoteki towarowej", "cennika hurtowego", "harmonogramu pracy",
             "delegacji krajowej", "ewidencji VAT", "kompensaty należności", "rejestru sprzedaży",
             "wezwania do zapłaty", "not odsetkowych", "przeceny towarów", "inwentaryzacji",
             "zaliczek pracowniczych", "listy obecności", "rachunku do umowy", "potwierdzenia salda",
             "deklaracji ZUS DRA", "sprawozdania finansowego", "przelewu SEPA", "pliku JPK_KR"],
    qualifiers=["", "w nowej bazie", "po migracji danych", "dla wielu magazynów", "w kasie fiskalnej",
                "z użyciem API", "w raporcie BI", "dla spółki cywilnej", "w okresie zamkniętym",
                "po imporcie z Excela", "na drukarce sieciowej", "w przeglądarce"],
    filler=["użytkownik", "informuje", "aplikacja", "moduł", "ekran", "kolumna", "wartość", "saldo",
            "kontrahent", "miesiąc", "spółka", "tabela", "stacja", "zestawienie", "drukowanie",
            "okno", "parametry", "uprawnienia", "administrator", "kartoteki", "awaria", "kłopot",
            "ewidencji", "rozliczania", "podczas", "przy", "nie", "się"],
    solutions=["Wyczyścić pamięć podręczną i uruchomić aplikację ponownie.",
               "Uzupełnić parametry w konfiguracji firmy i przeliczyć zestawienie.",
               "Zmienić uprawnienia operatora w module Administracja.",
               "Przeindeksować bazę danych narzędziem serwisowym."],
    typos=["swap", "double", "delete", "substitute", "fold", "fold"],
    seed=777,
)  # fmt: skip

_NEIGHBOURS = {
    "a": "qsz", "b": "vgn", "c": "xdv", "d": "sfe", "e": "wrd", "f": "dgr", "g": "fht",
    "h": "gjy", "i": "uok", "j": "hku", "k": "jli", "l": "kop", "m": "nk", "n": "bmj",
    "o": "ipl", "p": "ol", "r": "etf", "s": "adw", "t": "ryg", "u": "yij", "w": "qes",
    "y": "tuh", "z": "xas",
}  # fmt: skip
"""Keys beside each other on a Polish (QWERTY) keyboard: what a slipped finger types."""


class RelevanceCase(msgspec.Struct, frozen=True):
    """One query and the ticket it is meant to find."""

    q: str
    ticket_id: int


def relevance_tickets(n: int, vocab: Vocabulary) -> list[TicketDocument]:
    """`n` resolved tickets with distinct titles made of the shared vocabulary."""
    rnd = random.Random(vocab.seed)
    titles: set[str] = set()
    docs: list[TicketDocument] = []
    while len(docs) < n:
        opener, case = rnd.choice(vocab.openers)
        parts = [opener, rnd.choice(vocab.actions[case]), rnd.choice(vocab.objects)]
        parts.append(rnd.choice(vocab.qualifiers))
        if rnd.random() < 0.3:
            parts.append(rnd.choice(vocab.qualifiers))
        title = " ".join(p for p in parts if p)
        if title in titles:
            continue
        titles.add(title)
        i = len(docs) + 1
        # Descriptions mention other actions and objects: the words, scattered.
        other = [rnd.choice(vocab.actions[rnd.choice(list(vocab.actions))]) for _ in range(3)]
        filler = " ".join(rnd.choices(vocab.filler, k=rnd.randint(20, 60)))
        description = (
            f"{filler}. Dotyczy także: {rnd.choice(vocab.objects)}, {other[0]} "
            f"{rnd.choice(vocab.objects)}; wcześniej {other[1]} i {other[2]} działały."
        )
        docs.append(
            TicketDocument(
                id=i,
                number=f"ZS/2025/{i}",
                title=title,
                description=description,
                solution=rnd.choice(vocab.solutions),
                product=rnd.choice(["enova365", "Triva"]),
                module=rnd.choice(["Handel", "Kadry Płace", "Księgowość", "Magazyn"]),
                type=rnd.choice(["bug", "question", "config"]),
                completed_at=1_700_000_000 + i * 60,
                verified=rnd.random() < 0.2,
                reuse_count=int(rnd.expovariate(0.3)),
            )
        )
    return docs


def _misspell(word: str, kind: str, rnd: random.Random) -> str:
    if kind == "fold":
        return fold(word) if fold(word) != word.lower() else word
    if len(word) < 5:
        return word
    i = rnd.randrange(1, len(word) - 1)
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "delete":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    near = _NEIGHBOURS.get(word[i].lower(), "")
    return word[:i] + rnd.choice(near) + word[i + 1 :] if near else word


def relevance_queries(
    docs: Sequence[TicketDocument], n: int, vocab: Vocabulary
) -> list[RelevanceCase]:
    """For `n` random tickets: the title as typed, one or two typos, the last word cut short."""
    rnd = random.Random(vocab.seed + 1)
    cases = []
    for doc in rnd.sample(list(docs), min(n, len(docs))):
        words = doc.title.split()
        for _ in range(rnd.choice([1, 1, 2])):
            kind = rnd.choice(vocab.typos)
            if kind == "fold":
                words = [_misspell(w, "fold", rnd) for w in words]
                continue
            long_ones = [k for k, w in enumerate(words) if len(w) >= 5]
            if long_ones:
                k = rnd.choice(long_ones)
                words[k] = _misspell(words[k], kind, rnd)
        last = words[-1]
        if len(last) > 3:
            words[-1] = last[: rnd.randint(3, len(last) - 1)]
        cases.append(RelevanceCase(" ".join(words).lower(), doc.id))
    return cases


class RelevanceReport(msgspec.Struct, frozen=True):
    """Share of queries whose ticket is in the first ten hits, and the mean reciprocal rank."""

    queries: int
    top10: float
    mrr: float
    ms_p95: float


def measure_relevance(
    search: Callable[[str], list[int]], cases: Sequence[RelevanceCase]
) -> RelevanceReport:
    """Run every case through `search` (query → ranked ticket ids)."""
    found = 0
    rr = 0.0
    times = []
    for case in cases:
        t0 = time.perf_counter()
        ranked = search(case.q)[:10]
        times.append((time.perf_counter() - t0) * 1000)
        if case.ticket_id in ranked:
            found += 1
            rr += 1 / (ranked.index(case.ticket_id) + 1)
    times.sort()
    n = max(1, len(cases))
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))] if times else 0.0
    return RelevanceReport(len(cases), round(found / n, 4), round(rr / n, 4), round(p95, 2))
