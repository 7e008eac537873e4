"""Chinese resident identity numbers: validation, normalization and blind indexes."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from flask import current_app

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def id_check_digit(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def id_number_problem(value: str) -> str | None:
    """Why an 18-digit resident ID number is invalid, or ``None`` when it is valid."""
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return "length"
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "birth_date"
    if born.year < 1900 or born > date.today():
        return "birth_date"
    if id_check_digit(value[:17]) != value[17]:
        return "check_digit"
    return None


def normalize_id_number(value: str) -> str:
    return re.sub(r"\s", "", value or "").upper()


def normalize_mobile(value: str) -> str:
    digits = re.sub(r"[\s\-()]", "", value or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits


def blind_index(kind: str, normalized: str | None) -> str | None:
    if not normalized:
        return None
    return current_app.extensions["propadmin.crypto"].blind_index(kind, normalized)


def blind_indexer(kind: str) -> Callable[[str | None], str | None]:
    """``blind_index`` for one kind of value, for many values (the app's keys read once)."""
    index = current_app.extensions["propadmin.crypto"].blind_index

    def indexed(normalized: str | None) -> str | None:
        return index(kind, normalized) if normalized else None

    return indexed


PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_RE = re.compile(
    rf"^[{PROVINCES}][A-HJ-NP-Z](?:[A-HJ-NP-Z0-9]{{5}}|[DF][A-HJ-NP-Z0-9]{{5}}|[A-HJ-NP-Z0-9]{{5}}[DF])$"
    rf"|^[{PROVINCES}][A-HJ-NP-Z][A-HJ-NP-Z0-9]{{4}}[挂学警港澳]$"
)


def normalize_plate(value: str) -> str:
    """``沪a·12345`` → ``沪A12345``."""
    return re.sub(r"[\s·.\-]", "", value or "").upper()


def plate_problem(value: str) -> str | None:
    return None if PLATE_RE.match(value) else "plate"


def mobile_problem(value: str) -> str | None:
    return None if MOBILE_RE.match(value) else "mobile"
