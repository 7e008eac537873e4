"""What a receipt prints: its number, and the amount in Chinese capitals (大写金额), the
way banks and receipts write it so that no figure can be altered."""

from __future__ import annotations

from decimal import Decimal

from .money import to_fen

DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ((1000, "仟"), (100, "佰"), (10, "拾"), (1, ""))
SECTIONS = ("", "万", "亿", "万亿")


def receipt_number(number: int | None) -> str:
    """Receipt numbers print with eight digits: 42 → 00000042."""
    return "" if number is None else f"{number:08d}"


def _group(value: int) -> str:
    """0 < value < 10,000 in capitals; a run of zeros inside reads as one 零."""
    out, zero = [], False
    for place, name in PLACES:
        digit = value // place % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(DIGITS[digit] + name)
    return "".join(out)


def _integer(value: int) -> str:
    groups = []
    while value:
        value, group = divmod(value, 10000)
        groups.append(group)
    out, zero = [], False
    for index in reversed(range(len(groups))):
        group = groups[index]
        if group == 0:
            zero = bool(out)
            continue
        if out and (zero or group < 1000):
            out.append("零")
        zero = False
        out.append(_group(group) + SECTIONS[index])
    return "".join(out)


def amount_in_capitals(amount: Decimal | int | str) -> str:
    """¥ in Chinese capitals: 120.50 → 壹佰贰拾元伍角整, 0.05 → 伍分,
    100,000.07 → 壹拾万元零柒分. Ends in 整 when there are no fen."""
    value = to_fen(amount)
    sign = "负" if value < 0 else ""
    fen_total = int(abs(value).scaleb(2))
    yuan, rest = divmod(fen_total, 100)
    jiao, fen = divmod(rest, 10)
    if fen_total == 0:
        return "零元整"
    parts = []
    if yuan:
        parts.append(_integer(yuan) + "元")
    if jiao:
        parts.append(DIGITS[jiao] + "角")
    elif yuan and fen:
        parts.append("零")
    parts.append(DIGITS[fen] + "分" if fen else "整")
    return sign + "".join(parts)
