"""The embedded index's layout: analyzers, schema, and a ticket as a tantivy document.

Indexing speed is decided here: tantivy splits and folds the text in Rust, and Python only
stems, once per distinct chunk of text (see `StemCache`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import msgspec
import tantivy

from search.analysis import MAX_TOKEN_CHARS, stemmed_words, typo_key
from search.documents import TicketDocument
from search.ports import FILTER_FIELDS, SearchUnavailable

log = logging.getLogger("sedno.search")

TEXT_FIELD = {
    "title": "title",
    "keywords": "keywords",
    "kb_links": "kb",
    "description": "description",
    "solution": "solution",
}
"""Searchable attribute → its own tantivy field (BM25 per field, weighted by attribute order)."""
ANALYZER = "sedno_fold"
"""Tantivy's own folding analyzer, registered on every open (tantivy does not persist it)."""
TYPO_FIELD = "typo"
"""Every distinct word of the searchable fields as `typo_key` (`f|faktura`): the combined field.
A word's exact match in any field is one term here, its prefix one prefix and its typos one
automaton, where a wrong first letter costs two typos, as in Meilisearch. `typo_key` is one to
one, so this field also answers what a field of the plain words would (there was one: it was
a fifth of tantivy's indexing work)."""
STEM_TITLE_FIELD = "stem_title"
STEM_BODY_FIELD = "stem_body"
STEM_ALL_FIELD = "stem_all"
"""Both lemma fields in one, for matching: one posting list per query word instead of two."""
SPELLING_FIELD = "spellings"
"""The ticket's words that have diacritics, as written (lowercase): a query typed without
diacritics is restored from the spellings the index has seen (`placach` → `płacach`)."""
SETTINGS_FILE = "sedno-settings.json"
STEM_CACHE_SIZE = 100_000
"""Distinct chunks of text whose stems are remembered while indexing (about 20 MB at most)."""


def analyzer() -> tantivy.TextAnalyzer:
    """Alphanumeric tokens, lowercased, diacritics folded (ł→l), long tokens dropped.

    The same words as `search.analysis.words` for Polish and English text; tantivy runs it in
    Rust, which is where indexing speed comes from.
    """
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.remove_long(MAX_TOKEN_CHARS + 1))  # keeps tokens < limit bytes
        .build()
    )


def _raw_words_analyzer() -> tantivy.TextAnalyzer:
    """Lowercased words, not folded: what the stemmer reads (it knows ą, ę, ł).

    Splits like `search.analysis.stems`, only in Rust; `stemmed_words` drops the long ones.
    """
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .build()
    )


_raw_words = _raw_words_analyzer().analyze
_folded_words = analyzer().analyze


class StemCache(dict[str, str]):
    """Lemmas of one whitespace-separated chunk of text (`Fakturze,` → `faktura`), computed once.

    Tickets repeat the same words over and over: looking a chunk up in a dict from C
    (`map(cache.__getitem__, text.split())`) is several times cheaper than splitting every
    text into words and stemming each. Splitting on whitespace first and then on what the
    tokenizer splits on gives the same words as splitting the whole text at once. Bounded:
    emptied when full (identifiers and numbers make the chunk vocabulary open-ended).
    """

    def __init__(self, max_size: int = STEM_CACHE_SIZE) -> None:
        super().__init__()
        self.max_size = max_size
        self.derived = _ChunkKeys(self)

    def __missing__(self, chunk: str) -> str:
        if len(self) >= self.max_size:
            self.clear()
        stems = self[chunk] = stemmed_words(_raw_words(chunk))
        return stems

    def stems_of(self, text: str) -> str:
        """Lemmas of every word of `text`, space-separated (for a whitespace-tokenized field)."""
        return self.stems_of_chunks(text.split())

    def stems_of_chunks(self, chunks: Iterable[str]) -> str:
        """`stems_of` the text these whitespace-separated chunks make up."""
        return " ".join(map(self.__getitem__, chunks))

    def spellings_of(self, text: str) -> str:
        """The words of `text` that have diacritics, lowercase, space-separated."""
        if text.isascii():
            return ""
        return self.spellings_of_chunks(text.split())

    def spellings_of_chunks(self, chunks: Iterable[str]) -> str:
        """`spellings_of` the text these chunks make up."""
        return " ".join(filter(None, [self.derived[c][2] for c in chunks]))


class _ChunkKeys(dict[str, tuple[str, str, str]]):
    """What the match-only fields need of one chunk, computed once: its lemmas, the
    `typo_key`s of its folded words (`Fakturą,` → `f|faktura`) and its words that have
    diacritics (`Fakturą,` → `fakturą`, empty for ASCII). One look-up per distinct chunk feeds
    three fields, where three caches cost three."""

    def __init__(self, stems: StemCache) -> None:
        super().__init__()
        self._stems = stems

    def __missing__(self, chunk: str) -> tuple[str, str, str]:
        if len(self) >= self._stems.max_size:
            self.clear()
        spellings = (
            "" if chunk.isascii() else " ".join(w for w in _raw_words(chunk) if not w.isascii())
        )
        keys = self[chunk] = (
            self._stems[chunk],
            " ".join(typo_key(w) for w in _folded_words(chunk)),
            spellings,
        )
        return keys


def schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_unsigned_field("id", stored=True, indexed=True, fast=True)
    # No positions: nothing runs phrase queries, and BM25 needs only frequencies.
    for name in TEXT_FIELD.values():
        sb.add_text_field(name, tokenizer_name=ANALYZER, index_option="freq")
    for name in (STEM_TITLE_FIELD, STEM_BODY_FIELD):
        sb.add_text_field(name, tokenizer_name="whitespace", index_option="freq")
    sb.add_text_field(STEM_ALL_FIELD, tokenizer_name="whitespace", index_option="basic")
    sb.add_text_field(TYPO_FIELD, tokenizer_name="whitespace", index_option="basic")
    sb.add_text_field(SPELLING_FIELD, tokenizer_name="whitespace", index_option="basic")
    for name in FILTER_FIELDS:
        sb.add_text_field(f"f_{name}", tokenizer_name="raw", fast=True)
    sb.add_unsigned_field("verified_n", fast=True)
    sb.add_unsigned_field("reuse_count", fast=True)
    sb.add_integer_field("completed_at", fast=True)
    sb.add_bytes_field("payload", stored=True)
    return sb.build()


def to_tantivy(
    doc: TicketDocument, encoder: msgspec.json.Encoder, stems: StemCache
) -> tantivy.Document:
    """One ticket as a tantivy document; the hot loop of indexing, so written out flat."""
    out = tantivy.Document()
    add = out.add_text
    out.add_unsigned("id", doc.id)
    keywords = " ; ".join(doc.keywords)
    kb = " ".join(doc.kb_links)
    # Tantivy folds and splits the text itself (ANALYZER); Python only stems.
    for field, text in (
        ("title", doc.title),
        ("keywords", keywords),
        ("kb", kb),
        ("description", doc.description),
        ("solution", doc.solution),
    ):
        if text:
            add(field, text)
    # Whitespace chunks, split once: the text of the lemma fields is the chunks' lemmas in order.
    title_chunks = doc.title.split() + keywords.split()
    body_chunks = doc.description.split() + doc.solution.split()
    add(STEM_TITLE_FIELD, stems.stems_of_chunks(title_chunks))
    add(STEM_BODY_FIELD, stems.stems_of_chunks(body_chunks))
    # The match-only fields keep no frequencies and no query scores them: each distinct chunk
    # once gives the same postings for less work, ours and tantivy's.
    distinct = dict.fromkeys(title_chunks + body_chunks)
    if kb:  # the links' lemmas are not searched: they stay out of stem_all
        add(STEM_ALL_FIELD, stems.stems_of_chunks(distinct))
        distinct.update(dict.fromkeys(kb.split()))
    if distinct:
        lemmas, typos, spellings = zip(*map(stems.derived.__getitem__, distinct), strict=True)
        if not kb:
            add(STEM_ALL_FIELD, " ".join(lemmas))
        add(TYPO_FIELD, " ".join(typos))
        spelled = " ".join(filter(None, spellings))
        if spelled:
            add(SPELLING_FIELD, spelled)
    for name, value in (
        ("f_product", doc.product),
        ("f_module", doc.module),
        ("f_type", doc.type),
        ("f_version", doc.version),
        ("f_area", doc.area),
        ("f_project", doc.project),
    ):
        if value:
            add(name, value)
    for value in dict.fromkeys(doc.keywords):
        add("f_keyword", value)
    for value in dict.fromkeys(doc.kb_links):
        add("f_kb_link", value)
    add("f_verified", "true" if doc.verified else "false")
    out.add_unsigned("verified_n", 1 if doc.verified else 0)
    out.add_unsigned("reuse_count", max(0, doc.reuse_count))
    out.add_integer("completed_at", doc.completed_at)
    out.add_bytes("payload", encoder.encode(doc))
    return out


def open_index(index_schema: tantivy.Schema, directory: Path) -> tantivy.Index:
    """Open or create the index; one in an older layout is emptied (it is derived data)."""
    try:
        index = tantivy.Index(index_schema, path=str(directory))
    except ValueError as exc:
        if "schema does not match" not in str(exc):
            raise SearchUnavailable(f"cannot open search index at {directory}: {exc}") from exc
        log.warning(
            "search index at %s has an older layout: emptied it; run `sedno reindex`", directory
        )
        for path in directory.iterdir():
            if path.is_file() and path.name != SETTINGS_FILE:
                path.unlink()
        index = tantivy.Index(index_schema, path=str(directory))
    index.register_tokenizer(ANALYZER, analyzer())
    return index
