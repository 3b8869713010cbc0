"""The arrows run one way: ui → api → capabilities → core → domain.

Walks every import of the product's modules (ast, module level and function level alike)
and fails on an arrow pointing back up. Entrypoints (the composition root, the app, the
CLI) may import everything; nothing else imports `api/` or `ui/`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("tickets", "intake", "search", "api", "ui")
ENTRYPOINTS = ("api.app", "api.cli", "api.bootstrap")
CAPABILITIES = (
    "intake",
    "search",
    "tickets.accounts",
    "tickets.assignments",
    "tickets.console",
    "tickets.curation",
    "tickets.directory",
    "tickets.handoff",
    "tickets.knowledge",
    "tickets.notices",
    "tickets.notifications",
    "tickets.planner",
    "tickets.projects",
    "tickets.protocol",
    "tickets.tasks",
    "tickets.telephony",
    "tickets.timecost",
)
# Arrows that pointed the wrong way before issue 15 are all gone: the ticket core asks the
# capabilities through `tickets.core.hooks`, wired in the composition root. Keep it empty.
KNOWN_UPWARD: set[str] = set()
# No capability reaches itself through others' imports any more (the last circles, around
# notices and notifications, went under issue 15 item 2). Keep it empty.
KNOWN_CIRCLES: set[str] = set()
RANK = {"domain": 0, "core": 1, "capability": 2, "api": 3, "ui": 4}


def layer(module: str) -> str:
    def under(prefix: str) -> bool:
        return module == prefix or module.startswith(prefix + ".")

    if under("tickets.domain"):
        return "domain"
    if under("tickets.core") or module in ("tickets", "tickets.data"):
        return "core"
    if any(under(c) for c in CAPABILITIES):
        return "capability"
    if under("api"):
        return "api"
    if under("ui"):
        return "ui"
    raise AssertionError(f"{module}: in no layer; add it to CAPABILITIES or a layer")


def capability(module: str) -> str | None:
    return next((c for c in CAPABILITIES if module == c or module.startswith(c + ".")), None)


def modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), path


def imports(module: str, path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


KNOWN_MODULES = frozenset(m for m, _ in modules())


def ours(name: str) -> str | None:
    """The product module an import names (a `from x import y` may name a module or a name)."""
    known = KNOWN_MODULES
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def test_no_arrow_points_back_up() -> None:
    wrong: set[str] = set()
    for module, path in modules():
        if module in ENTRYPOINTS:
            continue
        for _, name in imports(module, path):
            target = ours(name)
            if target is None:
                continue
            if target in ENTRYPOINTS or RANK[layer(target)] > RANK[layer(module)]:
                wrong.add(f"{module} -> {target}")
    assert wrong == KNOWN_UPWARD


def test_capabilities_do_not_import_each_other_in_a_circle() -> None:
    edges: dict[str, set[str]] = {c: set() for c in CAPABILITIES}
    for module, path in modules():
        source = capability(module)
        if source is None:
            continue
        for _, name in imports(module, path):
            target = ours(name)
            dest = capability(target) if target else None
            if dest is not None and dest != source:
                edges[source].add(dest)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in edges[start]:
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    circles = {f"{a} -> {b}" for a in edges for b in edges[a] if reaches(b, a, {b})}
    assert circles == KNOWN_CIRCLES
