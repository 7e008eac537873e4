"""The portal home screen's figures and lists, read in one statement.

The home screen is the page residents open most. It shows the units the resident lives in,
the first few bills still owed with the total, the newest notices with the unread count and
the number of repair requests being handled. Each of those was a statement of its own, and
on a served site every statement is a round trip to the database: this module asks for all
of them at once. Each list comes back as a JSON array (one object per row, aggregated by the
database: ``json_agg`` on PostgreSQL, ``json_group_array`` on SQLite), the counts as plain
columns. The rules are the ones every other portal page uses: ``bill_access.visible_clause``
for bills, ``notice_board`` (``notice_targets.visible_to``) for notices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

from sqlalchemy import JSON, Integer, bindparam, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.sql.visitors import InternalTraversal

from models import (
    OPEN_REPAIR_STATUSES,
    OPEN_STATUSES,
    Bill,
    BillStatus,
    Building,
    NoticeCategory,
    NoticePriority,
    Occupancy,
    Relation,
    RepairRequest,
    Resident,
    Unit,
    unit_label,
)

from . import notice_board
from .bill_access import _SEEN_BY, _SEEN_ON, visible_clause

# The home screen lists this many of the bills owed and of the notices.
BILLS_SHOWN = 5
HEADLINES_SHOWN = 3

_MONEY = Bill.__table__.c.amount.type  # fen in the database, Decimal yuan in Python
_AREA = Unit.__table__.c.area.type


class json_rows(GenericFunction):
    """Aggregate: a JSON array with one object per row, keyed by the columns' names."""

    type = JSON()
    inherit_cache = True


def _pairs(element, compiler, **kw) -> str:
    # The keys are this module's own column names, never user input.
    return ", ".join(f"'{c.key}', {compiler.process(c, **kw)}" for c in element.clauses)


@compiles(json_rows, "postgresql")
def _json_rows_postgresql(element, compiler, **kw):
    return f"json_agg(json_build_object({_pairs(element, compiler, **kw)}))"


@compiles(json_rows, "sqlite")
def _json_rows_sqlite(element, compiler, **kw):
    return f"json_group_array(json_object({_pairs(element, compiler, **kw)}))"


@dataclass(frozen=True)
class Home:
    """A unit the resident lives in now, as its tile shows it."""

    building: str
    number: str
    layout: str
    area: Decimal
    relation: Relation
    is_payer: bool


@dataclass(frozen=True)
class UnitName:
    label: str


@dataclass(frozen=True)
class OwedBill:
    """What a bill row (``portal/_bills.html``) shows of a bill still owed."""

    id: int
    period: str
    status: BillStatus
    owed: Decimal
    due_date: date
    unit: UnitName

    def is_overdue(self, today: date) -> bool:
        return self.status in OPEN_STATUSES and self.due_date < today


@dataclass(frozen=True)
class HomeScreen:
    homes: list[Home]
    bills: list[OwedBill]  # the first BILLS_SHOWN owed, the oldest due first
    owed_total: Decimal  # of every bill owed
    headlines: list[notice_board.Item]
    unread_notices: int
    open_repairs: int


ZERO = Decimal("0.00")
EMPTY = HomeScreen([], [], ZERO, [], 0, 0)


def _each(column, values):
    """``values`` as one bound parameter each, for ``column.in_()``: a list of plain values
    is one "expanding" parameter, which SQLAlchemy writes into the statement's text again
    on every execution."""
    return [literal(value, column.type) for value in values]


def _position(*order):
    return func.row_number().over(order_by=order).label("pos")


class _Written(ColumnElement):
    """A constant of the statement written into its SQL, as its type writes a literal."""

    inherit_cache = True
    _traverse_internals = [
        ("value", InternalTraversal.dp_plain_obj),
        ("type", InternalTraversal.dp_type),
    ]

    def __init__(self, value, type_) -> None:
        self.value = value
        self.type = type_


@compiles(_Written)
def _written(element, compiler, **kw):
    return compiler.render_literal_value(element.value, element.type)


_CLOCK = frozenset(("seen_by", "seen_on", "seen_at"))


def _constants_written(statement):
    """``statement`` with every bound constant (a status, a relation, a priority, a limit:
    our own values, never a reader's) written into the SQL, so that only the clock
    (``reader_clock``) is bound. Each bound value costs the driver and the database on
    every request: with the statement's twenty-six constants written in, PostgreSQL runs
    it in about 0.28 ms instead of 0.35 (through the driver, on the demo estate)."""

    def written(element):
        if not isinstance(element, BindParameter) or element.key in _CLOCK:
            return None
        value = getattr(element.value, "value", element.value)  # an enum member: its code
        if type(value) not in (int, str) or element.callable is not None:
            return None
        return _Written(element.value, element.type)

    return visitors.replacement_traverse(statement, {}, written)


