"""`sedno search check`: what the configured Meilisearch would refuse or get wrong, read-only.

It reads the server's version, the key's reach, the index's settings and document count, and
compares them with what Sedno sends (`settings_body`); it changes nothing.
"""

from __future__ import annotations

from typing import Any, Final

from search.meili import MeiliError, MeiliSearchEngine, settings_body
from search.ports import IndexSettings, SearchRequest, SearchUnavailable

MIN_VERSION: Final = (1, 12)
"""The oldest release read against (compose.yaml pins v1.12.8)."""
_COMPARED: Final = (
    "filterableAttributes", "searchableAttributes", "sortableAttributes", "displayedAttributes",
    "rankingRules", "pagination", "faceting",
)  # fmt: skip


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("-")[0].split(".")[:2] if p.isdigit())


def check_meili(engine: MeiliSearchEngine, completed_tickets: int) -> list[tuple[str, str, str]]:
    """(level, what, detail) lines; level is ok, warn or fail."""
    try:
        state = engine.server_state()
    except MeiliError as exc:
        hint = {401: "set SEDNO_SEARCH_KEY", 403: "the key is wrong or may not read the index"}
        return [("fail", "credentials", f"{exc} {hint.get(exc.status, '')}".strip())]
    except SearchUnavailable as exc:
        return [("fail", "connection", str(exc))]
    lines: list[tuple[str, str, str]] = []
    version = str(state["version"].get("pkgVersion", "?"))
    lines.append(
        ("ok" if _version(version) >= MIN_VERSION else "fail", "version",
         f"Meilisearch {version}" + ("" if _version(version) >= MIN_VERSION else
                                     f"; Sedno needs {'.'.join(map(str, MIN_VERSION))} or newer"))
    )  # fmt: skip
    settings: dict[str, Any] | None = state["settings"]
    if settings is None:
        lines.append(("warn", "index", "does not exist yet: the first write creates and "
                      "configures it (or run `sedno reindex`)"))  # fmt: skip
        return lines
    wanted = settings_body(IndexSettings())
    for key in _COMPARED:
        if settings.get(key) != wanted[key]:
            lines.append(("fail", f"setting {key}", f"is {settings.get(key)!r}, Sedno needs "
                          f"{wanted[key]!r}: run `sedno reindex`"))  # fmt: skip
        else:
            lines.append(("ok", f"setting {key}", "as Sedno needs"))
    synonyms = settings.get("synonyms") or {}
    lines.append(("ok", "synonyms", f"{len(synonyms)} forms from the keyword dictionary"))
    count = int((state["stats"] or {}).get("numberOfDocuments", 0))
    level = "ok" if count == completed_tickets else "warn"
    lines.append((level, "documents", f"{count} indexed, {completed_tickets} completed tickets "
                  "in the database" + ("" if level == "ok" else ": run `sedno reindex`")))  # fmt: skip
    try:
        engine.search(SearchRequest(q="", limit=1, facets=["module"]))
        lines.append(("ok", "search", "a search with facets works with this key"))
    except SearchUnavailable as exc:
        lines.append(("fail", "search", str(exc)))
    return lines
