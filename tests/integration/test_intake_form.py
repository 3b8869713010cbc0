"""The web form: validation errors naming the field, the honeypot, rate limits, licences."""

from __future__ import annotations

import pytest

from intake.channels import submit_form
from intake.context import IntakeContext
from intake.form import (
    FormFieldInvalid,
    FormLimits,
    FormRateLimited,
    FormSubmission,
    FormTooLarge,
)
from intake.orm import IntakeCallRow
from intake.queue import get_call
from tickets.core.db import Database
from tickets.core.orm import ClientRow, LicenceRow


def _form(**overrides: str | None) -> FormSubmission:
    values: dict[str, str | None] = {
        "name": "Ewa Nowak",
        "email": "ewa@zlotyklos.pl",
        "subject": "Nie mogę wystawić korekty",
        "body": "Przy korekcie faktury pojawia się komunikat o błędzie.",
    }
    values.update(overrides)
    return FormSubmission(**values)  # type: ignore[arg-type]


def test_a_submission_becomes_a_pending_call(db: Database, ctx: IntakeContext) -> None:
    with db.transaction() as s:
        receipt = submit_form(s, ctx, _form(), client_address="203.0.113.7")
    assert receipt.status == "pending"
    with db.read() as s:
        call = get_call(s, receipt.call_id)
        row = s.get(IntakeCallRow, receipt.call_id)
        assert row is not None and row.client_address == "203.0.113.7"
    assert (call.source, call.sender, call.subject) == (
        "form",
        "ewa@zlotyklos.pl",
        "Nie mogę wystawić korekty",
    )
    assert "komunikat o błędzie" in call.body_text and call.classification == "ham"


@pytest.mark.parametrize(
    ("overrides", "error", "field"),
    [
        ({"email": "nie-adres"}, FormFieldInvalid, "email"),
        ({"name": "  "}, FormFieldInvalid, "name"),
        ({"subject": ""}, FormFieldInvalid, "subject"),
        ({"body": "x" * 20_001}, FormTooLarge, "body"),
        ({"licence": "L" * 65}, FormTooLarge, "licence"),
    ],
)
def test_invalid_input_names_the_field(
    db: Database,
    ctx: IntakeContext,
    overrides: dict[str, str],
    error: type[Exception],
    field: str,
) -> None:
    with db.transaction() as s, pytest.raises(error) as caught:
        submit_form(s, ctx, _form(**overrides))
    assert getattr(caught.value, "field", None) == field


def test_header_injection_is_flattened(db: Database, ctx: IntakeContext) -> None:
    with db.transaction() as s:
        receipt = submit_form(s, ctx, _form(subject="Pomoc\r\nBcc: ofiara@example.com"))
    with db.read() as s:
        call = get_call(s, receipt.call_id)
    assert call.subject == "Pomoc Bcc: ofiara@example.com"


def test_honeypot_is_accepted_silently_but_dropped_as_spam(
    db: Database, ctx: IntakeContext
) -> None:
    with db.transaction() as s:
        receipt = submit_form(s, ctx, _form(website="http://spam.example"))
    assert receipt.status == "pending"  # the bot learns nothing
    with db.read() as s:
        call = get_call(s, receipt.call_id)
    assert (call.status, call.classification, call.reason, call.drop_reason) == (
        "dropped",
        "spam",
        "honeypot",
        "spam",
    )


def test_rate_limits_per_client_address_and_per_sender(db: Database, ctx: IntakeContext) -> None:
    ctx.form_limits = FormLimits(per_client_address=3, per_sender=2)
    for i in range(2):
        with db.transaction() as s:
            submit_form(s, ctx, _form(subject=f"S{i}"), client_address="198.51.100.1")
    with db.transaction() as s, pytest.raises(FormRateLimited) as by_sender:
        submit_form(s, ctx, _form(subject="S3"), client_address="198.51.100.2")
    assert by_sender.value.field == "email" and by_sender.value.retry_after_s > 3000
    with db.transaction() as s:
        submit_form(s, ctx, _form(email="inny@firma.pl"), client_address="198.51.100.1")
    with db.transaction() as s, pytest.raises(FormRateLimited) as by_address:
        submit_form(s, ctx, _form(email="trzeci@firma.pl"), client_address="198.51.100.1")
    assert by_address.value.field == "client_address"


def test_a_known_licence_fills_client_and_product(db: Database, ctx: IntakeContext) -> None:
    with db.transaction() as s:
        client = ClientRow(name="Złoty Kłos")
        s.add(client)
        s.flush()
        s.add(LicenceRow(number="ENV-1234", client_id=client.id, product="enova365"))
        client_id = client.id
    with db.transaction() as s:
        known = submit_form(s, ctx, _form(licence="ENV-1234"))
        unknown = submit_form(s, ctx, _form(licence="XXX-1", email="b@firma.pl"))
    with db.read() as s:
        k = get_call(s, known.call_id)
        u = get_call(s, unknown.call_id)
    assert (k.client_id, k.licence, k.product) == (client_id, "ENV-1234", "enova365")
    assert (u.client_id, u.licence) == (None, None)
