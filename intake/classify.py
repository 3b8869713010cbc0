"""Classify an intake mail as loop, bounce, auto_reply, spam or ham, with a stable reason."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Final, Literal

import msgspec

from intake.parse import LOOP_HEADER, ParsedMail
from intake.spam import SpamModel
from intake.spamd import SpamdClient, SpamdVerdict

log = logging.getLogger(__name__)

Label = Literal["loop", "bounce", "complaint", "auto_reply", "spam", "bulk", "ham"]
AUTOMATIC: Final = frozenset({"bounce", "complaint", "auto_reply"})
"""Mail no person wrote: attached where it belongs, never reopens, creates or sends anything."""

_BOUNCE_SENDERS: Final = frozenset(
    {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon", "mailsystem", "mail-system"}
)
_BOUNCE_SUBJECT: Final = re.compile(
    r"^\s*(undelivered mail returned to sender|delivery status notification|"
    r"mail delivery (failed|failure|system)|undeliverable|undelivered|returned mail|"
    r"delivery failure|failure notice|niedostarczalne|niedostarczona|"
    r"nie można dostarczyć|zwrócona wiadomość|non remis|unzustellbar)",
    re.IGNORECASE,
)
_BOUNCE_BODY: Final = re.compile(
    r"(could not be delivered|couldn't be delivered|delivery (to the following recipients? )?"
    r"(has )?failed|permanent(ly)? (error|fatal)|user unknown|mailbox (unavailable|not found|"
    r"full)|no such user|recipient address rejected|message not delivered|"
    r"nie (mogła|może|mogl[ao]) zosta[cć] dostarczona|nie została dostarczona|"
    r"adres(at)? nie istnieje)",
    re.IGNORECASE,
)
_OUT_OF_OFFICE: Final = re.compile(
    r"(odpowied[zź] automatyczna|automatyczna odpowied[zź]|nieobecno[sś][cć]|"
    r"poza biurem|out of (the )?office|auto(matic)?[ -]?reply|auto[ -]?response|"
    r"abwesenheitsnotiz|automatische antwort|urlop)",
    re.IGNORECASE,
)
# Without an Exchange header, only a subject that starts with the marker counts.
_OUT_OF_OFFICE_PREFIX: Final = re.compile(
    r"^\s*(odpowied[zź] automatyczna|automatyczna odpowied[zź]|automatic reply|autoreply|"
    r"auto-reply|out of office|nieobecno[sś][cć]|abwesenheitsnotiz)\s*:",
    re.IGNORECASE,
)
# A person saying they are away, in the first lines of a short mail. "Urlop" alone is not
# enough: it is a word of the payroll module (Kadry Płace) our customers ask about.
_AWAY_BODY: Final = re.compile(
    r"(jestem (obecnie )?(na urlopie|nieobecn[ya]|poza biurem)|przebywam na urlopie|"
    r"(będę|bede) (nieobecn[ya]|niedostępn[ya]|na urlopie)|do dnia \S+ (jestem|przebywam)|"
    r"(i am|i'm|i will be) (currently )?(out of (the )?office|away|on (annual )?leave|"
    r"on vacation|on holiday)|with limited access to (my )?e-?mail|"
    r"(mam|mając) ograniczony dostęp do poczty|dziękuję za wiadomość.{0,40}(urlop|nieobecn))",
    re.IGNORECASE | re.DOTALL,
)
_AWAY_MAX_CHARS: Final = 1500
_READ_RECEIPT_SUBJECT: Final = re.compile(
    r"^\s*(read|przeczytan[ya]|przeczytano|gelesen|lu)\s*:", re.IGNORECASE
)
_READ_RECEIPT_BODY: Final = re.compile(
    r"(was read on|została przeczytana|zostala przeczytana|wurde .* gelesen)", re.IGNORECASE
)
_REPLY_PREFIX: Final = re.compile(r"^\s*(re|odp|aw|sv|fw|fwd|pd)\s*:", re.IGNORECASE)
_BULK_PRECEDENCE: Final = frozenset({"bulk", "junk", "list"})
# Test strings every filter must catch (GTUBE), and patterns no client of ours writes.
_KNOWN_BAD: Final = re.compile(
    r"XJS\*C4JDBQADN1\.NSBN3\*2IDNEN\*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL\*C\.34X"
)
_MANY_RECIPIENTS: Final = 20
# Phrases of obvious spam, Polish and English: part of the shipped prior, for spam the
# English-trained model has never seen. One alone proves nothing (a customer may ask about a
# casino client's invoices); several distinct ones in one mail do.
_SPAM_PHRASE_PATTERNS: Final = (
    r"\bviagra\b|\bcialis\b|\blevitra\b",
    r"\bcasino\b|\bkasyn[oa]\b|\bjackpot\b|\bruletk",
    r"\bbitcoin|\bkryptowalut|\bcrypto\b",
    r"\bwygra[łl](e[śs]|a[śs])\b|\bwygrana\b|you (have )?won\b|\bwinner\b",
    r"\bodbierz (swoj[aąe] )?(nagrod|wygran|prezent)|claim your (prize|reward)",
    r"\blotter(y|ia)\b|\bloteri",
    r"\bkliknij (tutaj|w link|tu)\b|\bclick here\b",
    r"\bmake money\b|\bzar[oó]b(isz)? \d|\bearn \$|\bwork from home\b",
    r"\benlargement\b|\bpowi[eę]ksz(enie)? penis|\bpenis\b",
    r"\bbez bik\b|\bchwil[oó]wk|\bpo[zż]yczk\w* (bez|od r[eę]ki)",
    r"\b100\s?% (free|darmo)|\bza darmo!|\bfree gift\b|\bgratis!",
    r"\brisk[- ]free\b|\bbez ryzyka\b|\bact now\b|\blimited time offer\b",
)
# Searched in lower-cased text: faster than re.IGNORECASE, and faster one by one than as a
# single alternation (measured).
_SPAM_PHRASES: Final = tuple(re.compile(p) for p in _SPAM_PHRASE_PATTERNS)
_PHRASE_WEIGHT: Final = 0.25
_PHRASE_TEXT_LIMIT: Final = 5000


class Classification(msgspec.Struct, frozen=True):
    """The verdict: label, a stable reason slug, and a score in 0..1.

    The score is the combined spam score for every mail that reached the spam check (ham,
    spam, bulk); for rule verdicts before it (loop, bounce, complaint, auto_reply) it is 1.0.
    `spamassassin` is what spamd said, kept with the call so learning sees its rules too.
    """

    label: Label
    reason: str
    score: float
    spamassassin: SpamdVerdict | None = None

    @property
    def automatic(self) -> bool:
        return self.label in AUTOMATIC


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
    """The spam model (the stored one, else the shipped prior); None leaves header rules and
    SpamAssassin."""
    spam_threshold: float = SpamModel.threshold
    """Combined spam score from which a mail is spam."""
    spamd: SpamdClient | None = None
    """SpamAssassin's spamd; None = not used."""
    spamassassin: SpamdVerdict | None = None
    """spamd's verdict when the caller already asked it."""


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


