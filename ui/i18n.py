"""Every string the UI shows, in Polish (first) and English: gettext catalogues read with
Babel (`ui/locale/{pl,en}/LC_MESSAGES/messages.po`, msgid = the key used in templates),
Babel's plural rules, and Polish dates and numbers.

Add a string: a `msgid`/`msgstr` pair in both .po files (or `python -m
tools.catalogue_to_po FILE` with `{key: (pl, en)}` lines); `pybabel extract -F babel.cfg`
lists the keys the code uses, and `tests/unit/test_i18n.py` fails on a missing or untranslated one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Final

from babel import Locale
from babel.dates import format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LANGUAGES: Final = ("pl", "en")
LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"


def _read_catalogue(lang: str) -> dict[str, str]:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalogue = read_po(f, locale=lang)
    return {str(m.id): str(m.string) for m in catalogue if m.id and m.string}


MESSAGES: Final[dict[str, dict[str, str]]] = {lang: _read_catalogue(lang) for lang in LANGUAGES}
CATALOGUE: Final[dict[str, tuple[str, str]]] = {
    key: (polish, MESSAGES["en"].get(key, "")) for key, polish in MESSAGES["pl"].items()
}
"""key: (Polish, English), as the console had it before the catalogues (read-only)."""


def text(lang: str, key: str) -> str:
    """The string for `key` in `lang`; a missing key shows itself, so gaps are visible."""
    return MESSAGES.get(lang, MESSAGES["pl"]).get(key, key)


def plural_form(lang: str, n: int) -> str:
    """`one`, `few` or `many`, by the CLDR plural rules Babel carries: Polish has three forms
    (1 wynik, 2–4 wyniki, 5 and 12–14 wyników, 22–24 wyniki again), English two (`few` and
    `many` then say the same)."""
    form = Locale.parse(lang).plural_form(n)
    return form if form in ("one", "few") else "many"


def count_text(lang: str, key: str, n: int) -> str:
    """The string of `key.one|few|many` for `n`, with `{n}` filled in (`1 234` in Polish)."""
    return text(lang, f"{key}.{plural_form(lang, n)}").replace("{n}", number(lang, n))


def number(lang: str, value: float) -> str:
    """A number as the language writes it (Polish: `1 234,5`)."""
    return format_decimal(value, locale=lang)


def date_time(lang: str, at: dt.datetime, tz: dt.tzinfo) -> str:
    """A point in time in the desk's zone, in the language's short form (`1.12.2026, 14:04`)."""
    return format_datetime(at, "short", tzinfo=tz, locale=lang)


def translator(lang: str) -> Callable[..., str]:
    """`t(key)`, or `t(key, fallback)` for keys built from data (states, history actions)."""

    def t(key: str, fallback: str | None = None) -> str:
        if fallback is not None and key not in CATALOGUE:
            return fallback
        return text(lang, key)

    return t
