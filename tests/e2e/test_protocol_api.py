"""The ticket protocol PDF: fields, timeline, time and Polish letters, read back with pdftotext."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import Api

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "p.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return " ".join(out.stdout.decode("utf-8").split())


def _fonts(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "f.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdffonts", str(path)], capture_output=True, check=True).stdout.decode()


def test_protocol_carries_the_ticket_in_polish(
    api: Api, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = api.h("consultant")
    partner = api.client.post("/api/partners", json={"name": "Źródło Partnerskie"}, headers=h)
    client = api.client.post(
        "/api/clients",
        json={"name": "Zakład Usług Różnych Łódź", "partner_id": partner.json()["id"],
              "tax_id": "7251234561",
              "licences": [{"number": "EN-4711", "product": "enova365"}]},
        headers=h,
    )  # fmt: skip
    assert client.status_code == 201, client.text
    created = api.client.post(
        "/api/tickets",
        json={"definition": "ZS", "title": "Błąd wydruku faktury", "licence": "EN-4711",
              "description": "Zażółć gęślą jaźń — wydruk się nie pojawia.", "module": "Handel"},
        headers=h,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    ticket = created.json()
    assert api.client.post(f"/api/tickets/{ticket['id']}/time", json={"minutes": 65},
                           headers=h).status_code == 201  # fmt: skip
    for to in ("analysing", "in_progress"):
        api.client.post(f"/api/tickets/{ticket['id']}/transition", json={"to": to}, headers=h)
    done = api.client.post(
        f"/api/tickets/{ticket['id']}/transition",
        json={"to": "completed", "resolution": "resolved",
              "solution": "Poprawiono ścieżkę drukarki; źródło błędu usunięte."},
        headers=h,
    )  # fmt: skip
    assert done.status_code == 200, done.text

    answer = api.client.get(f"/api/tickets/{ticket['id']}/protocol.pdf", headers=h)

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")
    # The template's own font was loaded (no fallback) and is embedded in the file.
    assert not [r for r in caplog.records if "cannot be loaded" in r.getMessage()]
    fonts = _fonts(answer.content, tmp_path)
    # Subsets of the template's @font-face (DejaVu Sans), embedded: "+Protocol … yes yes yes".
    assert "+Protocol " in fonts and "+Protocol-Bold " in fonts and " yes " in fonts, fonts
    text = _text(answer.content, tmp_path)
    assert f"Protokół zadania {ticket['number']}" in text
    for words in ("Zakład Usług Różnych Łódź", "NIP 7251234561", "Źródło Partnerskie", "EN-4711",
                  "Zażółć gęślą jaźń", "Poprawiono ścieżkę drukarki", "Błąd wydruku faktury",
                  "Zmiana stanu", "in_progress → completed", "1 h 05 min",
                  "Podpis konsultanta", "Podpis klienta"):  # fmt: skip
        assert words in text, words


def test_protocol_of_a_missing_ticket_is_404(api: Api) -> None:
    answer = api.client.get("/api/tickets/999999/protocol.pdf", headers=api.h())
    assert answer.status_code == 404
    assert answer.json()["type"] == "not-found"