@cache
def _statement():
    """Built once; the resident, their estate's day and the moment are bind parameters,
    every other value is written into the SQL (``_constants_written``)."""
    homes = (
        select(
            Occupancy.start_date.label("start"),
            Occupancy.end_date.label("end"),
            Occupancy.relation.label("relation"),
            Occupancy.is_payer.label("payer"),
            Building.name.label("building"),
            Unit.number.label("number"),
            Unit.layout.label("layout"),
            Unit.area.label("area"),
            _position(Occupancy.id),
        )
        .join(Unit, Occupancy.unit_id == Unit.id)
        .join(Building, Unit.building_id == Building.id)
        .where(Occupancy.resident_id == _SEEN_BY)
        .subquery()
    )
    owed = Bill.amount - Bill.discount + Bill.late_fee - Bill.paid
    order = (Bill.due_date, Bill.period, Bill.id)
    bills = (
        select(
            Bill.id.label("id"),
            Bill.period.label("period"),
            Bill.status.label("status"),
            owed.label("owed"),
            func.sum(owed).over().label("total"),  # of every bill owed: taken before LIMIT
            Bill.due_date.label("due"),
            Building.name.label("building"),
            Unit.number.label("number"),
            _position(*order),
        )
        .join(Unit, Bill.unit_id == Unit.id)
        .join(Building, Unit.building_id == Building.id)
        .where(
            visible_clause(_SEEN_BY, _SEEN_ON),
            Bill.status.in_(_each(Bill.status, OPEN_STATUSES)),
        )
        .order_by(*order)
        .limit(BILLS_SHOWN)
        .offset(0)  # written in too: SQLite's compiler binds an OFFSET that is left out
        .subquery()
    )
    headlines = notice_board.headline_rows(HEADLINES_SHOWN).offset(0).subquery()
    return _constants_written(
        select(
            select(json_rows(*homes.c)).scalar_subquery(),
            select(json_rows(*bills.c)).scalar_subquery(),
            select(json_rows(*headlines.c)).scalar_subquery(),
            select(func.count(RepairRequest.id))
            .where(
                RepairRequest.reporter_id == bindparam("seen_by", type_=Integer),
                RepairRequest.status.in_(_each(RepairRequest.status, OPEN_REPAIR_STATUSES)),
            )
            .scalar_subquery(),
        )
    )


def _in_order(rows) -> list[dict]:
    return sorted(rows or [], key=lambda row: row["pos"])


def _day(value) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _is_current(row: dict, today: date) -> bool:
    """``Occupancy.is_current`` (the server's day, as every other page has it)."""
    start, end = _day(row["start"]), _day(row["end"])
    return (start is None or start <= today) and (end is None or end >= today)


def home_screen(session: Session, resident: Resident | None) -> HomeScreen:
    """Everything the home screen shows of ``resident``'s home, in one statement."""
    if resident is None:
        return EMPTY
    clock = notice_board.reader_clock(resident)
    # A plain Core statement: run on the session's connection, past the ORM's handling of
    # entities it does not return.
    homes, bills, headlines, repairs = session.connection().execute(_statement(), clock).one()
    server_today = date.today()
    bills, headlines = _in_order(bills), _in_order(headlines)
    return HomeScreen(
        homes=[
            Home(
                building=row["building"],
                number=row["number"],
                layout=row["layout"],
                area=_AREA.process_result_value(row["area"], None),
                relation=Relation(row["relation"]),
                is_payer=bool(row["payer"]),
            )
            for row in _in_order(homes)
            if _is_current(row, server_today)
        ],
        bills=[
            OwedBill(
                id=row["id"],
                period=row["period"],
                status=BillStatus(row["status"]),
                owed=_MONEY.process_result_value(row["owed"], None),
                due_date=_day(row["due"]),
                unit=UnitName(unit_label(row["building"], row["number"])),
            )
            for row in bills
        ],
        owed_total=_MONEY.process_result_value(bills[0]["total"], None) if bills else ZERO,
        headlines=[
            notice_board.Item(
                notice_board.Headline(
                    row["id"],
                    row["title"],
                    NoticePriority(row["priority"]),
                    NoticeCategory(row["category"]),
                ),
                bool(row["is_unread"]),
            )
            for row in headlines
        ],
        unread_notices=int(headlines[0]["unread"] or 0) if headlines else 0,
        open_repairs=repairs or 0,
    )
