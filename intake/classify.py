"""Classify an intake mail as loop, bounce, auto_reply, spam or ham, with a stable reason."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Final, Literal

import msgspec

from intake.parse import LOOP_HEADER, ParsedMail
from intake.spam import SpamModel

log = logging.getLogger(__name__)

Label = Literal["loop", "bounce", "auto_reply", "spam", "ham"]

_BOUNCE_SENDERS: Final = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
_BOUNCE_SUBJECT: Final = re.compile(
    r"^\s*(undelivered mail returned to sender|delivery status notification|"
    r"mail delivery (failed|failure|system)|undeliverable|undelivered|returned mail|"
    r"delivery failure|failure notice|niedostarczalne|niedostarczona|"
    r"nie można dostarczyć|zwrócona wiadomość)",
    re.IGNORECASE,
)
_OUT_OF_OFFICE: Final = re.compile(
    r"(odpowied[zź] automatyczna|automatyczna odpowied[zź]|nieobecno[sś][cć]|"
    r"poza biurem|out of (the )?office|auto(matic)?[ -]?reply|auto[ -]?response|"
    r"abwesenheitsnotiz|automatische antwort)",
    re.IGNORECASE,
)
# Without an Exchange header, only a subject that starts with the marker counts.
_OUT_OF_OFFICE_PREFIX: Final = re.compile(
    r"^\s*(odpowied[zź] automatyczna|automatyczna odpowied[zź]|automatic reply|autoreply|"
    r"auto-reply|out of office|nieobecno[sś][cć])\s*:",
    re.IGNORECASE,
)
_BULK_PRECEDENCE: Final = frozenset({"bulk", "junk", "list"})
# Test strings every filter must catch (GTUBE), and patterns no client of ours writes.
_KNOWN_BAD: Final = re.compile(
    r"XJS\*C4JDBQADN1\.NSBN3\*2IDNEN\*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL\*C\.34X"
)
_MANY_RECIPIENTS: Final = 20


class Classification(msgspec.Struct, frozen=True):
    """The verdict: label, a stable reason slug, and a score in 0..1.

    For spam and ham the score is the combined spam score; for rule verdicts it is 1.0.
    """

    label: Label
    reason: str
    score: float


class ClassifyContext(msgspec.Struct, frozen=True, kw_only=True):
    """What the caller knows about the mailbox and the sender of this mail."""

    own_domain: str
    """Domain of our own Message-IDs (e.g. "helpdesk.example.pl")."""
    own_addresses: tuple[str, ...] = ()
    """Our mailbox addresses; X-Loop or a From naming one of them is a loop."""
    loop_header: str = LOOP_HEADER
    """The header our outgoing mail carries."""
    sender_count_last_hour: int = 0
    """Mails from this sender in the last hour, counted by the caller."""
    max_per_sender_per_hour: int = 30
    """More than this many mails from one sender in an hour is a loop."""
    known_sender: bool = False
    """The sender is a known client or partner address; leans ham."""
    spam_model: SpamModel | None = None
    """The learned spam model; None (or untrained) leaves header rules and SpamAssassin."""
    spam_threshold: float = SpamModel.threshold
    """Combined spam score from which a mail is spam."""
    spamd: tuple[str, int] | None = None
    """SpamAssassin's spamd (host, port); None = not used."""
    spamd_timeout: float = 3.0
    """Seconds to wait for spamd before skipping its signal."""
    spamassassin: tuple[float, float] | None = None
    """SpamAssassin (score, required) when the caller already asked spamd."""


def _rule(label: Label, reason: str) -> Classification:
    return Classification(label=label, reason=reason, score=1.0)


def _local_part(mail: ParsedMail) -> str:
    return mail.sender.address.rpartition("@")[0].lower() if mail.sender else ""


def _loop(mail: ParsedMail, ctx: ClassifyContext) -> Classification | None:
    own_domain = ctx.own_domain.lower()
    own = {a.lower() for a in ctx.own_addresses}
    if mail.message_id and mail.message_id.lower().endswith("@" + own_domain):
        return _rule("loop", "own-message-id")
    if mail.own_loop is not None or (
        ctx.loop_header.lower() != LOOP_HEADER.lower() and mail.header(ctx.loop_header)
    ):
        return _rule("loop", "own-loop-header")
    for value in mail.x_loop:
        lowered = value.lower()
        if own_domain in lowered or any(address in lowered for address in own):
            return _rule("loop", "x-loop")
    if mail.sender and mail.sender.address.lower() in own:
        return _rule("loop", "own-sender")
    if ctx.sender_count_last_hour > ctx.max_per_sender_per_hour:
        return _rule("loop", "sender-rate")
    return None


def _bounce(mail: ParsedMail) -> Classification | None:
    if mail.content_type == "multipart/report" and mail.report_type == "delivery-status":
        return _rule("bounce", "delivery-status-report")
    return_path = (mail.return_path or "").strip()
    if return_path == "<>" and _local_part(mail) in _BOUNCE_SENDERS:
        return _rule("bounce", "null-return-path")
    if _BOUNCE_SUBJECT.match(mail.subject):
        return _rule("bounce", "bounce-subject")
    return None


