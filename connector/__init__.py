"""connector: loyalty reward redemptions turned into real fulfillment.

Kept import-light on purpose: plugins do ``from connector import hookimpl`` and
must not drag Flask or SQLAlchemy into their import graph.
"""

from connector.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["__version__", "hookimpl"]
