"""Which SpamAssassin rule hits the spam model may learn from.

SpamAssassin's rules are hand-written and mostly about content (phrases, HTML tricks, money
talk, forged client signatures), so they carry from one mailbox to another. A family of them
is not: the rules about the relay chain, the envelope and the servers a mail passed through
fire or stay silent by how the mail reached us (an archive without `Received:` headers fires
`NO_RECEIVED` on every mail). A model that learns those learns the source, so they are left
out, as the model's own features leave out Received, X-Mailer and the sender's domain.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

_SOURCE_BOUND: Final = re.compile(
    r"(RCVD|RECEIVED|RELAY|RDNS|HELO|KHOP|SPF|DKIM|DMARC|DNSWL|ENVFROM|ALL_TRUSTED|"
    r"MSGID_FROM_MTA|DATE_IN_(PAST|FUTURE)|HEADER_FROM_DIFFERENT_DOMAINS|"
    r"^SPOOFED_FREEMAIL|^FSL_|^URIBL|^RCVD_IN|^DCC|^RAZOR|^PYZOR|^BAYES|^AWL|^TXREP|"
    r"^MISSING_HEADERS|^TO_NO_BRKTS|^MAILING_LIST|^T_)"
)
"""Relay, envelope, network and per-site rules; `MISSING_HEADERS` (an archive drops To:),
`MAILING_LIST_*` (how the mailbox subscribes) and the `T_` rules still in testing."""


def source_neutral_rules(rules: Iterable[str]) -> list[str]:
    """The rule hits that speak about the mail itself, not about the way it travelled."""
    return [r for r in rules if not _SOURCE_BOUND.search(r)]
