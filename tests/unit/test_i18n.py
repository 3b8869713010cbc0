"""The console's gettext catalogues: every key the code uses exists, none is untranslated,
Polish plurals have their three forms, and the merge tool for branches' dictionaries works."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tools.catalogue_to_po import merge, parse_pairs
from ui import i18n

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"t": None, "count_text": (2,), "text": (2,)}
PLURAL_FORMS = ("one", "few", "many")


def _used_keys() -> tuple[set[str], set[str]]:
    """(plain keys, plural families) written literally in templates and UI Python, found by
    Babel's extraction with the project's babel.cfg mapping."""
    method_map = [("ui/**.py", "python"), ("ui/templates/**.html", "jinja2")]
    plain: set[str] = set()
    plural: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, keywords=KEYWORDS, comment_tags=()
    ):
        key = message if isinstance(message, str) else next(m for m in message if m)
        (plural if key in _PLURAL_FAMILIES else plain).add(key)
    return plain, plural


_PLURAL_FAMILIES = {k.rsplit(".", 1)[0] for k in i18n.CATALOGUE if k.endswith(".many")}


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_no_message_is_untranslated_or_fuzzy(lang: str) -> None:
    with (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalogue = read_po(f, locale=lang)
    messages = [m for m in catalogue if m.id]
    assert messages
    assert [m.id for m in messages if not m.string] == []
    assert [m.id for m in messages if m.fuzzy] == []


def test_both_languages_have_the_same_keys() -> None:
    assert set(i18n.MESSAGES["pl"]) == set(i18n.MESSAGES["en"])


def test_every_key_used_in_templates_and_python_exists() -> None:
    plain, plural = _used_keys()
    assert len(plain) > 200  # the extraction really read the templates
    assert sorted(k for k in plain if k not in i18n.CATALOGUE) == []
    missing = [f"{k}.{f}" for k in plural for f in PLURAL_FORMS if f"{k}.{f}" not in i18n.CATALOGUE]
    assert missing == []


LITERAL_WORD = re.compile(r"[^\W\d_]{2,}")
NOT_MARKUP = re.compile(r"\{#.*?#\}|<(script|style)\b.*?</\1>|\{\{.*?\}\}|\{%.*?%\}", re.S)
SHOWN_ATTRIBUTE = re.compile(r"\b(?:alt|title|placeholder|aria-label)=\"([^\"]*)\"")
NOT_WORDS = {"Sedno", "ms", "min", "kB", "MiB", "lt", "gt", "PUT", "api", "devops", "modules",
             "mapping", "login-page", "planner-page", "todo-page", "https", "pomoc", "enova", "pl"}  # fmt: skip
"""Left after the markup: the brand, units, API paths in the admin's help, body classes."""


def test_templates_show_no_literal_words_outside_the_catalogues() -> None:
    found: list[str] = []
    for path in sorted((ROOT / "ui" / "templates").glob("*.html")):
        source = NOT_MARKUP.sub(" ", path.read_text("utf-8"))
        shown = [*SHOWN_ATTRIBUTE.findall(source), *re.sub(r"<[^>]*>", " ", source).split()]
        for chunk in shown:
            found += [f"{path.name}: {w}" for w in LITERAL_WORD.findall(chunk)
                      if w not in NOT_WORDS and chunk not in NOT_WORDS]  # fmt: skip
    assert found == []


def test_polish_counts_take_three_forms() -> None:
    said = {n: i18n.count_text("pl", "search.results", n) for n in (1, 2, 4, 5, 12, 22, 25, 1234)}
    assert said == {
        1: "1 wynik",
        2: "2 wyniki",
        4: "4 wyniki",
        5: "5 wyników",
        12: "12 wyników",
        22: "22 wyniki",
        25: "25 wyników",
        1234: "1\xa0234 wyniki",
    }
    assert i18n.count_text("en", "search.results", 1) == "1 result"
    assert i18n.count_text("en", "search.results", 5) == "5 results"


def test_dates_and_numbers_are_written_the_polish_way() -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    at = dt.datetime(2026, 12, 1, 13, 4, tzinfo=dt.UTC)
    assert i18n.date_time("pl", at, ZoneInfo("Europe/Warsaw")) == "1.12.2026, 14:04"
    assert i18n.number("pl", 12.5) == "12,5"
    assert i18n.number("en", 12.5) == "12.5"


def test_a_branchs_catalogue_block_merges_into_the_po_files(tmp_path: Path) -> None:
    pasted = """
    # telephony (issue 99)
    "tel.transfer": ("Przekaż rozmowę", "Transfer the call"),
    "nav.search": ("Szukaj teraz", "Search now"),
    """
    pairs = parse_pairs(pasted)
    assert pairs["tel.transfer"] == ("Przekaż rozmowę", "Transfer the call")
    merge({"nav.search": ("Szukaj", "Search")}, locale_dir=tmp_path)
    report = merge(pairs, locale_dir=tmp_path)
    assert report["added"] == ["tel.transfer"] and report["kept"] == ["nav.search"]
    assert merge(pairs, update=True, locale_dir=tmp_path)["changed"] == ["nav.search"]
    for lang, expected in (("pl", "Przekaż rozmowę"), ("en", "Transfer the call")):
        with (tmp_path / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
            catalogue = read_po(f, locale=lang)
        assert catalogue.get("tel.transfer").string == expected
        assert catalogue.get("nav.search").string in ("Szukaj teraz", "Search now")
    source = (ROOT / "ui" / "i18n.py").read_text("utf-8")
    assert "CATALOGUE" in source  # a legacy ui/i18n.py of a branch parses too
