"""Schemas of the credit memo check a retailer reads before reconciling (``GET .../memo-check``)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from connector.api.distribution_schemas import _money, money
from connector.core.frequent_buyer.memo_check import MemoCheck


class MemoCheckSchema(Schema):
    status = fields.String(
        metadata={"description": "MATCHES, DOES NOT MATCH, NOT RECORDED (no memo) or CANNOT COMPARE (no cost)."}
    )
    credit_memo_number = fields.String(allow_none=True)
    credit_memo_amount = _money()
    expected_amount = _money()
    mismatches = fields.List(fields.String(), metadata={"description": "Each difference, in words."})


def memo_check_out(c: MemoCheck) -> dict[str, Any]:
    return {
        "status": c.status,
        "credit_memo_number": c.credit_memo_number,
        "credit_memo_amount": money(c.credit_memo_amount),
        "expected_amount": money(c.expected_amount),
        "mismatches": list(c.mismatches),
    }