def _part_types(mail: ParsedMail) -> set[str]:
    return {a.content_type for a in mail.attachments}


def _report(mail: ParsedMail) -> Classification | None:
    """Machine reports: delivery status (bounces), feedback (complaints), read receipts."""
    parts = _part_types(mail)
    report = mail.report_type or ""
    if mail.content_type == "multipart/report" and report == "feedback-report":
        return _rule("complaint", "arf-feedback-report")
    if "message/feedback-report" in parts:
        return _rule("complaint", "arf-feedback-report")
    if mail.content_type == "multipart/report" and report == "delivery-status":
        return _rule("bounce", "delivery-status-report")
    if mail.content_type == "message/delivery-status" or "message/delivery-status" in parts:
        return _rule("bounce", "delivery-status-report")
    if mail.content_type == "multipart/report" and report == "disposition-notification":
        return _rule("auto_reply", "read-receipt")
    if "message/disposition-notification" in parts:
        return _rule("auto_reply", "read-receipt")
    if mail.content_type == "message/disposition-notification":
        return _rule("auto_reply", "read-receipt")
    return None


def _bounce(mail: ParsedMail) -> Classification | None:
    return_path = (mail.return_path or "").strip()
    daemon = _local_part(mail) in _BOUNCE_SENDERS
    if return_path == "<>" and daemon:
        return _rule("bounce", "null-return-path")
    if _BOUNCE_SUBJECT.match(mail.subject):
        return _rule("bounce", "bounce-subject")
    if daemon and _BOUNCE_BODY.search(mail.text[:5000]):
        return _rule("bounce", "bounce-text")
    return None


def _auto_reply(mail: ParsedMail) -> Classification | None:
    auto_submitted = (mail.auto_submitted or "").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return _rule("auto_reply", "rfc3834-auto-submitted")
    if mail.x_autoreply is not None or mail.x_autorespond is not None:
        return _rule("auto_reply", "x-autoreply")
    if mail.x_auto_response_suppress is not None and (
        _OUT_OF_OFFICE.search(mail.subject) or _AWAY_BODY.search(mail.text[:600])
    ):
        return _rule("auto_reply", "out-of-office")
    if _OUT_OF_OFFICE_PREFIX.match(mail.subject):
        return _rule("auto_reply", "out-of-office-subject")
    text = mail.text.strip()
    if len(text) <= _AWAY_MAX_CHARS and _AWAY_BODY.search(text[:600]):
        return _rule("auto_reply", "out-of-office-text")
    if _READ_RECEIPT_SUBJECT.match(mail.subject) and _READ_RECEIPT_BODY.search(text[:1000]):
        return _rule("auto_reply", "read-receipt")
    return None


