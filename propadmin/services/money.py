"""Exact money: Decimal in, half-up to the fen out. Never float."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import gettext as _

from . import ServiceError

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
# The most any single amount may be (a bill, a payment): ten million yuan.
MAX_AMOUNT = Decimal("10000000.00")
_PLAIN = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,4})?", re.ASCII)


def to_fen(value: Decimal | int | str) -> Decimal:
    """Round half-up to the fen: 1.005 → 1.01, 2.675 → 2.68."""
    if isinstance(value, float):
        raise TypeError("floats are not accepted for money")
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


def quantize(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def parse_amount(text: str | Decimal | int, field: str = "amount", *, allow_zero=False) -> Decimal:
    """A positive amount typed by a person: at most two decimals, at most ``MAX_AMOUNT``."""
    if isinstance(text, float):
        raise TypeError("floats are not accepted for money")
    # Full-width digits from a Chinese input method read as the plain ones (１２０ → 120).
    raw = unicodedata.normalize("NFKC", str(text)).strip()
    raw = raw.replace(",", "").removeprefix("¥").strip()
    if not _PLAIN.fullmatch(raw):  # ASCII digits only (no other scripts', no NaN)
        raise ServiceError(_("Enter an amount in yuan, such as 120.50."), field)
    try:
        value = Decimal(raw)
    except InvalidOperation:  # pragma: no cover — the pattern admits only numbers
        raise ServiceError(_("Enter an amount in yuan, such as 120.50."), field) from None
    if value < 0 or (value == 0 and not allow_zero):
        raise ServiceError(_("The amount must be more than zero."), field)
    if value > MAX_AMOUNT:  # before quantize(), which fails on very long numbers
        raise ServiceError(_("The amount is too large."), field)
    if value != value.quantize(FEN):
        raise ServiceError(_("An amount has at most two decimal places (fen)."), field)
    return value.quantize(FEN)


def split(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``total`` (in fen) by ``weights`` so that the parts add up to it exactly:
    each part is rounded down to the fen, and the fen left over go to the largest
    remainders (ties to the earlier weight)."""
    total = to_fen(total)
    whole = sum(weights, Decimal(0))
    if not weights:
        return []
    if whole == 0:
        raise ValueError("weights add up to zero")
    fen = int(total.scaleb(2))
    exact = [Decimal(fen) * w / whole for w in weights]
    floors = [int(e) for e in exact]  # weights and total are non-negative
    left = fen - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(f).scaleb(-2).quantize(FEN) for f in floors]
