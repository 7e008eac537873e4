"""Import the register from a sheet (see register_sheet for its format).

Rows are read as a stream and checked in batches (register_rows checks a row on its
own, ``_Checker`` what needs the other rows and the estate's data, with one query per
batch); ``import_sheet`` writes each batch set-based as soon as it is checked
(register_write), inside a savepoint that is rolled back if any row has a problem, so
nothing is written unless every row is right. The report names row, column, value and
reason. Memory stays bounded: only the first rows and problems are kept, and per row of
the sheet what the checks across rows need (its ID-card blind index, plate, new unit).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Building, Estate, Resident, Unit, Vehicle

from ..bulk import bulk_load, without_cycle_collection
from ..crypto import mask_id_number, mask_mobile
from . import ServiceError
from .fields import CONTROL_CHARACTERS_RE
from .identifiers import blind_indexer
from .register_row_reader import RowReader
from .register_rows import Problem, SheetRow
from .register_sheet import MAX_REPORTED, RowError, SheetReport
from .register_template import is_template_example
from .register_write import RegisterWriter
from .residents import clean_plate

log = logging.getLogger(__name__)

SENSITIVE_KEYS = {
    "id_number": mask_id_number,
    "mobile": mask_mobile,
    "emergency_phone": mask_mobile,
}
BATCH_ROWS = 2000  # rows checked, then written, together
KEPT_ROWS = 20  # valid rows the plan keeps to show
__all__ = ["MAX_REPORTED", "ImportPlan", "RowError", "import_sheet", "plan_import"]


@dataclass
class ImportPlan(SheetReport):
    """What a sheet holds, or the problems that stop the import (a SheetReport, with
    ID-card and mobile numbers masked). ``imported`` once its rows are written."""

    rows: list[SheetRow] = field(default_factory=list)  # the first KEPT_ROWS valid rows
    valid: int = 0  # rows without a problem, up to the first problem
    new_units: int = 0
    residents: int = 0
    vehicles: int = 0
    examples: list[int] = field(default_factory=list)  # rows that are the template's example
    imported: bool = False
    masks: dict = field(default_factory=lambda: SENSITIVE_KEYS, repr=False)


@dataclass
class _SheetSoFar:
    """What the rows read so far bring: ID-card numbers (index → row, name), plates
    (→ row) and the units they create. The estate's own data is read batch by batch;
    what the import itself wrote is told apart by being in here."""

    ids: dict[str, tuple[int, str]] = field(default_factory=dict)
    plates: dict[str, int] = field(default_factory=dict)
    new_units: set[tuple[str, str]] = field(default_factory=set)


def plan_import(session: Session, estate: Estate, rows: Iterable[tuple[int, dict]]) -> ImportPlan:
    """Check every row against the rules and the estate's data; write nothing.

    Problems are counted in full but listed only up to MAX_REPORTED. The template's
    example row, left as it was, is skipped (listed in ``examples``).
    """
    with without_cycle_collection():
        return _check_all(session, estate, rows, None, None)


def import_sheet(
    session: Session,
    estate: Estate,
    rows: Iterable[tuple[int, dict]],
    progress: Callable[[int], None] | None = None,
) -> ImportPlan:
    """Check every row and write them batch by batch; if any row has a problem, nothing
    is written (``imported`` stays False) and the plan reports every problem.
    ``progress(n)`` is told of each batch of n rows read."""
    savepoint = session.begin_nested()
    try:
        with bulk_load(session.connection()), without_cycle_collection():
            plan = _check_all(session, estate, rows, RegisterWriter(session, estate), progress)
    except BaseException:
        savepoint.rollback()
        raise
    if plan.problems:
        savepoint.rollback()
        return plan
    savepoint.commit()
    plan.imported = True
    log.info("imported %d residents into %s", plan.residents, estate.name)
    return plan


def _check_all(session, estate, rows, writer: RegisterWriter | None, progress) -> ImportPlan:
    plan = ImportPlan()
    checker = _Checker(session, estate)
    count = 0
    for batch in _batches(rows, plan):
        count += len(batch)
        checked = checker.check(batch)
        for row in checked:
            for problem in row.problems:
                plan.add_error(row.number, problem.key, problem.value, problem.reason)
            if not plan.problems:
                _count(plan, row, checker.seen)
        if writer is not None and not plan.problems:
            writer.write(checked)
        if progress:
            progress(len(batch))
    if count == 0 and plan.examples:
        plan.add_error(
            plan.examples[0],
            "",
            "",
            _("This is the template's example row, which is not imported: add your own rows."),
        )
    elif count == 0:
        plan.add_error(1, "", "", _("The sheet has a header but no rows."))
    plan.new_units = len(checker.seen.new_units)
    return plan


def _batches(rows: Iterable[tuple[int, dict]], plan: ImportPlan) -> Iterator[list]:
    """The sheet's rows in lists of BATCH_ROWS, without the template's example."""
    batch: list[tuple[int, dict]] = []
    for number, rec in rows:
        if is_template_example(rec):
            plan.examples.append(number)
            continue
        batch.append((number, rec))
        if len(batch) == BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def _count(plan: ImportPlan, row: SheetRow, seen: _SheetSoFar) -> None:
    plan.valid += 1
    if len(plan.rows) < KEPT_ROWS:
        plan.rows.append(row)
    # one resident per ID-card number (its first row), and per row without one
    if row.id_index is None or seen.ids[row.id_index][0] == row.number:
        plan.residents += 1
    plan.vehicles += bool(row.plate)


class _Checker:
    """Checks batches of rows; reads what it needs of the estate once per batch."""

    def __init__(self, session: Session, estate: Estate) -> None:
        self.session = session
        self.estate_id = estate.id
        self.buildings = set(
            session.scalars(select(Building.name).where(Building.estate_id == estate.id))
        )
        self.seen = _SheetSoFar()
        self.reader = RowReader(session, estate.id, self.buildings)

    def check(self, batch: list[tuple[int, dict]]) -> list[SheetRow]:
        plates = self._registered_plates(batch)
        self.reader.new_batch()
        read = self.reader.read
        rows = [read(n, rec, plates) for n, rec in batch]
        index = blind_indexer("id_number")
        for row in rows:
            if row.details is not None and row.details.id_number:
                row.id_index = index(row.details.id_number)
        ids = self._registered_ids(rows)
        units = self._units(rows)
        for row, (_n, rec) in zip(rows, batch, strict=True):
            row.problems += _unit_problems(row, rec, units, self.seen)
            row.problems += _id_number_problems(row, ids, self.seen)
            row.problems += _plate_problems(row, self.seen)
        return rows

    def _registered_plates(self, batch) -> set[str]:
        """The batch's plates that the estate had before this import."""
        plates = set()
        for _n, rec in batch:
            if not rec.get("plate"):
                continue
            try:
                plates.add(clean_plate(rec["plate"]))
            except ServiceError:
                continue
        plates -= self.seen.plates.keys()
        if not plates:
            return set()
        return set(
            self.session.scalars(
                select(Vehicle.plate).where(
                    Vehicle.estate_id == self.estate_id, Vehicle.plate.in_(list(plates))
                )
            )
        )

    def _registered_ids(self, rows: list[SheetRow]) -> set[str]:
        """The batch's ID-card numbers (blind indexes) that the estate had before."""
        indexes = {r.id_index for r in rows if r.id_index} - self.seen.ids.keys()
        if not indexes:
            return set()
        return set(
            self.session.scalars(
                select(Resident.id_number_index).where(
                    Resident.estate_id == self.estate_id,
                    Resident.id_number_index.in_(list(indexes)),
                )
            )
        )

    def _units(self, rows: list[SheetRow]) -> set[tuple[str, str]]:
        """The batch's units that the estate has. A building or unit holding a control
        character is no stored unit (its row reports it), and is not sent: PostgreSQL
        refuses NUL even in a query's parameters."""
        keys = {
            r.unit_key for r in rows if not CONTROL_CHARACTERS_RE.search(r.building + r.unit)
        }
        if not keys:
            return set()
        found = self.session.execute(
            select(Building.name, Unit.number)
            .join(Building, Building.id == Unit.building_id)
            .where(
                Building.estate_id == self.estate_id,
                Building.name.in_(list({b for b, _u in keys})),
                Unit.number.in_(list({u for _b, u in keys})),
            )
        )
        return {tuple(key) for key in found} & keys