def _bulk(mail: ParsedMail, ham: Classification) -> Classification | None:
    """List and newsletter mail: not spam, but no automatic answer goes to it (RFC 3834)."""
    precedence = (mail.precedence or "").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        reason = f"precedence-{precedence}"
    elif mail.list_id is not None or mail.list_unsubscribe is not None:
        reason = "list-headers"
    else:
        return None
    return msgspec.structs.replace(ham, label="bulk", reason=reason)


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
    if "!!!" in mail.subject:
        hits.append("subject-exclamations")
    if len(mail.to) + len(mail.cc) > _MANY_RECIPIENTS:
        hits.append("many-recipients")
    if mail.sender and mail.sender.name and "@" in mail.sender.name:
        shown = mail.sender.name.lower()
        if mail.sender.address.lower() not in shown:
            hits.append("from-name-other-address")
    sample = f"{mail.subject}\n{mail.text[:_PHRASE_TEXT_LIMIT]}".lower()
    phrases = [f"spam-phrase-{i}" for i, p in enumerate(_SPAM_PHRASES) if p.search(sample)]
    if len(phrases) < 2:
        phrases = []  # one alone is no evidence
    score = 0.15 * len(hits) + _PHRASE_WEIGHT * len(phrases)
    return min(0.95, score), hits + phrases


def _spamassassin_sync(mail: ParsedMail, ctx: ClassifyContext) -> SpamdVerdict | None:
    if ctx.spamassassin is not None:
        return ctx.spamassassin
    if ctx.spamd is None or not mail.raw:
        return None
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return ctx.spamd.check(mail.raw)
    # Inside an event loop a blocking call would stall it: async callers use aclassify().
    log.warning("classify() called inside an event loop with spamd set; use aclassify()")
    return None


def _spam(mail: ParsedMail, ctx: ClassifyContext) -> Classification:
    header_score, _hits = header_rule_score(mail)
    sa = _spamassassin_sync(mail, ctx)
    if header_score >= 1.0:
        return Classification("spam", "spam-header-rules", 1.0, sa)
    model = ctx.spam_model
    trained = model is not None and model.trained
    rules = sa.rules if sa is not None else ()
    # Without a model (no prior shipped, nothing learned) start from ham: nothing is lost.
    model_score = model.spam_probability(mail, rules) if model is not None and trained else 0.0
    score = model_score + header_score
    reason = "spam-model" if model_score >= header_score else "spam-header-rules"
    if sa is not None:
        required = sa.required if sa.required > 0 else 5.0
        sa_signal = max(-0.3, min(0.5, (sa.score - required) / (2 * required)))
        if not trained:
            sa_signal = 1.0 if sa.score >= required else 0.0
        if sa_signal > max(model_score, header_score):
            reason = "spamassassin"
        score += sa_signal
    if ctx.known_sender:
        score -= 0.5
    score = max(0.0, min(1.0, score))
    if score >= ctx.spam_threshold:
        return Classification("spam", reason, score, sa)
    return Classification("ham", "ham", score, sa)


def _before_spam(mail: ParsedMail, ctx: ClassifyContext) -> Classification | None:
    return _loop(mail, ctx) or _report(mail) or _bounce(mail) or _auto_reply(mail)


def classify(mail: ParsedMail, ctx: ClassifyContext) -> Classification:
    """Rules in order: loop, machine reports (complaints, bounces, read receipts), bounces by
    sender and text, auto-replies and out-of-office, spam (model + header rules +
    SpamAssassin), bulk/list mail, else ham.

    Bulk markers (Precedence, List-*) come after the spam check: spammers set them too.
    With ctx.spamd set and no running event loop spamd is asked here; async code uses
    aclassify().
    """
    verdict = _before_spam(mail, ctx)
    if verdict is not None:
        return verdict
    spam_verdict = _spam(mail, ctx)
    if spam_verdict.label == "spam":
        return spam_verdict
    return _bulk(mail, spam_verdict) or spam_verdict


async def aclassify(mail: ParsedMail, ctx: ClassifyContext) -> Classification:
    """classify() for async callers: asks spamd (when set) without blocking the loop."""
    verdict = _before_spam(mail, ctx)
    if verdict is not None:
        return verdict
    if ctx.spamd is not None and ctx.spamassassin is None and mail.raw:
        sa = await ctx.spamd.acheck(mail.raw)
        ctx = msgspec.structs.replace(ctx, spamd=None, spamassassin=sa)
    return classify(mail, ctx)
