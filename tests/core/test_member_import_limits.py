"""Member CSV import: an over-long cell is refused by row and column before it is parsed or stored.

Before, a 100,000-character email was stored as given on SQLite (and failed the whole import with a database
error on PostgreSQL), and a 5,000-digit points cell crashed the import (Python refuses such an int).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from connector.core import catalog
from connector.core.database import transaction
from connector.core.errors import ValidationError
from connector.core.member_import import import_members
from connector.core.tables import Member

HEADER = "external_ref,first_name,last_name,email,points\n"


@pytest.mark.timeout(30)
def test_member_import_refuses_over_long_cells_by_row_and_changes_nothing(make_runtime):
    rt = make_runtime()
    with transaction(rt.sessions) as s:
        brand = catalog.create_brand(s, "Acme")
    text = (
        HEADER
        + "m1,Ada,Lovelace,ada@example.com,10\n"
        + f"m2,Grace,Hopper,a@{'.' * 100_000}@,10\n"
        + f"m3,Alan,Turing,alan@example.com,{'9' * 5000}\n"
    )
    with rt.sessions() as s, pytest.raises(ValidationError) as caught:
        import_members(s, s.merge(brand), text)
    assert caught.value.fields["rows"] == [
        "row 3, column 'email': 100003 characters; at most 255",
        "row 4, column 'points': 5000 characters; at most 9",
    ]
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Member)) == 0
