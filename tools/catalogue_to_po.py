"""Merge `{key: (Polish, English)}` UI strings into the gettext catalogues of the console
(`ui/locale/{pl,en}/LC_MESSAGES/messages.po`).

Branches written before the catalogues add their strings to a `CATALOGUE` dict in
`ui/i18n.py`. Give this tool that file from the branch (`git show BRANCH:ui/i18n.py >
/tmp/i18n.py`), or a file holding just the pasted `"key": ("pl", "en"),` lines, and it adds
the keys the catalogues lack (and, with `--update`, rewrites those whose text changed):

    python -m tools.catalogue_to_po /tmp/i18n.py [--update]
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path
from typing import Final

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

LOCALE_DIR: Final = Path(__file__).resolve().parents[1] / "ui" / "locale"
LANGUAGES: Final = ("pl", "en")


def po_path(lang: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / lang / "LC_MESSAGES" / "messages.po"


def parse_pairs(source: str) -> dict[str, tuple[str, str]]:
    """The `key: (pl, en)` pairs of a `CATALOGUE = {...}` assignment, or of bare pasted
    dictionary lines (with or without the braces)."""
    tree = _parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict) and _is_catalogue(node):
            return _pairs(node)
    raise ValueError("no {key: (Polish, English)} dictionary found")


def _parse(source: str) -> ast.Module:
    try:
        return ast.parse(source)
    except SyntaxError:
        return ast.parse("{" + source.strip().strip("{}") + "}")


def _is_catalogue(node: ast.Dict) -> bool:
    return bool(node.keys) and all(
        isinstance(v, ast.Tuple) and len(v.elts) == 2 for v in node.values
    )


def _pairs(node: ast.Dict) -> dict[str, tuple[str, str]]:
    pairs: dict[str, tuple[str, str]] = {}
    for key, value in zip(node.keys, node.values, strict=True):
        if key is None:
            continue
        polish, english = ast.literal_eval(value)
        pairs[ast.literal_eval(key)] = (str(polish), str(english))
    return pairs


def load(lang: str, locale_dir: Path = LOCALE_DIR) -> Catalog:
    path = po_path(lang, locale_dir)
    if not path.exists():
        return Catalog(
            locale=lang,
            domain="messages",
            header_comment=f"# The console's strings ({lang}); key = msgid. See ui/i18n.py.",
            project="Sedno",
            version="0.1.0",
            copyright_holder="Sedno",
            msgid_bugs_address="",
            fuzzy=False,
        )
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def merge(
    pairs: dict[str, tuple[str, str]], *, update: bool = False, locale_dir: Path = LOCALE_DIR
) -> dict[str, list[str]]:
    """Add (or with `update`, also change) the keys; returns what happened to which key."""
    report: dict[str, list[str]] = {"added": [], "changed": [], "kept": []}
    catalogues = {lang: load(lang, locale_dir) for lang in LANGUAGES}
    for key, texts in pairs.items():
        known = [catalogues[lang].get(key) for lang in LANGUAGES]
        if all(m is None for m in known):
            report["added"].append(key)
        elif update and any(m is None or m.string != t for m, t in zip(known, texts, strict=True)):
            report["changed"].append(key)
        else:
            report["kept"].append(key)
            continue
        for lang, text in zip(LANGUAGES, texts, strict=True):
            message = catalogues[lang].get(key)
            if message is None:
                catalogues[lang].add(key, text)
            else:
                message.string = text
    for lang, catalogue in catalogues.items():
        path = po_path(lang, locale_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            write_po(f, catalogue, width=100, sort_output=False, omit_header=False)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a ui/i18n.py of a branch, or pasted lines")
    parser.add_argument("--update", action="store_true", help="also rewrite changed texts")
    args = parser.parse_args(argv)
    report = merge(parse_pairs(args.source.read_text("utf-8")), update=args.update)
    for what, keys in report.items():
        print(f"{what}: {len(keys)}" + (f" ({', '.join(keys)})" if keys and what != "kept" else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
