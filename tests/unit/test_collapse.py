"""Copies of one answer collapse; different answers, and answers too short to tell, do not."""

from __future__ import annotations

from search.collapse import COLLAPSE_WINDOW, collapse, normalised_words, page, same_solution

LOGO = (
    "Panie Kowalski, w Konfiguracji → Wydruki → Faktura proszę wskazać plik logo "
    "i zapisać wzorzec; po ponownym uruchomieniu wydruku logo się pojawi."
)


def _same(a: str, b: str) -> bool:
    return same_solution(normalised_words(a), normalised_words(b))


def test_copies_that_differ_by_a_name_or_a_number_are_one_answer() -> None:
    assert _same(LOGO, LOGO.replace("Kowalski", "Nowak"))
    assert _same(
        "Zaktualizować program do wersji 2025.3.", "zaktualizowac  program do wersji 2026.1"
    )
    assert _same(LOGO, LOGO.upper().replace(";", ","))


def test_different_and_uninformative_answers_stay_apart() -> None:
    assert not _same(LOGO, "Wyłączyć wysyłkę do KSeF w ustawieniach i wysłać fakturę ponownie.")
    # Short answers must be equal: one word of five changes the answer.
    assert not _same(
        "Zaktualizować program do wersji 2025.3.", "Przeinstalować program do wersji 2025.3."
    )
    assert not _same("Zrobione.", "Zrobione.")
    assert not _same("", "")


def test_collapse_keeps_the_best_hit_of_each_answer_in_rank_order() -> None:
    hits = [
        ("ZS/1", LOGO),
        ("ZS/2", "Wyłączyć wysyłkę do KSeF w ustawieniach i wysłać fakturę ponownie."),
        ("ZS/3", LOGO.replace("Kowalski", "Nowak")),
        ("ZS/4", ""),
        ("ZS/5", LOGO.replace("Kowalski", "Wiśniewska")),
    ]
    groups = collapse(hits, lambda h: h[1])
    assert [[n for n, _ in g] for g in groups] == [["ZS/1", "ZS/3", "ZS/5"], ["ZS/2"], ["ZS/4"]]


def test_polish_plurals_of_the_collapsed_count() -> None:
    from ui.i18n import count_text

    said = {n: count_text("pl", "search.same_solution", n) for n in (1, 2, 4, 5, 12, 14, 22, 25)}
    assert said == {
        1: "i 1 podobne zgłoszenie",
        2: "i 2 podobne zgłoszenia",
        4: "i 4 podobne zgłoszenia",
        5: "i 5 podobnych zgłoszeń",
        12: "i 12 podobnych zgłoszeń",
        14: "i 14 podobnych zgłoszeń",
        22: "i 22 podobne zgłoszenia",
        25: "i 25 podobnych zgłoszeń",
    }
    assert count_text("en", "search.same_solution", 1) == "and 1 similar ticket"
    assert count_text("en", "search.same_solution", 3) == "and 3 similar tickets"


def test_a_deep_page_collapses_a_window_of_its_own_size_only() -> None:
    ranked = [f"Zrobić kopię bazy i odtworzyć ją na serwerze numer {i}." for i in range(10_000)]
    read: list[str] = []

    def solution_of(item: str) -> str:
        read.append(item)
        return item

    groups = page(ranked, solution_of, 9_990, 5, grouped=True)
    assert len(read) <= 5 * COLLAPSE_WINDOW  # not the 10 000 before it
    assert groups == [ranked[9_990:]]  # numbers masked: one answer, its copies after it
    assert page(ranked, solution_of, 0, 3, grouped=False) == [[r] for r in ranked[:3]]