def _unit_problems(
    row: SheetRow, rec: dict, units: set[tuple[str, str]], seen: _SheetSoFar
) -> list[Problem]:
    """A unit must exist, or be created from the area given in its first row."""
    key = row.unit_key
    if not all(key) or key in units or key in seen.new_units:
        return []
    if row.area is not None:
        seen.new_units.add(key)
    elif not rec.get("area"):
        return [
            Problem(
                "unit",
                f"{row.building}-{row.unit}",
                _("There is no such unit; give its area to create it."),
            )
        ]
    return []


def _id_number_problems(row: SheetRow, registered: set[str], seen: _SheetSoFar) -> list[Problem]:
    """An ID-card number is new to the estate, and within the sheet it is one person's
    (several rows of one person, one per unit, are fine)."""
    if row.id_index is None:
        return []
    value = row.details.id_number
    if row.id_index in registered:
        return [
            Problem(
                "id_number",
                value,
                _("A resident with this ID-card number is already registered."),
            )
        ]
    first = seen.ids.setdefault(row.id_index, (row.number, row.details.name))
    if first[1] != row.details.name:
        return [
            Problem(
                "id_number",
                value,
                _("Row %(row)d has this ID-card number with another name.", row=first[0]),
            )
        ]
    return []


def _plate_problems(row: SheetRow, seen: _SheetSoFar) -> list[Problem]:
    if row.plate is None:
        return []
    first = seen.plates.setdefault(row.plate, row.number)
    if first != row.number:
        return [Problem("plate", row.plate, _("Row %(row)d has the same plate.", row=first))]
    return []
