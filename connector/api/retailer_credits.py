"""``/api/v1`` frequent-buyer routes (placeholder; the routes arrive with the frequent-buyer work)."""

from __future__ import annotations
