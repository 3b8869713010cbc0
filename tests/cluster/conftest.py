"""Fixtures of the cluster tests: a real Dovecot for the intake workers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services.dovecot import Dovecot, DovecotUnavailable, dovecot_server


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    try:
        with dovecot_server() as server:
            yield server
    except DovecotUnavailable as exc:
        pytest.skip(f"no Dovecot: {exc}")
