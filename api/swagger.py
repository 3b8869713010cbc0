"""Swagger UI served from this server: the swagger-ui dist shipped by the `swagger-ui-py`
package (Apache-2.0, its LICENSE beside the files), so `/schema/swagger` works offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import swagger_ui
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers import BaseRouteHandler
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.router import Router
from litestar.static_files import create_static_files_router

SWAGGER_DIST: Final = Path(swagger_ui.__file__).resolve().parent / "static"
ASSETS_PATH: Final = "/schema/assets"
SERVED_FILES: Final = frozenset(
    {"swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css", "LICENSE"}
)


def swagger_plugin() -> SwaggerRenderPlugin:
    """Swagger UI at `/schema` and `/schema/swagger`, every asset from `ASSETS_PATH`."""
    return SwaggerRenderPlugin(
        path=["/", "/swagger"],
        js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        favicon="<link rel='icon' href='/static/favicon.svg' type='image/svg+xml'>",
    )


def swagger_assets() -> Router:
    """The few dist files the page loads (and the licence), not the whole package folder."""
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[SWAGGER_DIST],
        include_in_schema=False,
        security=[],
        guards=[_only_served_files],
    )


def _only_served_files(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if str(connection.path_params.get("file_path", "")).lstrip("/") not in SERVED_FILES:
        raise NotFoundException()
