"""SpamAssassin's verdicts on the evaluation corpora, asked once and kept in a file.

spamd needs about 0.1–1 s a mail on this shared machine, so asking it for the 7 800 corpus
mails on every `spam-eval` run would take an hour. `sedno intake spam-rules` asks the real
spamd once and appends one JSON line per mail (keyed by the SHA-256 of its raw bytes, so a
renamed file keeps its verdict and a changed one is asked again); `spam-eval --rules FILE`
then reads the verdicts instead of asking. An interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

import msgspec

from intake.spamd import SpamdClient, SpamdVerdict

_BATCH = 40


class CachedVerdict(msgspec.Struct, frozen=True):
    """One line of the cache: the raw mail's SHA-256 and what spamd said about it."""

    sha256: str
    score: float
    required: float
    rules: tuple[str, ...]


def raw_sha256(raw: bytes) -> str:
    """The cache key of a raw mail."""
    return hashlib.sha256(raw).hexdigest()


def load_rule_cache(path: Path) -> dict[str, SpamdVerdict]:
    """The verdicts kept in `path` by SHA-256 of the raw mail (empty when it is missing)."""
    if not path.exists():
        return {}
    decoder = msgspec.json.Decoder(CachedVerdict)
    verdicts: dict[str, SpamdVerdict] = {}
    for line in path.read_bytes().splitlines():
        if line.strip():
            cached = decoder.decode(line)
            verdicts[cached.sha256] = SpamdVerdict(cached.score, cached.required, cached.rules)
    return verdicts


def build_rule_cache(
    files: Iterable[Path], spamd: SpamdClient, out: Path, log: TextIO = sys.stdout
) -> int:
    """Ask spamd about every file not yet in `out` and append its verdict; return how many
    were asked. A mail spamd did not answer is left out, to be asked on the next run."""
    known = load_rule_cache(out)
    todo: list[tuple[str, bytes]] = []
    for path in files:
        raw = path.read_bytes()
        key = raw_sha256(raw)
        if key not in known:
            todo.append((key, raw))
            known[key] = SpamdVerdict(0.0, 0.0)  # a duplicate file is asked once
    encoder = msgspec.json.Encoder()
    asked = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("ab") as sink:
        for start in range(0, len(todo), _BATCH):
            batch = todo[start : start + _BATCH]
            verdicts = spamd.check_raw_many([raw for _, raw in batch])
            for (key, _), verdict in zip(batch, verdicts, strict=True):
                if verdict is None:
                    continue
                line = CachedVerdict(key, verdict.score, verdict.required, verdict.rules)
                sink.write(encoder.encode(line) + b"\n")
                asked += 1
            sink.flush()
            print(f"spamd: {start + len(batch)} of {len(todo)}", file=log, flush=True)
    return asked
