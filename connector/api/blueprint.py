"""The API's blueprint: a leaf every resource module imports (the package imports them all)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
