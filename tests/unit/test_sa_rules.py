"""Only SpamAssassin rules about the mail itself become features, not those about its route."""

from __future__ import annotations

from intake.parse import parse_mail
from intake.sa_rules import source_neutral_rules
from intake.spam import mail_features
from tests.integration.conftest import make_mail


def test_relay_envelope_and_network_rules_are_left_out() -> None:
    hits = [
        "NO_RECEIVED",
        "NO_RELAYS",
        "RDNS_NONE",
        "KHOP_HELO_FCRDNS",
        "SPF_HELO_NONE",
        "DKIM_SIGNED",
        "FORGED_YAHOO_RCVD",
        "DATE_IN_FUTURE_06_12",
        "SPOOFED_FREEMAIL",
        "MISSING_HEADERS",
        "T_FILL_THIS_FORM_SHORT",
        "LOTS_OF_MONEY",
        "MIME_HTML_ONLY",
        "SUBJ_ALL_CAPS",
        "ADVANCE_FEE_5_NEW_MONEY",
        "GTUBE",
    ]
    assert source_neutral_rules(hits) == [
        "LOTS_OF_MONEY",
        "MIME_HTML_ONLY",
        "SUBJ_ALL_CAPS",
        "ADVANCE_FEE_5_NEW_MONEY",
        "GTUBE",
    ]


def test_a_mail_without_received_headers_has_the_features_of_one_with_them() -> None:
    mail = parse_mail(make_mail(body="Proszę o korektę faktury 12/2026."))
    archived = mail_features(mail, ["NO_RECEIVED", "NO_RELAYS", "LOTS_OF_MONEY"])
    delivered = mail_features(mail, ["RDNS_NONE", "LOTS_OF_MONEY"])
    assert archived[0].tolist() == delivered[0].tolist()
    assert archived[1].tolist() == delivered[1].tolist()
    assert mail_features(mail, ["LOTS_OF_MONEY"])[0].tolist() != mail_features(mail)[0].tolist()
