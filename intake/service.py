"""Intake's use cases in one place for callers (routes, UI, worker, tests).

They live by role: `ingest` (mail → call, thread, quarantine), `followup` (a reply to a
finished ticket), `queue` (accept, drop, restore, queries), `channels` (web form, phone),
`learning` (the stored spam model), `purge` (dropped calls), `receipts` (dedupe), `context`.
Services flush; the caller (worker, request) commits.
"""

from __future__ import annotations

from intake.channels import FormReceipt, log_phone_call, submit_form
from intake.context import MODEL_RECHECK_S, IntakeContext
from intake.ingest import (
    KnownSender,
    classify_mail,
    ingest_mail,
    ingest_parsed,
    known_sender,
    quarantine_raw,
    sender_count_last_hour,
)
from intake.learning import SPAM_LEARN_JOB, make_spam_learn_handler, store_spam_model
from intake.orm import IntakeCallRow
from intake.purge import PurgeReport, purge_dropped_calls
from intake.queue import (
    DROP_REASONS,
    RESTORE_DAYS,
    CallDetail,
    CallPage,
    CallSummary,
    QuarantineEntry,
    accept_call,
    drop_call,
    get_call,
    get_call_row,
    list_calls,
    list_quarantine,
    move_message_out,
    restore_call,
    ticket_fields_from_call,
)
from intake.receipts import IngestResult, Outcome, dedupe_key
from tickets.core.db import utcnow

__all__ = [
    "DROP_REASONS",
    "MODEL_RECHECK_S",
    "RESTORE_DAYS",
    "SPAM_LEARN_JOB",
    "CallDetail",
    "CallPage",
    "CallSummary",
    "FormReceipt",
    "IngestResult",
    "IntakeCallRow",
    "IntakeContext",
    "KnownSender",
    "Outcome",
    "PurgeReport",
    "QuarantineEntry",
    "accept_call",
    "classify_mail",
    "dedupe_key",
    "drop_call",
    "get_call",
    "get_call_row",
    "ingest_mail",
    "ingest_parsed",
    "known_sender",
    "list_calls",
    "list_quarantine",
    "log_phone_call",
    "make_spam_learn_handler",
    "move_message_out",
    "purge_dropped_calls",
    "quarantine_raw",
    "restore_call",
    "sender_count_last_hour",
    "store_spam_model",
    "submit_form",
    "ticket_fields_from_call",
    "utcnow",
]
