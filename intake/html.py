"""HTML mail bodies: readable plain text for agents and a sanitised copy for display."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Final

import nh3

# Tags whose content is never shown to a reader.
_HIDDEN: Final = frozenset({"script", "style", "head", "title", "template", "noscript", "object"})
_BLOCK: Final = frozenset(
    {
        "p", "div", "section", "article", "header", "footer", "blockquote", "pre", "table",
        "tr", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
        "address", "center", "form", "fieldset", "main", "nav", "aside", "figure",
    }
)  # fmt: skip
_SPACES: Final = re.compile(r"[ \t\r\f\v\u00a0]+")
_MANY_NEWLINES: Final = re.compile(r"\n{3,}")


class _TextExtractor(HTMLParser):
    """Collects visible text, turning block elements and line breaks into newlines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0
        self._pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden_depth += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in ("td", "th"):
            self.parts.append("\t")
        elif tag in _BLOCK:
            if tag == "pre":
                self._pre_depth += 1
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" or tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in _BLOCK:
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._hidden_depth:
            return
        if self._pre_depth:
            self.parts.append(data)
        else:
            self.parts.append(_SPACES.sub(" ", data.replace("\n", " ")))


def html_to_text(html: str) -> str:
    """Readable plain text from (possibly broken) HTML."""
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:  # HTMLParser is lenient; this is a last guard for odd input
        pass
    text = "".join(extractor.parts)
    lines = [line.strip(" \t") for line in text.split("\n")]
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


_ALLOWED_TAGS: Final = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "div", "dl", "dt",
        "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p",
        "pre", "s", "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td",
        "tfoot", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
_ALLOWED_ATTRIBUTES: Final = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align"},
    "p": {"align"},
    "div": {"align"},
    "font": {"color"},
}
# cid: lets the UI rewrite inline images to attachment URLs; nothing else can be fetched.
_URL_SCHEMES: Final = frozenset({"http", "https", "mailto", "cid"})
_IMG_TAG: Final = re.compile(r'<img\b(?:[^>"]|"[^"]*")*>', re.IGNORECASE)
_IMG_SRC: Final = re.compile(r'\ssrc="([^"]*)"')
_IMG_ALT: Final = re.compile(r'\salt="([^"]*)"')


def _drop_remote_src(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and not value.lower().startswith("cid:"):
        return None
    return value


def _replace_image(match: re.Match[str]) -> str:
    tag = match.group(0)
    if _IMG_SRC.search(tag):  # only cid: sources survive the attribute filter
        return tag
    alt = _IMG_ALT.search(tag)
    return f"[{alt.group(1)}]" if alt and alt.group(1).strip() else ""


def sanitize_html(html: str) -> str:
    """HTML safe to show an agent: no scripts, handlers, javascript: URLs or remote images.

    A remote image is replaced by its alt text, so opening a mail never tells the sender.
    """
    cleaned = nh3.clean(
        html,
        tags=set(_ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in _ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(_URL_SCHEMES),
        attribute_filter=_drop_remote_src,
        clean_content_tags={"script", "style", "title"},
        strip_comments=True,
        link_rel="noopener noreferrer nofollow",
    )
    # nh3 serialises every attribute value in double quotes (a quote inside is escaped),
    # so a quote-aware regex over its output sees whole tags.
    return _IMG_TAG.sub(_replace_image, cleaned)
