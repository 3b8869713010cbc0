"""Every string the UI shows, in Polish (first) and English."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

LANGUAGES: Final = ("pl", "en")

# key: (Polish, English)
CATALOGUE: Final[dict[str, tuple[str, str]]] = {
    "app": ("Sedno", "Sedno"),
    "nav.search": ("Szukaj", "Search"),
    "nav.call": ("Nowe połączenie", "New call"),
    "nav.queue": ("Kolejka zgłoszeń", "Intake queue"),
    "nav.definitions": ("Definicje", "Definitions"),
    "nav.curation": ("Kuracja wiedzy", "Knowledge curation"),
    "nav.logout": ("Wyloguj", "Log out"),
    "nav.lang": ("English", "Polski"),
    "role.consultant": ("konsultant", "consultant"),
    "role.curator": ("kurator", "curator"),
    "role.admin": ("administrator", "administrator"),
    # login
    "login.title": ("Logowanie", "Log in"),
    "login.login": ("Login", "Login"),
    "login.password": ("Hasło", "Password"),
    "login.or_token": ("albo token API", "or an API token"),
    "login.token": ("Token", "Token"),
    "login.submit": ("Zaloguj", "Log in"),
    "login.failed": ("Nieprawidłowy login, hasło lub token.", "Wrong login, password or token."),
    "login.locked": (
        "Zbyt wiele nieudanych prób logowania. Spróbuj ponownie za {s} s.",
        "Too many failed logins. Try again in {s} s.",
    ),
    "login.logged_out": ("Wylogowano.", "Logged out."),
    # search
    "search.title": ("Szukaj rozwiązań", "Search solutions"),
    "search.placeholder": (
        "Opisz problem, np. „ksef faktura” — / aby przejść tutaj",
        "Describe the problem, e.g. “ksef invoice” — press / to come here",
    ),
    "search.hint": (
        "↑ ↓ wybór · Enter otwiera · / wyszukiwanie",
        "↑ ↓ select · Enter opens · / search",
    ),
    "search.results": ("wyników", "results"),
    "search.none": ("Brak wyników.", "No results."),
    "search.solution": ("Rozwiązanie", "Solution"),
    "search.kb": ("Baza wiedzy", "Knowledge base"),
    "search.solved": ("To rozwiązało problem", "This solved it"),
    "search.solved_done": ("Zapisano ✓", "Recorded ✓"),
    "search.context": ("Otwarte połączenie", "Open call"),
    "search.context_none": (
        "Brak otwartego połączenia — „To rozwiązało problem” pojawi się przy otwartym zgłoszeniu.",
        "No open call — “This solved it” appears when a call or ticket is open.",
    ),
    "search.facets": ("Filtry", "Filters"),
    "search.clear": ("Wyczyść filtry", "Clear filters"),
    "search.error": ("Wyszukiwarka nie odpowiada.", "Search is not answering."),
    "search.rejected": ("Odrzucone", "Rejected"),
    "search.rejected_hint": (
        "Zgłoszenie odrzucone: odpowiedzią było „tego nie zrobimy”.",
        "Rejected: the answer was “we will not do it”.",
    ),
    "search.same_solution.one": ("i {n} podobne zgłoszenie", "and {n} similar ticket"),
    "search.same_solution.few": ("i {n} podobne zgłoszenia", "and {n} similar tickets"),
    "search.same_solution.many": ("i {n} podobnych zgłoszeń", "and {n} similar tickets"),
    "facet.product": ("Produkt", "Product"),
    "facet.module": ("Moduł", "Module"),
    "facet.type": ("Typ", "Type"),
    "facet.version": ("Wersja", "Version"),
    "facet.keyword": ("Słowo kluczowe", "Keyword"),
    # call console
    "call.title": ("Rejestracja połączenia", "Register a call"),
    "call.client": ("Klient (licencja lub nazwa)", "Client (licence or name)"),
    "call.client_placeholder": ("np. EN-100201 albo Piekarnia", "e.g. EN-100201 or Bakery"),
    "call.client_none": ("Nie znaleziono klienta.", "No client found."),
    "call.client_chosen": ("Wybrany klient", "Chosen client"),
    "call.contact": ("Osoba kontaktowa", "Contact person"),
    "call.contact_email": ("E-mail kontaktu", "Contact e-mail"),
    "call.contact_phone": ("Telefon", "Phone"),
    "call.subject": ("Temat", "Subject"),
    "call.description": ("Opis", "Description"),
    "call.register": ("Zarejestruj połączenie", "Register the call"),
    "call.stopwatch": ("Czas rozmowy", "Call time"),
    "call.similar": ("Podobne rozwiązania", "Similar solutions"),
    "call.similar_hint": (
        "Pojawią się, gdy zaczniesz pisać temat lub opis.",
        "They appear as you type the subject or description.",
    ),
    "call.open": ("Połączenie w toku", "Call in progress"),
    "call.close": ("Zakończenie połączenia", "Closing the call"),
    "call.close_done": ("Zakończone", "Completed"),
    "call.close_task": ("Utwórz zadanie", "Create a task"),
    "call.solution": ("Rozwiązanie / notatka", "Solution / note"),
    "call.save": ("Zapisz zmiany", "Save changes"),
    "call.task_created": ("Utworzono zadanie", "Task created"),
    # warnings
    "warn.title": ("Uwaga!", "Warning!"),
    "warn.dnc": ("Zakaz kontaktu", "Do not contact"),
    # ticket
    "ticket.fields": ("Dane zgłoszenia", "Ticket details"),
    "ticket.state": ("Stan", "State"),
    "ticket.definition": ("Definicja", "Definition"),
    "ticket.client": ("Klient", "Client"),
    "ticket.partner": ("Partner", "Partner"),
    "ticket.licence": ("Licencja", "Licence"),
    "ticket.product": ("Produkt", "Product"),
    "ticket.module": ("Moduł", "Module"),
    "ticket.version": ("Wersja", "Version"),
    "ticket.type": ("Typ", "Type"),
    "ticket.priority": ("Priorytet", "Priority"),
    "ticket.reported": ("Zgłoszono", "Reported"),
    "ticket.completed_at": ("Zakończono", "Completed"),
    "ticket.keywords": ("Słowa kluczowe", "Keywords"),
    "ticket.kb_links": ("Linki do bazy wiedzy", "Knowledge base links"),
    "ticket.verified": ("Zweryfikowane", "Verified"),
    "ticket.verify": ("Oznacz jako zweryfikowane", "Mark as verified"),
    "ticket.unverify": ("Cofnij weryfikację", "Unmark verified"),
    "ticket.description": ("Opis", "Description"),
    "ticket.solution": ("Rozwiązanie", "Solution"),
    "ticket.resolution": ("Rozstrzygnięcie", "Resolution"),
    "ticket.resolved": ("rozwiązane", "resolved"),
    "ticket.rejected": ("odrzucone", "rejected"),
    "ticket.transitions": ("Zmień stan", "Change state"),
    "ticket.no_transitions": ("Brak dozwolonych zmian stanu.", "No state changes allowed."),
    "ticket.note": ("Notatka", "Note"),
    "ticket.timeline": ("Oś czasu", "Timeline"),
    "ticket.message_in": ("Wiadomość przychodząca", "Incoming message"),
    "ticket.message_out": ("Wiadomość wychodząca", "Outgoing message"),
    "ticket.attach_reason": ("Dołączono, bo", "Attached because"),
    "ticket.attachments": ("Załączniki", "Attachments"),
    "ticket.no_attachments": ("Brak załączników.", "No attachments."),
    "ticket.stopwatch": ("Stoper", "Stopwatch"),
    "ticket.timer_start": ("Start", "Start"),
    "ticket.timer_stop": ("Stop", "Stop"),
    "ticket.time_total": ("Łączny czas", "Total time"),
    "ticket.handoff": ("Przekaż do produkcji (DevOps)", "Hand off to production (DevOps)"),
    "ticket.handoff_disabled": (
        "Integracja z Azure DevOps nie jest skonfigurowana.",
        "Azure DevOps integration is not configured.",
    ),
    "ticket.devops": ("DevOps", "DevOps"),
    "ticket.parent": ("Powstało z", "Created from"),
    "ticket.children": ("Powiązane zadania", "Related tasks"),
    "ticket.reuse": ("Wykorzystane rozwiązania", "Reused solutions"),
    "ticket.reuse_count": ("Wykorzystano", "Reused"),
    "ticket.similar": ("Podobne rozwiązane zgłoszenia", "Similar solved tickets"),
    "ticket.history": ("Historia", "History"),
    "ticket.edit": ("Edytuj rozwiązanie i słowa kluczowe", "Edit solution and keywords"),
    "ticket.save": ("Zapisz", "Save"),
    "ticket.call_console": ("Konsola połączenia", "Call console"),
    "ticket.keywords_hint": ("oddzielone przecinkami", "comma separated"),
    "ticket.links_hint": ("jeden w linii", "one per line"),
    "ticket.by": ("przez", "by"),
    "history.created": ("utworzono", "created"),
    "history.transition": ("zmiana stanu", "state change"),
    "history.field": ("zmiana pola", "field changed"),
    "history.reused": ("wykorzystano rozwiązanie", "reused a solution"),
    "history.handoff": ("przekazano do DevOps", "handed off to DevOps"),
    "history.attachment": ("dodano załącznik", "attachment added"),
    "history.created_from_call": ("utworzono z kolejki", "created from the queue"),
    "history.created_from_event": ("utworzono z połączenia", "created from a call"),
    "history.acknowledgement": ("potwierdzenie", "acknowledgement"),
    "history.devops": ("zdarzenie DevOps", "DevOps event"),
    "message.frame": ("Treść wiadomości (HTML)", "Message body (HTML)"),
    # queue
    "queue.title": ("Kolejka zgłoszeń", "Intake queue"),
    "queue.pending": ("Oczekujące", "Pending"),
    "queue.accepted": ("Przyjęte", "Accepted"),
    "queue.dropped": ("Odrzucone", "Dropped"),
    "queue.all_sources": ("Wszystkie źródła", "All sources"),
    "queue.source": ("Źródło", "Source"),
    "queue.sender": ("Nadawca", "Sender"),
    "queue.subject": ("Temat", "Subject"),
    "queue.classification": ("Klasyfikacja", "Classification"),
    "queue.reason": ("Powód", "Reason"),
    "queue.received": ("Otrzymano", "Received"),
    "queue.similar": ("Podobne zgłoszenia", "Similar tickets"),
    "queue.accept": ("Przyjmij", "Accept"),
    "queue.drop": ("Odrzuć", "Drop"),
    "queue.restore": ("Przywróć", "Restore"),
    "queue.bulk_spam": ("Odrzuć zaznaczone jako spam", "Drop selected as spam"),
    "queue.select_spam": ("Zaznacz cały spam", "Select all spam"),
    "queue.empty": ("Kolejka jest pusta.", "The queue is empty."),
    "queue.unavailable": (
        "Moduł przyjmowania zgłoszeń nie jest zainstalowany.",
        "The intake module is not installed.",
    ),
    "queue.accepted_as": ("Przyjęto jako", "Accepted as"),
    "queue.dropped_n": ("Odrzucono", "Dropped"),
    "queue.restored": ("Przywrócono", "Restored"),
    "queue.ticket": ("Zgłoszenie", "Ticket"),
    "queue.dropped_why": ("odrzucono", "dropped"),
    "queue.auto": ("automatycznie", "automatically"),
    "drop.spam": ("spam", "spam"),
    "drop.not_ours": ("nie do nas", "not ours"),
    "drop.duplicate": ("duplikat", "duplicate"),
    "source.mail": ("e-mail", "e-mail"),
    "source.form": ("formularz", "web form"),
    "source.phone": ("telefon", "phone"),
    "class.ham": ("zgłoszenie", "ham"),
    "class.spam": ("spam", "spam"),
    "class.auto_reply": ("autoodpowiedź", "auto-reply"),
    "class.bounce": ("zwrot", "bounce"),
    "class.loop": ("pętla", "loop"),
    # definitions
    "defs.title": ("Definicje zgłoszeń", "Ticket definitions"),
    "defs.code": ("Kod", "Code"),
    "defs.name": ("Nazwa", "Name"),
    "defs.kind": ("Rodzaj", "Kind"),
    "defs.number": ("Numeracja", "Numbering"),
    "defs.states": ("Stany", "States"),
    "defs.save": ("Zapisz definicję", "Save definition"),
    "defs.saved": ("Zapisano definicję", "Definition saved"),
    "defs.readonly": (
        "Definicje może zmieniać tylko administrator.",
        "Only an administrator may change definitions.",
    ),
    "defs.label_pl": ("Etykieta PL", "Label PL"),
    "defs.label_en": ("Etykieta EN", "Label EN"),
    # generic
    "error.title": ("Nie udało się", "That did not work"),
    "error.back": ("Wróć", "Go back"),
    "state.reported": ("Zgłoszony", "Reported"),
    "state.analysing": ("Analizowany", "Analysing"),
    "state.in_progress": ("W realizacji", "In progress"),
    "state.completed": ("Zakończony", "Completed"),
    "state.cancelled": ("Anulowany", "Cancelled"),
    "to.reported": ("Przywróć do zgłoszonych", "Back to reported"),
    "to.analysing": ("Do analizy", "Analyse"),
    "to.in_progress": ("Do realizacji", "Start work"),
    "to.completed": ("Zakończ", "Complete"),
    "to.cancelled": ("Anuluj", "Cancel"),
    "priority.krytyczny": ("krytyczny", "critical"),
    "priority.wysoki": ("wysoki", "high"),
    "priority.normalny": ("normalny", "normal"),
    "priority.niski": ("niski", "low"),
    "yes": ("tak", "yes"),
    "no": ("nie", "no"),
}


def text(lang: str, key: str) -> str:
    """The string for `key` in `lang`; a missing key shows itself, so gaps are visible."""
    pair = CATALOGUE.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]


def plural_form(lang: str, n: int) -> str:
    """`one`, `few` or `many`: Polish has three forms (1 zgłoszenie, 2–4 zgłoszenia, 5 and
    12–14 zgłoszeń, 22–24 zgłoszenia again), English two (`few` and `many` say the same)."""
    if n == 1:
        return "one"
    if lang != "en" and n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return "few"
    return "many"


def count_text(lang: str, key: str, n: int) -> str:
    """The string of `key.one|few|many` for `n`, with `{n}` filled in."""
    return text(lang, f"{key}.{plural_form(lang, n)}").replace("{n}", str(n))


def translator(lang: str) -> Callable[..., str]:
    """`t(key)`, or `t(key, fallback)` for keys built from data (states, history actions)."""

    def t(key: str, fallback: str | None = None) -> str:
        if fallback is not None and key not in CATALOGUE:
            return fallback
        return text(lang, key)

    return t
