"""A form post answers 303 See Other: the browser then fetches the page with GET.

Litestar's `Redirect` says 302 unless told otherwise, and a 302 after a POST lets a client
repeat the POST (RFC 9110 §15.4.3). Walks every handler of `ui/` that takes a form (POST,
PUT, PATCH, DELETE) and fails on a `Redirect(...)` in it without `status_code=303`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

UI = Path(__file__).resolve().parents[2] / "ui"
WRITES = {"post", "put", "patch", "delete"}


def _redirects_without_303(tree: ast.AST) -> Iterator[tuple[str, int]]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not any(
            isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id in WRITES
            for d in node.decorator_list
        ):
            continue
        for call in ast.walk(node):
            if not (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Name)
                and call.func.id == "Redirect"
            ):
                continue
            status = next((k.value for k in call.keywords if k.arg == "status_code"), None)
            if not (isinstance(status, ast.Constant) and status.value == 303):
                yield node.name, call.lineno


def test_every_form_handler_redirects_with_303() -> None:
    found = [
        f"{path.name}:{line} ({handler})"
        for path in sorted(UI.glob("*.py"))
        for handler, line in _redirects_without_303(ast.parse(path.read_text()))
    ]
    assert found == []


def test_the_check_sees_a_302() -> None:
    source = (
        "@post('/x')\ndef save() -> None:\n    return Redirect('/x')\n\n"
        "@get('/y')\ndef show() -> None:\n    return Redirect('/y')\n\n"
        "@post('/z')\ndef done() -> None:\n    return Redirect('/z', status_code=303)\n"
    )
    assert list(_redirects_without_303(ast.parse(source))) == [("save", 3)]
