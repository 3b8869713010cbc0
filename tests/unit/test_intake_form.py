"""Web form validation as pure functions: cleaned values, errors that name the field."""

from __future__ import annotations

import pytest

from intake.form import (
    FormFieldInvalid,
    FormSubmission,
    FormTooLarge,
    is_honeypot,
    submission_to_mail,
    validate_submission,
)
from intake.parse import parse_mail


def _form(**kw: str | None) -> FormSubmission:
    base: dict[str, str | None] = {
        "name": "Jan",
        "email": "Jan@Klient.PL",
        "subject": "Temat",
        "body": "Treść",
    }
    base.update(kw)
    return FormSubmission(**base)  # type: ignore[arg-type]


def test_clean_values() -> None:
    data = validate_submission(_form(name=" Jan\r\n Kowalski ", licence="  ", website=""))
    assert (data.name, data.email, data.licence, data.website) == (
        "Jan Kowalski",
        "Jan@klient.pl",
        None,
        None,
    )
    assert not is_honeypot(data) and is_honeypot(_form(website="x"))


@pytest.mark.parametrize(
    ("kw", "field", "error"),
    [
        ({"email": "a@b"}, "email", FormFieldInvalid),
        ({"email": "a b@c.pl"}, "email", FormFieldInvalid),
        ({"body": " \n "}, "body", FormFieldInvalid),
        ({"subject": "x" * 301}, "subject", FormTooLarge),
        ({"name": "x" * 201}, "name", FormTooLarge),
    ],
)
def test_errors_name_the_field(kw: dict[str, str], field: str, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        validate_submission(_form(**kw))
    assert caught.value.field == field  # type: ignore[attr-defined]


def test_a_submission_reads_back_as_the_same_mail() -> None:
    data = validate_submission(
        _form(name="Łukasz Żółw", body="Zażółć gęślą jaźń", product="enova365")
    )
    raw, message_id = submission_to_mail(
        data, to="pomoc@sedno.test", domain="sedno.test", client_address="10.0.0.1"
    )
    mail = parse_mail(raw)
    assert mail.sender is not None and mail.sender.name == "Łukasz Żółw"
    assert mail.text.strip() == "Zażółć gęślą jaźń" and mail.message_id == message_id
    assert not message_id.endswith("@sedno.test")  # not mistaken for our own mail (a loop)
    assert mail.header("x-sedno-product") == "enova365"
