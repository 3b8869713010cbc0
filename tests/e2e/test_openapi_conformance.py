"""The OpenAPI document is the server: schemathesis generates requests from it and checks every
answer against it (no 5xx, status codes, content types, bodies, headers), that requests the
document calls valid are not refused as malformed, and that requests it calls invalid are
refused. Bounded: a fixed number of examples per operation and mode, no shrinking, no example
database, derandomised, on SQLite (PostgreSQL runs the same handlers; its integer columns are
why request integers are documented as 32-bit)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from litestar import Litestar
from litestar.testing import TestClient
from schemathesis.config import PositiveDataAcceptanceConfig
from schemathesis.generation import GenerationMode

from api.container import Container
from tests.services.apps import serving
from tickets.accounts.auth import ensure_bootstrap_admin
from tickets.core.attachments import BlobStore
from tickets.core.db import Database
from tickets.core.settings import load_settings

ADMIN = "schemathesis-admin-token"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
EXAMPLES = 12
"""Examples per operation; about 60 operations, so some 700 requests in all."""

# What a request the document calls valid may still be answered with: refusals that depend on
# the data the server holds (a missing record, a state conflict, a dictionary value), on who
# asks, or on limits over time. Never 400 (malformed) or 415 (wrong media type).
VALID_DATA_ANSWERS = ["2XX", "401", "403", "404", "409", "413", "422", "429", "503"]


@pytest.fixture
def app(
    sqlite_db: Database,
    tmp_path: Path,
    api_client: TestClient,  # type: ignore[type-arg]
) -> Iterator[Litestar]:
    settings_ = load_settings(
        {
            "SEDNO_DATA_DIR": str(tmp_path / "data"),
            "SEDNO_ADMIN_TOKEN": ADMIN,
            "SEDNO_DATABASE_URL": sqlite_db.url,
        }
    )
    with sqlite_db.transaction() as s:
        ensure_bootstrap_admin(s, ADMIN)
    container = Container(
        settings=settings_, db=sqlite_db, blobs=BlobStore(tmp_path / "data" / "blobs")
    )
    # The shared app has run the start-up hooks that complete the document.
    with serving(api_client, container) as client:
        yield client.app


def _schema(app: Litestar) -> Any:
    config = schemathesis.config.SchemathesisConfig()
    # The first protocol request imports WeasyPrint (seconds on a busy machine; only `sedno
    # serve` warms it up in the background): a budget beyond schemathesis' 10 s default.
    config.projects.default.request_timeout = 120
    config.projects.default.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
        expected_statuses=VALID_DATA_ANSWERS
    )
    return schemathesis.openapi.from_asgi("/schema/openapi.json", app, config=config)


def _describe(exc: BaseException) -> str:
    # Schemathesis' own text: the failure, the answer, and a curl line that reproduces it.
    return str(exc)[:3000]


@pytest.mark.slow
def test_the_server_answers_as_its_openapi_document_says(app: Litestar) -> None:
    failures: list[str] = []
    operations = 0
    for result, mode in itertools.product(_schema(app).get_all_operations(), GenerationMode):
        operation = result.ok()
        operations += mode is GenerationMode.POSITIVE

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode, headers=AUTH))
        def check(case: Any) -> None:
            case.call_and_validate()

        try:
            check()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE, operation.label
            continue  # nothing to get wrong: the operation takes no input
        except (Exception, BaseExceptionGroup) as exc:  # one failure must not hide the rest
            failures.append(f"{operation.label} ({mode}): {_describe(exc)}")
    assert operations >= 40, "the document lists fewer operations than the server has"
    assert not failures, f"{len(failures)} operations disagree with the document:\n" + "\n\n".join(
        failures
    )
