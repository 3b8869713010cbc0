"""Every test process gets the ticket core's hooks, as every process built by the composition
root does: tests that call the services without building a container see the same desk."""

from __future__ import annotations

from api.bootstrap import install_hooks


def pytest_configure() -> None:
    install_hooks()
