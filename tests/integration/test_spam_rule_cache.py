"""spamd's verdicts on evaluation mail, asked once from the real spamd and kept in a file."""

from __future__ import annotations

from pathlib import Path

from intake.spam_eval import load_folder
from intake.spam_rule_cache import build_rule_cache, load_rule_cache, raw_sha256
from intake.spamd import SpamdClient
from tests.integration.conftest import make_mail
from tests.services.spamd import Spamd

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def test_verdicts_are_kept_resumed_and_given_to_the_evaluation(
    tmp_path: Path, spamd: Spamd
) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "1.eml").write_bytes(make_mail(body=f"Zobacz {GTUBE}"))
    (folder / "2.eml").write_bytes(make_mail(subject="Faktura", body="Proszę o korektę."))
    cache = tmp_path / "rules.jsonl"
    client = SpamdClient(spamd.host, spamd.port, timeout_s=30.0)
    files = sorted(folder.iterdir())

    assert build_rule_cache(files, client, cache) == 2
    kept = load_rule_cache(cache)
    gtube = kept[raw_sha256((folder / "1.eml").read_bytes())]
    assert "GTUBE" in gtube.rules and gtube.score >= gtube.required
    plain = kept[raw_sha256((folder / "2.eml").read_bytes())]
    assert "GTUBE" not in plain.rules and plain.score < plain.required

    # A second run asks only about mail it has not kept yet.
    (folder / "3.eml").write_bytes(make_mail(subject="Inna", body="Druga sprawa."))
    assert build_rule_cache(sorted(folder.iterdir()), client, cache) == 1
    assert len(cache.read_text().splitlines()) == 3

    mails, failed = load_folder(folder, verdicts=load_rule_cache(cache))
    assert failed == 0
    by_name = {m.name: m for m in mails}
    assert "GTUBE" in by_name["1.eml"].rules
    assert by_name["2.eml"].spamd is not None
