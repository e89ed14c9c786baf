"""Package sizes: one spelling per unit, one base unit per dimension, and no comparing apples with bags.

The size rule ("the free good must be the same size as or smaller than the smallest purchased
item", seed 003) compares a 28 lb bag with a 4 lb bag, but also a 2 kg bag with a 4 lb one, or
a 6-count pack with a 4 lb bag. Weights are converted to grams and volumes to millilitres so the
first two compare exactly; a count and a weight have no common unit, and saying so plainly is
better than guessing. Pure standard library: the rules call this without a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum


class Dimension(StrEnum):
    WEIGHT = "weight"
    VOLUME = "volume"
    COUNT = "count"


#: How a dimension reads in a sentence ("6 ct is a count, 4 lb is a weight").
DIMENSION_NOUN = {Dimension.WEIGHT: "a weight", Dimension.VOLUME: "a volume", Dimension.COUNT: "a count"}

# canonical unit -> (dimension, size of one unit in the dimension's base unit: g, ml, or 1)
_UNITS: dict[str, tuple[Dimension, Decimal]] = {
    "lb": (Dimension.WEIGHT, Decimal("453.59237")),
    "oz": (Dimension.WEIGHT, Decimal("28.349523125")),
    "kg": (Dimension.WEIGHT, Decimal("1000")),
    "g": (Dimension.WEIGHT, Decimal("1")),
    "l": (Dimension.VOLUME, Decimal("1000")),
    "ml": (Dimension.VOLUME, Decimal("1")),
    "fl oz": (Dimension.VOLUME, Decimal("29.5735295625")),
    "gal": (Dimension.VOLUME, Decimal("3785.411784")),
    "ct": (Dimension.COUNT, Decimal("1")),
}

# every accepted spelling (lower-case, dots and surrounding spaces removed) -> canonical unit
_ALIASES: dict[str, str] = {
    **{a: "lb" for a in ("lb", "lbs", "pound", "pounds", "#")},
    **{a: "oz" for a in ("oz", "ozs", "ounce", "ounces", "wt oz", "net wt oz")},
    **{a: "kg" for a in ("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms")},
    **{a: "g" for a in ("g", "gr", "gm", "gms", "gram", "grams")},
    **{a: "l" for a in ("l", "lt", "ltr", "litre", "litres", "liter", "liters")},
    **{a: "ml" for a in ("ml", "millilitre", "millilitres", "milliliter", "milliliters")},
    **{a: "fl oz" for a in ("fl oz", "floz", "fluid ounce", "fluid ounces")},
    **{a: "gal" for a in ("gal", "gallon", "gallons")},
    **{a: "ct" for a in ("ct", "cnt", "count", "ea", "each", "pc", "pcs", "piece", "pieces", "pk", "pack", "unit")},
}

#: The canonical units, for error messages and documentation.
CANONICAL_UNITS: tuple[str, ...] = tuple(_UNITS)


class UnknownUnitError(ValueError):
    pass


def canonical_unit(text: str) -> str:
    """``"LBS"`` → ``"lb"``, ``"Fl. Oz"`` → ``"fl oz"``; ``UnknownUnitError`` for anything else."""
    key = " ".join(text.replace(".", " ").lower().split())
    unit = _ALIASES.get(key) or _ALIASES.get(key.replace(" ", ""))
    if unit is None:
        raise UnknownUnitError(f"unknown size unit {text!r}; use one of: {', '.join(CANONICAL_UNITS)}")
    return unit


def format_quantity(value: Decimal) -> str:
    """``Decimal("4.000")`` → ``"4"``, ``Decimal("2.50")`` → ``"2.5"`` (never ``4E+1``)."""
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class Size:
    """A package size in a canonical unit, comparable with sizes of the same dimension."""

    value: Decimal
    unit: str

    @property
    def dimension(self) -> Dimension:
        return _UNITS[self.unit][0]

    @property
    def base(self) -> Decimal:
        """The size in grams (weight), millilitres (volume) or units (count)."""
        return self.value * _UNITS[self.unit][1]

    def __str__(self) -> str:
        return f"{format_quantity(self.value)} {self.unit}"


def make_size(value: Decimal | int | float | str, unit: str) -> Size:
    """A validated ``Size``; ``ValueError`` (``UnknownUnitError`` for the unit) says what is wrong."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"size {value!r} is not a number") from None
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"size {value!r} must be a positive number")
    return Size(amount, canonical_unit(unit))


class IncomparableSizesError(ValueError):
    """Two sizes of different dimensions (e.g. a count and a weight)."""


def compare(a: Size, b: Size) -> int:
    """-1, 0 or 1 as ``a`` is smaller than, equal to or larger than ``b``; raises for different dimensions."""
    if a.dimension != b.dimension:
        raise IncomparableSizesError(
            f"{a} is {DIMENSION_NOUN[a.dimension]} and {b} is {DIMENSION_NOUN[b.dimension]}; they cannot be compared"
        )
    # Quantise away conversion noise (1 kg vs 35.27396195 oz) at a milligram / microlitre.
    x, y = a.base.quantize(Decimal("0.001")), b.base.quantize(Decimal("0.001"))
    return (x > y) - (x < y)