def _auto_reply(mail: ParsedMail) -> Classification | None:
    auto_submitted = (mail.auto_submitted or "").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return _rule("auto_reply", "rfc3834-auto-submitted")
    if mail.x_autoreply is not None or mail.x_autorespond is not None:
        return _rule("auto_reply", "x-autoreply")
    if mail.x_auto_response_suppress is not None and _OUT_OF_OFFICE.search(mail.subject):
        return _rule("auto_reply", "out-of-office")
    if _OUT_OF_OFFICE_PREFIX.match(mail.subject):
        return _rule("auto_reply", "out-of-office-subject")
    return None


def _bulk(mail: ParsedMail) -> Classification | None:
    precedence = (mail.precedence or "").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return _rule("auto_reply", f"precedence-{precedence}")
    if mail.list_id is not None or mail.list_unsubscribe is not None:
        return _rule("auto_reply", "list-headers")
    return None


def header_rule_score(mail: ParsedMail) -> tuple[float, list[str]]:
    """Spam evidence from the headers alone: a score in 0..1 and the rules that fired."""
    hits: list[str] = []
    if _KNOWN_BAD.search(mail.text) or _KNOWN_BAD.search(mail.subject):
        return 1.0, ["known-bad-pattern"]
    if mail.date is None:
        hits.append("no-date")
    if mail.message_id is None:
        hits.append("no-message-id")
    if mail.sender is None:
        hits.append("no-sender")
    letters = [c for c in mail.subject if c.isalpha()]
    if len(letters) >= 10 and all(c.isupper() for c in letters):
        hits.append("all-caps-subject")
    if len(mail.to) + len(mail.cc) > _MANY_RECIPIENTS:
        hits.append("many-recipients")
    if mail.sender and mail.sender.name and "@" in mail.sender.name:
        shown = mail.sender.name.lower()
        if mail.sender.address.lower() not in shown:
            hits.append("from-name-other-address")
    return min(1.0, 0.15 * len(hits)), hits


async def spamassassin_check(
    raw: bytes, host: str, port: int, timeout: float = 3.0
) -> tuple[float, float] | None:
    """SpamAssassin's (score, required) from spamd, or None when it cannot answer."""
    try:
        import aiospamc

        response = await asyncio.wait_for(
            aiospamc.check(raw, host=host, port=port, timeout=aiospamc.Timeout(total=timeout)),
            timeout=timeout + 0.5,
        )
        spam = response.headers.spam
        if spam is None:
            return None
        return float(spam.score), float(spam.threshold)
    except Exception as exc:  # spamd down, slow or confused: skip the signal, never fail
        log.info("spamd signal skipped: %s", exc)
        return None


def _spamassassin_sync(mail: ParsedMail, ctx: ClassifyContext) -> tuple[float, float] | None:
    if ctx.spamassassin is not None:
        return ctx.spamassassin
    if ctx.spamd is None or not mail.raw:
        return None
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        host, port = ctx.spamd
        return asyncio.run(spamassassin_check(mail.raw, host, port, ctx.spamd_timeout))
    # Inside an event loop a blocking call would stall it: async callers use aclassify().
    log.warning("classify() called inside an event loop with spamd set; use aclassify()")
    return None


def _spam(mail: ParsedMail, ctx: ClassifyContext) -> Classification:
    header_score, _hits = header_rule_score(mail)
    if header_score >= 1.0:
        return Classification(label="spam", reason="spam-header-rules", score=1.0)
    model = ctx.spam_model
    trained = model is not None and model.trained
    # Untrained, the model says nothing: start from ham so nothing is lost.
    model_score = model.spam_probability(mail) if model is not None and trained else 0.0
    score = model_score + header_score
    reason = "spam-model" if model_score >= header_score else "spam-header-rules"
    sa = _spamassassin_sync(mail, ctx)
    if sa is not None:
        sa_score, required = sa
        required = required if required > 0 else 5.0
        sa_signal = max(-0.3, min(0.5, (sa_score - required) / (2 * required)))
        if not trained:
            sa_signal = 1.0 if sa_score >= required else 0.0
        if sa_signal > max(model_score, header_score):
            reason = "spamassassin"
        score += sa_signal
    if ctx.known_sender:
        score -= 0.5
    score = max(0.0, min(1.0, score))
    if score >= ctx.spam_threshold:
        return Classification(label="spam", reason=reason, score=score)
    return Classification(label="ham", reason="ham", score=score)


def classify(mail: ParsedMail, ctx: ClassifyContext) -> Classification:
    """Rules in order: loop, bounce, auto-reply, spam (model + header rules + SpamAssassin),
    bulk/list mail, else ham.

    Bulk markers (Precedence, List-*) come after the spam check: spammers set them too.
    With ctx.spamd set and no running event loop spamd is asked here; async code uses
    aclassify().
    """
    verdict = _loop(mail, ctx) or _bounce(mail) or _auto_reply(mail)
    if verdict is not None:
        return verdict
    spam_verdict = _spam(mail, ctx)
    if spam_verdict.label == "spam":
        return spam_verdict
    return _bulk(mail) or spam_verdict


async def aclassify(mail: ParsedMail, ctx: ClassifyContext) -> Classification:
    """classify() for async callers: asks spamd (when set) without blocking the loop."""
    verdict = _loop(mail, ctx) or _bounce(mail) or _auto_reply(mail)
    if verdict is not None:
        return verdict
    if ctx.spamd is not None and ctx.spamassassin is None and mail.raw:
        host, port = ctx.spamd
        sa = await spamassassin_check(mail.raw, host, port, ctx.spamd_timeout)
        ctx = msgspec.structs.replace(ctx, spamd=None, spamassassin=sa)
    return classify(mail, ctx)
