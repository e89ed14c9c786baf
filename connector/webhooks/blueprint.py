"""The webhooks blueprint: a leaf the views import (the package imports the views)."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
