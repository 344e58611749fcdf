"""The flask-smorest pieces every resource module uses: Blueprint answers invalid input with 400."""

from __future__ import annotations

import flask_smorest
from webargs.flaskparser import FlaskParser

from dashboard_api.errors import ErrorSchema


class Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, with validation errors documented and answered as 400."""

    ARGUMENTS_PARSER = Parser()
    PAGINATION_ARGUMENTS_PARSER = Parser()


class Api(flask_smorest.Api):
    """flask-smorest's Api, documenting cartwheel's error shape."""

    ERROR_SCHEMA = ErrorSchema
