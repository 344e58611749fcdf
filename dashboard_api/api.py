"""The flask-smorest pieces every resource module uses: Blueprint answers invalid input with 400.

The API docs page (/docs) loads Swagger UI from this app, never from a CDN: its assets ship in
the swagger-ui-py package (Swagger UI's own release files) and are served under SWAGGER_UI_URL.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import flask
import flask_smorest
from webargs.flaskparser import FlaskParser

from dashboard_api.errors import ErrorSchema

# flask-smorest's Swagger UI page loads swagger-ui.css, swagger-ui-bundle.js and
# swagger-ui-standalone-preset.js from OPENAPI_SWAGGER_UI_URL.
SWAGGER_UI_URL = "/docs/assets/"
SWAGGER_UI_ASSETS = frozenset(
    {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"}
)
# A week: the files change only with the installed package, and then so do their bytes' ETag.
_ASSET_MAX_AGE = 7 * 24 * 3600


class Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, with validation errors documented and answered as 400."""

    ARGUMENTS_PARSER = Parser()
    PAGINATION_ARGUMENTS_PARSER = Parser()


class Api(flask_smorest.Api):
    """flask-smorest's Api, documenting cartwheel's error shape, with the docs page's assets."""

    ERROR_SCHEMA = ErrorSchema

    def init_app(self, app: flask.Flask, *, spec_kwargs: dict[str, Any] | None = None) -> None:
        super().init_app(app, spec_kwargs=spec_kwargs)
        if app.config.get("OPENAPI_SWAGGER_UI_URL") == SWAGGER_UI_URL:
            app.add_url_rule(
                f"{SWAGGER_UI_URL}<name>", endpoint="swagger_ui_asset", view_func=swagger_ui_asset
            )


def swagger_ui_dir() -> Path:
    """Where the installed swagger-ui-py package keeps Swagger UI's release files."""
    return Path(str(resources.files("swagger_ui") / "static"))


def swagger_ui_asset(name: str) -> flask.Response:
    """One of the files the docs page loads; nothing else in that directory is served."""
    if name not in SWAGGER_UI_ASSETS:
        flask.abort(404)
    return flask.send_from_directory(swagger_ui_dir(), name, max_age=_ASSET_MAX_AGE)
