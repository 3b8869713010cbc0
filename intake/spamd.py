"""SpamAssassin's spamd as a second opinion: its score and the names of the rules that hit.

One `SYMBOLS` request (aiospamc) gives both. The rule names become features of the learning
model (`intake.spam`), which weighs them by what this mailbox's decisions taught it, rather
than taking SpamAssassin's fixed scores. spamd down or slow is skipped, never fatal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Final

import aiospamc
import msgspec

from intake.parse import ParsedMail

log = logging.getLogger(__name__)

_CONCURRENCY: Final = 4


class SpamdVerdict(msgspec.Struct, frozen=True):
    """What spamd said: its score, the score it calls spam from, and the rules that hit."""

    score: float
    required: float
    rules: tuple[str, ...] = ()


def _rules(body: bytes) -> tuple[str, ...]:
    text = body.decode("ascii", "replace").strip()
    return tuple(sorted({r.strip() for r in text.split(",") if r.strip()}))


class SpamdClient(msgspec.Struct, frozen=True):
    """Where spamd listens and how long to wait for it."""

    host: str
    port: int = 783
    timeout_s: float = 3.0

    async def acheck(self, raw: bytes) -> SpamdVerdict | None:
        """spamd's verdict on one raw mail, or None when it cannot answer."""
        try:
            response = await asyncio.wait_for(
                aiospamc.symbols(
                    raw,
                    host=self.host,
                    port=self.port,
                    timeout=aiospamc.Timeout(total=self.timeout_s),
                ),
                timeout=self.timeout_s + 0.5,
            )
            spam = response.headers.spam
            if spam is None:
                return None
            return SpamdVerdict(float(spam.score), float(spam.threshold), _rules(response.body))
        except Exception as exc:  # spamd down, slow or confused: skip the signal, never fail
            log.info("spamd signal skipped: %s", exc)
            return None

    def check(self, raw: bytes) -> SpamdVerdict | None:
        """acheck() for code without an event loop."""
        return asyncio.run(self.acheck(raw))

    def check_many(self, mails: Sequence[ParsedMail]) -> list[SpamdVerdict | None]:
        """Verdicts for a batch, a few requests at a time (spamd runs a few children)."""
        return self.check_raw_many([m.raw or b"" for m in mails])

    def check_raw_many(self, raws: Sequence[bytes]) -> list[SpamdVerdict | None]:
        """Verdicts for a batch of raw mails (an empty one is not asked)."""

        async def run() -> list[SpamdVerdict | None]:
            limit = asyncio.Semaphore(_CONCURRENCY)

            async def one(raw: bytes) -> SpamdVerdict | None:
                async with limit:
                    return await self.acheck(raw) if raw else None

            return list(await asyncio.gather(*(one(r) for r in raws)))

        return asyncio.run(run())
