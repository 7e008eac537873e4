"""How the office names a unit and a plate, read the same way in every search box,
dropdown and lookup.

A unit is written ``2-202``, ``2栋202``, ``2栋-202``, ``2-202室`` or ``2号楼202`` (also in
full-width characters, as Chinese input methods type them); all mean unit 202 of the
building the estate calls 2栋 (or 2, 2号楼, 2幢, 2座). A guard writes a plate as it reads
it off the car: ``A12345``, ``a·12345`` or ``12345`` all find 沪A12345.
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import and_, select

from models import Building, Unit

from .identifiers import PROVINCES, normalize_plate, plate_problem

# Not 楼 alone: 2楼 is as often the second floor.
BUILDING_SUFFIXES = ("栋", "号楼", "幢", "座")
UNIT_LABEL_RE = re.compile(
    r"^(?P<building>[0-9A-Za-z\u4e00-\u9fff]+?)\s*"
    r"(?:(?:栋|号楼|幢|座)\s*[-/]?|\s*[-/\s])\s*"
    r"(?P<number>[0-9A-Za-z]*[0-9][0-9A-Za-z]*)\s*(?:室|号|房)?$"
)
# Dashes people type between building and number, beyond the ASCII hyphen.
DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−﹣"})
# A partial plate: what follows the province, at least this many characters of it.
MIN_PLATE_PART = 3
PLATE_PART_RE = re.compile(rf"^[{PROVINCES}]?[A-Z0-9]{{{MIN_PLATE_PART},7}}$")


def normalize_query(text: str | None) -> str:
    """What was typed, with full-width letters, digits and dashes made plain
    (``２－２０２`` → ``2-202``) and surrounding space removed."""
    return unicodedata.normalize("NFKC", text or "").translate(DASHES).strip()


def parse_unit_label(text: str | None) -> tuple[str, str] | None:
    """``(building, number)`` for a unit written the office's ways, else ``None``.

    The building comes back without its suffix (``2栋202`` → ``("2", "202")``). A bare
    number such as ``2202`` is not a label: it could be split anywhere.
    """
    match = UNIT_LABEL_RE.match(normalize_query(text))
    if match is None:
        return None
    return match["building"], match["number"]


def building_names(building: str) -> list[str]:
    """The names an estate may give building ``building``: 2, 2栋, 2号楼, ..."""
    return [building, *(f"{building}{suffix}" for suffix in BUILDING_SUFFIXES)]


def unit_label_clause(text: str | None):
    """A condition on ``Unit`` for the unit a label names, or ``None`` when ``text`` is
    not a unit label. It needs no join: the building is matched by a subquery."""
    parsed = parse_unit_label(text)
    if parsed is None:
        return None
    building, number = parsed
    return and_(
        Unit.number == number,
        Unit.building_id.in_(
            select(Building.id).where(Building.name.in_(building_names(building)))
        ),
    )


def plate_part(text: str | None) -> str | None:
    """The plate, or the part of one, that ``text`` is as a guard types it:
    ``a·12345`` → ``A12345``. ``None`` when it cannot be part of a plate or is shorter
    than MIN_PLATE_PART characters (that would match nearly every car), and for a unit
    label such as ``2-202`` (not the plate part 2202); ``A 12345`` may be either."""
    text = normalize_query(text)
    plate = normalize_plate(text)
    if not plate_problem(plate):
        return plate
    if parse_unit_label(text) is not None and not re.search(r"[\s·]", text):
        return None
    return plate if PLATE_PART_RE.match(plate) else None


def plate_clause(column, text: str | None):
    """A condition on a plate column for what a guard typed, or ``None``."""
    part = plate_part(text)
    if part is None:
        return None
    return column.contains(part, autoescape=True)
