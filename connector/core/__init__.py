"""The domain core: model, lifecycle rules, storage and use cases.

Nothing here imports Flask or an HTTP client; plugins and web layers reach the
core only through ``connector.core.hooktypes`` and ``connector.core.services``.
"""
