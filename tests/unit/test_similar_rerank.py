"""The similar-tickets reranker: stop words count for nothing, categorical fields lift."""

from __future__ import annotations

from collections import Counter

from search.documents import TicketDocument
from search.ports import SimilarRequest
from search.similar import (
    Candidate,
    Fields,
    bm25f,
    rerank,
    select_word_terms,
    stop_word_set,
)

STOP = stop_word_set(["do", "po", "się", "nie"])


def _df(term: str) -> int:
    return {"do": 90, "po": 80, "sie": 85, "nie": 95}.get(term, 3)


def _doc(i: int, title: str, description: str, **kw: object) -> TicketDocument:
    return TicketDocument(id=i, number=f"ZS/{i}", title=title, description=description, **kw)  # type: ignore[arg-type]


def test_stop_words_are_never_selected_and_never_score() -> None:
    terms = select_word_terms(
        "Faktury do wysłania po", "nie wysyła się do KSeF", _df, 100, 20, STOP
    )
    assert {t.term for t in terms} == {"faktury", "wyslania", "wysyla", "ksef"}

    req = SimilarRequest(title="Logo do faktury", text="po aktualizacji logo znika do wydruku")
    shares_stop_words = _doc(1, "Błąd KSeF do wysyłki", "wysyłka po godzinie do urzędu")
    shares_logo = _doc(2, "Brak logo", "logo")
    order = rerank(req, [Candidate(shares_stop_words, 1.0), Candidate(shares_logo, 1.0)], _df, 100,
                   stop_words=STOP)  # fmt: skip
    scores = {r.id: r.score for r in order}
    assert order[0].id == 2 and scores[1] < 0.31  # only the engine's share is left for 1


def test_agreeing_categorical_fields_lift_an_equal_text() -> None:
    req = SimilarRequest(
        title="Lista płac bez ZUS", text="składki zerowe", module="Kadry Płace", keywords=["ZUS"]
    )
    elsewhere = _doc(1, "Lista płac bez ZUS", "składki zerowe", module="Handel")
    same_module = _doc(2, "Lista płac bez ZUS", "składki zerowe", module="Kadry Płace",
                       keywords=["ZUS"])  # fmt: skip
    order = rerank(req, [Candidate(elsewhere, 1.0), Candidate(same_module, 1.0)], _df, 100)
    assert [r.id for r in order] == [2, 1]
    assert order[0].score - order[1].score > 0.15  # module 0.1 + keywords 0.1 × 1.0


def test_bm25f_saturates_per_term_across_fields_and_weighs_the_title() -> None:
    query = Counter({"logo": 1})
    in_title = Fields.of("logo", "x y z", "")
    in_body = Fields.of("x", "logo y z", "")
    avg = [1.0, 3.0, 1.0]
    idf = lambda t: 1.0  # noqa: E731
    assert bm25f(query, in_title, avg, idf) > bm25f(query, in_body, avg, idf) > 0
    # One term repeated in every field stays below the saturation bound (idf · 1).
    everywhere = Fields.of("logo logo", "logo logo logo", "logo")
    assert bm25f(query, everywhere, [2.0, 3.0, 1.0], idf) < 1.0


def test_rerank_reports_each_candidates_whole_text_cosine() -> None:
    req = SimilarRequest(title="Import wyciągu MT940", text="błędny format pliku z banku")
    same = _doc(1, "Import wyciągu MT940", "błędny format pliku z banku")
    unrelated = _doc(2, "Urlop wypoczynkowy", "wymiar urlopu")
    order = rerank(req, [Candidate(unrelated, 1.0), Candidate(same, 1.0)], _df, 100)
    cosines = {r.id: r.text_cosine for r in order}
    assert abs(cosines[1] - 1.0) < 1e-9
    assert cosines[2] == 0.0
