"""Tantivy queries that find what Meilisearch would match, built from analyzer tokens.

A kept word matches exactly, with typos by word length, as a prefix when last, or by lemma.
The scores only choose the candidates; `search.ranking` orders them by Meilisearch's rules.
Each ranking query has an unscored twin (`matching`) that finds the same documents far more
cheaply, for counts and facets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import tantivy

from search import similar as sim
from search.analysis import (
    QueryUnit,
    normalize_synonyms,
    parse_query,
    typo_budget,
    typo_key,
    words,
)
from search.layout import (
    STEM_ALL_FIELD,
    STEM_BODY_FIELD,
    STEM_TITLE_FIELD,
    TEXT_FIELD,
    TYPO_FIELD,
)
from search.ports import FILTER_FIELDS, SEARCHABLE_FIELDS, FilterValue, IndexSettings, filter_values

Lemmas = Sequence[str]
"""The lemmas one query unit may match by (empty: none)."""

Occur = tantivy.Occur
Q = tantivy.Query

TYPO_BOOST = 1.0
STEM_BOOST = 0.8
"""A stem-only match ranks below a typo in any field."""
MAX_WORDS = 10
"""Meilisearch uses only the first ten words of a query."""
SIMILAR_WORD_FIELDS = (("title", 2.0), ("keywords", 2.0), ("description", 1.0), ("solution", 1.0))
SIMILAR_STEM_FIELDS = ((STEM_TITLE_FIELD, 2.0), (STEM_BODY_FIELD, 1.0))

Clause = tuple[Any, Any]


class QueryBuilder:
    """Queries for one index under one `IndexSettings`; cheap to rebuild when settings change."""

    def __init__(
        self,
        schema: tantivy.Schema,
        settings: IndexSettings,
        analyze: Callable[[str], list[str]],
    ) -> None:
        self._schema = schema
        self._analyze = analyze
        self.typo_tolerance = settings.typo_tolerance
        self._synonyms = normalize_synonyms(settings.synonyms)
        self.stop_words = frozenset(w for s in settings.stop_words for w in words(s))
        self._field_weights = {
            TEXT_FIELD[name]: 4.0 * (0.8**i)
            for i, name in enumerate(settings.searchable_attributes)
        }
        # The combined field holds every searchable field: usable only when all are searched.
        self._use_all_field = set(settings.searchable_attributes) == set(SEARCHABLE_FIELDS)
        # A prefix in any field (the combined one) scores like one in the lowest field.
        self._low_weight = min(self._field_weights.values(), default=1.0)
        self._top_field = next(iter(self._field_weights), "")

    # -- a consultant's query ---------------------------------------------------------------

    def units(self, q: str) -> list[QueryUnit]:
        """The query's words (at most ten, stop words out), synonym units and quoted phrases."""
        return parse_query(q, self.stop_words, self._synonyms, MAX_WORDS)

    def ranking(
        self,
        units: Sequence[QueryUnit],
        lemma_sets: Sequence[Lemmas],
        filters: Sequence[Any],
        keep: Sequence[int],
    ) -> Any:
        """The units at indexes `keep` must all match; scored to pick candidates.

        Only the last word of the whole query is a prefix, whichever words are kept.
        """
        last = len(units) - 1
        return self.combine(
            [self._unit_query(units[i], lemma_sets[i], is_last=i == last) for i in keep], filters
        )

    def matching(
        self,
        units: Sequence[QueryUnit],
        lemma_sets: Sequence[Lemmas],
        filters: Sequence[Any],
        keep: Sequence[int],
    ) -> Any:
        """The documents `ranking` matches, unscored: for counts and facets."""
        last = len(units) - 1
        return self.combine(
            [self._unit_match_query(units[i], lemma_sets[i], is_last=i == last) for i in keep],
            filters,
        )

    def in_top_field(
        self,
        units: Sequence[QueryUnit],
        lemma_sets: Sequence[Lemmas],
        filters: Sequence[Any],
        keep: Sequence[int],
    ) -> Any | None:
        """The documents whose first searchable field (the title) holds every kept unit.

        The candidates the attribute and proximity rules favour, which a score summed over
        long descriptions can push down; None when the first field is not the title.
        """
        if self._top_field != TEXT_FIELD["title"]:
            return None
        last = len(units) - 1
        per_unit = []
        for i in keep:
            unit = units[i]
            if unit.phrase or unit.alternatives or len(unit.words) != 1:
                return None
            word = unit.words[0]
            prefix = i == last
            budget = typo_budget(word) if self.typo_tolerance else 0
            field = self._top_field
            options: list[Clause] = [(Occur.Should, Q.term_query(self._schema, field, word))]
            if budget or prefix:
                fuzzy = self._near(field, word, budget, prefix=prefix)
                options.append((Occur.Should, Q.boost_query(fuzzy, 0.5)))
            if lemma_sets[i]:
                lemma = Q.term_set_query(self._schema, STEM_TITLE_FIELD, list(lemma_sets[i]))
                options.append((Occur.Should, Q.const_score_query(lemma, STEM_BOOST)))
            per_unit.append(Q.boolean_query(options))
        return self.combine(per_unit, filters)

    def unit_frequency(
        self,
        searcher: Any,
        units: Sequence[QueryUnit],
        lemma_sets: Sequence[Lemmas],
        i: int,
        filters: Sequence[Any],
    ) -> int:
        """How many documents unit `i` matches alone, for the `frequency` strategy: a whole
        word's document frequency when that is known for free, else a count."""
        unit = units[i]
        if not filters and i != len(units) - 1 and len(unit.words) == 1 and not unit.phrase:
            key = typo_key(unit.words[0])
            known = int(searcher.doc_freq(TYPO_FIELD, key)) if self._use_all_field else 0
            if known:
                return known
        query = self.matching(units, lemma_sets, filters, [i])
        return int(searcher.search(query, 1, count=True).count)

    def filters(self, filters: dict[str, FilterValue]) -> list[Any]:
        """One clause per filtered field (values of one field are alternatives)."""
        out = []
        for name, value in filters.items():
            if name not in FILTER_FIELDS:
                raise ValueError(
                    f"cannot filter on {name!r}; filterable: {', '.join(FILTER_FIELDS)}"
                )
            values = filter_values(value)
            if not values:
                continue
            out.append(Q.term_set_query(self._schema, f"f_{name}", values))
        return out

    def ids(self, ids: Sequence[int]) -> Any:
        """The documents of these tickets."""
        return Q.term_set_query(self._schema, "id", list(ids))

    def combine(self, unit_queries: Sequence[Any], filters: Sequence[Any]) -> Any:
        clauses = [(Occur.Must, q) for q in unit_queries] + [(Occur.Must, f) for f in filters]
        if not unit_queries:
            clauses.append((Occur.Must, Q.all_query()))
        return Q.boolean_query(clauses)

    # -- similar tickets --------------------------------------------------------------------

    def similar(
        self,
        word_terms: Sequence[sim.WeightedTerm],
        stem_terms: Sequence[sim.WeightedTerm],
        filters: Sequence[Any],
        exclude_ids: Sequence[int],
    ) -> Any | None:
        """Any of the selected words or stems, weighted; None when nothing was selected."""
        clauses: list[Clause] = []
        for terms, fields in ((word_terms, SIMILAR_WORD_FIELDS), (stem_terms, SIMILAR_STEM_FIELDS)):
            for t in terms:
                for field, weight in fields:
                    term = Q.term_query(self._schema, field, t.term)
                    clauses.append((Occur.Should, Q.boost_query(term, weight * t.weight)))
        if not clauses:
            return None
        must: list[Clause] = [(Occur.Must, Q.boolean_query(clauses))]
        must.extend((Occur.Must, f) for f in filters)
        if exclude_ids:
            must.append((Occur.MustNot, Q.term_set_query(self._schema, "id", list(exclude_ids))))
        return Q.boolean_query(must)

    # -- one word -----------------------------------------------------------------------------

    def _word_query(self, word: str, lemmas: Lemmas, *, prefix: bool) -> Any:
        """One word's candidate clauses: BM25 of the exact word per field, one typo/prefix
        automaton on the combined field, the lemma. The ranking rules order what it finds."""
        if not self._use_all_field:
            return self._word_query_per_field(word, lemmas, prefix=prefix)
        budget = typo_budget(word) if self.typo_tolerance else 0
        clauses: list[Clause] = [
            (Occur.Should, Q.boost_query(Q.term_query(self._schema, field, word), fw))
            for field, fw in self._field_weights.items()
        ]
        if budget or prefix:
            near = self._near(TYPO_FIELD, word, budget, prefix=prefix)
            clauses.append((Occur.Should, Q.const_score_query(near, TYPO_BOOST * self._low_weight)))
        clauses.extend(self._stem_clauses(lemmas))
        return Q.boolean_query(clauses)

    def _word_query_per_field(self, word: str, lemmas: Lemmas, *, prefix: bool) -> Any:
        """`_word_query` when only some fields are searched (no combined field to use)."""
        budget = typo_budget(word) if self.typo_tolerance else 0
        clauses: list[Clause] = []
        for field, fw in self._field_weights.items():
            exact = Q.term_query(self._schema, field, word)
            clauses.append((Occur.Should, Q.boost_query(exact, fw)))
            if budget or prefix:
                near = self._near(field, word, budget, prefix=prefix)
                clauses.append((Occur.Should, Q.const_score_query(near, TYPO_BOOST * fw)))
        clauses.extend(self._stem_clauses(lemmas))
        return Q.boolean_query(clauses)

    def _near(self, field: str, word: str, budget: int, *, prefix: bool) -> Any:
        """The typo/prefix automaton of `word` in `field`, typos counted as Meilisearch does.

        `field` is `TYPO_FIELD` for every searchable field at once (the default; exact). With
        typos the automaton runs on the typo field's keys, where a wrong first letter costs one
        more; in one field of several that field must also hold the word within the plain
        distance (a rare other word elsewhere may then let a wrong first letter through).
        """
        keyed = Q.fuzzy_term_query(self._schema, TYPO_FIELD, typo_key(word), budget, True, prefix)
        if field == TYPO_FIELD:
            return keyed
        if not budget:
            return Q.fuzzy_term_query(self._schema, field, word, 0, True, prefix)
        plain = Q.fuzzy_term_query(self._schema, field, word, budget, True, prefix)
        return Q.boolean_query([(Occur.Must, plain), (Occur.Must, keyed)])

    def _stem_clauses(self, lemmas: Lemmas) -> list[Clause]:
        if not lemmas:
            return []
        stem = Q.term_set_query(self._schema, STEM_ALL_FIELD, list(lemmas))
        return [(Occur.Should, Q.const_score_query(stem, STEM_BOOST))]

    def _word_match_query(self, word: str, lemmas: Lemmas, *, prefix: bool) -> Any:
        """The documents `_word_query` matches, unscored: one automaton on the combined field."""
        if not self._use_all_field:
            return self._word_query_per_field(word, lemmas, prefix=prefix)
        budget = typo_budget(word) if self.typo_tolerance else 0
        # A typo or prefix automaton also accepts the exact word, so it covers the exact
        # clauses; a prefix with typos covers the typo clause too.
        if budget or prefix:
            direct = self._near(TYPO_FIELD, word, budget, prefix=prefix)
        else:
            direct = Q.term_query(self._schema, TYPO_FIELD, typo_key(word))
        return Q.boolean_query([(Occur.Should, direct), *self._stem_clauses(lemmas)])

    # -- synonym units ------------------------------------------------------------------------

    def _exact_phrase_query(self, phrase: Sequence[str]) -> Any:
        """All words of a synonym, each exact in some searchable field."""
        per_word = []
        for word in phrase:
            fields = [
                (Occur.Should, Q.boost_query(Q.term_query(self._schema, field, word), fw))
                for field, fw in self._field_weights.items()
            ]
            per_word.append((Occur.Must, Q.boolean_query(fields)))
        return Q.boolean_query(per_word)

    def _exact_phrase_match_query(self, phrase: Sequence[str]) -> Any:
        if not self._use_all_field:
            return self._exact_phrase_query(phrase)
        return Q.boolean_query(
            [(Occur.Must, Q.term_query(self._schema, TYPO_FIELD, typo_key(w))) for w in phrase]
        )

    def _unit_query(self, unit: QueryUnit, lemmas: Lemmas, *, is_last: bool) -> Any:
        if unit.phrase:
            return self._exact_phrase_query(unit.words)
        if len(unit.words) == 1 and not unit.alternatives:
            return self._word_query(unit.words[0], lemmas, prefix=is_last)
        options: list[Clause] = []
        if len(unit.words) == 1:
            options.append((Occur.Should, self._word_query(unit.words[0], lemmas, prefix=False)))
        else:
            options.append((Occur.Should, self._exact_phrase_query(unit.words)))
        for alt in unit.alternatives:
            # A synonym scores like an exact match, a little below the typed words.
            options.append((Occur.Should, Q.boost_query(self._exact_phrase_query(alt), 0.9)))
        return Q.boolean_query(options)

    def _unit_match_query(self, unit: QueryUnit, lemmas: Lemmas, *, is_last: bool) -> Any:
        """The documents `_unit_query` matches, for counts and facets."""
        if unit.phrase:
            return self._exact_phrase_match_query(unit.words)
        if len(unit.words) == 1 and not unit.alternatives:
            return self._word_match_query(unit.words[0], lemmas, prefix=is_last)
        options: list[Clause] = []
        if len(unit.words) == 1:
            options.append(
                (Occur.Should, self._word_match_query(unit.words[0], lemmas, prefix=False))
            )
        else:
            options.append((Occur.Should, self._exact_phrase_match_query(unit.words)))
        for alt in unit.alternatives:
            options.append((Occur.Should, self._exact_phrase_match_query(alt)))
        return Q.boolean_query(options)
