"""What the register's search box finds, as one flat, indexed condition per kind of term.

The typed text is read as each kind it can be (see naming.py): a full mobile or ID-card
number (through the blind index; a reveal, see number_search.py), a unit label
(``3-1201``), a plate or part of one (``A12345``) and a name. A name matches from its
start (``王建`` finds 王建国): that is an index range, where a substring would read every
resident. Each kind is a condition the database answers from an index: the name range on
``(estate_id, name)``, the unit through ``building (estate_id, name)`` and ``unit
(building_id, number)``, the plate through ``vehicle (estate_id, plate)``, a number through
its blind-index column. Text that can be several kinds (``ANNA``: a name or a plate part)
finds the union of them, never an OR over sub-selects.
"""

from __future__ import annotations

from sqlalchemy import Select, String, and_, false, literal, select, true, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import NullType

from models import Building, Occupancy, Resident, Unit, Vehicle

from .identifiers import (
    blind_index,
    id_number_problem,
    mobile_problem,
    normalize_id_number,
    normalize_mobile,
    plate_problem,
)
from .naming import building_names, normalize_query, parse_unit_label, plate_part

# Longer than any name, unit label or plate: such text finds nobody (and is not parsed).
MAX_QUERY = 64


class StartsWith(ColumnElement):
    """``column`` starts with ``prefix``, written so that an index answers it: on SQLite
    the range ``prefix <= column < next`` (its BINARY order is code-point order, so the
    range is exact), on PostgreSQL ``LIKE 'prefix%'``, which the ``text_pattern_ops``
    index answers whatever the database's collation.

    The prefix goes to the database as bound values, so a search's statement is compiled
    once and then found in SQLAlchemy's cache like any other (compiling the register's
    statements afresh cost more than running them)."""

    # Untyped: a Boolean would be compared with 1 on SQLite, hiding the range from its index.
    type = NullType()
    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("pattern", InternalTraversal.dp_clauseelement),
        ("lower", InternalTraversal.dp_clauseelement),
        ("upper", InternalTraversal.dp_clauseelement),
        ("ranged", InternalTraversal.dp_boolean),
    ]

    def __init__(self, column, prefix: str) -> None:
        self.column = column
        self.pattern = literal(_escape_like(prefix) + "%", String())
        self.lower = literal(prefix, String())
        # No next character after the last code point: the range falls back to LIKE.
        self.ranged = ord(prefix[-1]) < 0x10FFFF
        following = prefix[:-1] + chr(ord(prefix[-1]) + 1) if self.ranged else prefix
        self.upper = literal(following, String())


def _escape_like(text: str) -> str:
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


@compiles(StartsWith)
def _starts_with_like(element, compiler, **kw):
    return compiler.process(element.column.like(element.pattern, escape="/"), **kw)


@compiles(StartsWith, "sqlite")
def _starts_with_range(element, compiler, **kw):
    if not element.ranged:
        return _starts_with_like(element, compiler, **kw)
    column = element.column
    in_range = and_(column >= element.lower, column < element.upper)
    return compiler.process(in_range.self_group(), **kw)


def exact_number_clause(text: str):
    """The blind-index condition for a full mobile or ID-card number, else ``None``."""
    mobile = normalize_mobile(text)
    if not mobile_problem(mobile):
        return Resident.mobile_index == blind_index("mobile", mobile)
    id_number = normalize_id_number(text)
    if not id_number_problem(id_number):
        return Resident.id_number_index == blind_index("id_number", id_number)
    return None


def _in_estates(column, estate_ids: set[int] | None):
    return true() if estate_ids is None else column.in_(estate_ids)


def _unit_residents(text: str, estate_ids: set[int] | None) -> Select | None:
    parsed = parse_unit_label(text)
    if parsed is None:
        return None
    building, number = parsed
    return (
        select(Occupancy.resident_id)
        .join(Unit, Unit.id == Occupancy.unit_id)
        .join(Building, Building.id == Unit.building_id)
        .where(
            _in_estates(Building.estate_id, estate_ids),
            Building.name.in_(building_names(building)),
            Unit.number == number,
        )
    )


def _plate_owners(text: str, estate_ids: set[int] | None) -> Select | None:
    part = plate_part(text)
    if part is None:
        return None
    # A whole plate is one index entry; a part of one is looked for along the estate's
    # (estate_id, plate) index, which holds every plate of the estate.
    if plate_problem(part):
        plate = Vehicle.plate.contains(part, autoescape=True)
    else:
        plate = Vehicle.plate == part
    return select(Vehicle.owner_id).where(_in_estates(Vehicle.estate_id, estate_ids), plate)


def search_clause(query: str, estate_ids: set[int] | None, *, exact_numbers: bool = False):
    """A condition on ``Resident`` for what an office worker typed in the search box,
    inside ``estate_ids`` (``None``: every estate). With ``exact_numbers`` a full mobile or
    ID-card number is looked up by its blind index and nothing else; people's searches go
    through ``number_search.register_search``, which decides who may."""
    text = normalize_query(query)
    if not text or len(text) > MAX_QUERY:
        return false()
    scope = _in_estates(Resident.estate_id, estate_ids)
    number = exact_number_clause(text) if exact_numbers else None
    if number is not None:
        return and_(scope, number)
    found_by = (_unit_residents(text, estate_ids), _plate_owners(text, estate_ids))
    kinds = [k for k in found_by if k is not None]
    # Names have no digits: text with one is a name only when it is nothing else.
    name = None if kinds and any(c.isdigit() for c in text) else StartsWith(Resident.name, text)
    if not kinds:
        return and_(scope, name)
    if name is not None:
        kinds.append(select(Resident.id).where(scope, name))
    ids = kinds[0] if len(kinds) == 1 else union_all(*kinds)
    return and_(scope, Resident.id.in_(ids))


def matching_resident_ids(query: str, estate_ids: set[int] | None, *, exact_numbers: bool = False):
    """The same search as a select of resident ids (the export, the benchmarks)."""
    return select(Resident.id).where(search_clause(query, estate_ids, exact_numbers=exact_numbers))
