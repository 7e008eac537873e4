"""Exports of the register: streamed row by row, masked, and neutralized against
spreadsheet formula injection. The masked numbers are read from their own columns:
an export decrypts nothing."""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import Building, Estate, Occupancy, Resident, Unit, unit_label

FORMULA_START = ("=", "+", "-", "@")
CONTROL_CHARACTERS = "".join(chr(c) for c in range(0x20)) + "\x7f"
# Spreadsheets skip these before they look for a formula, so "  =1+1" is one too.
SKIPPED_BEFORE_FORMULA = CONTROL_CHARACTERS + " \u00a0\u3000"
# A cell whose first character is none of these is safe as it is (the common case).
RISKY_FIRST = frozenset(SKIPPED_BEFORE_FORMULA + "".join(FORMULA_START))
BATCH = 1000  # residents read at a time


def neutralize(value) -> str:
    """Text a spreadsheet shows as text: a cell that would start a formula, even after
    leading spaces or control characters, or that starts with a control character, gets
    a leading apostrophe (OWASP's advice for CSV injection)."""
    text = "" if value is None else str(value)
    if not text or text[0] not in RISKY_FIRST:
        return text
    if text.startswith(tuple(CONTROL_CHARACTERS)) or text.lstrip(SKIPPED_BEFORE_FORMULA).startswith(
        FORMULA_START
    ):
        return "'" + text
    return text


def csv_stream(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    """CSV text in chunks, with a BOM so that Excel reads the Chinese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield codecs.BOM_UTF8.decode("utf-8")
    writer.writerow([neutralize(h) for h in header])
    for i, row in enumerate(rows, start=1):
        writer.writerow([neutralize(v) for v in row])
        if i % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def xlsx_file(header: list[str], rows: Iterable[list]):
    """An .xlsx written row by row (openpyxl's write-only mode) to a temporary file;
    returns the open file, positioned at the start."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()

    def cells(values):
        out = []
        for value in values:
            # An .xlsx cannot hold most control characters; drop them after neutralizing.
            text = ILLEGAL_CHARACTERS_RE.sub("", neutralize(value))
            cell = WriteOnlyCell(sheet, value=text)
            cell.data_type = "s"  # always text: nothing in it is evaluated
            out.append(cell)
        return out

    sheet.append(cells(header))
    for row in rows:
        sheet.append(cells(row))
    handle = tempfile.TemporaryFile()
    workbook.save(handle)
    handle.seek(0)
    return handle


def resident_export(
    session: Session,
    estate_ids: set[int] | None,
    search: str | None = None,
    *,
    matching=None,
):
    """Header and streamed rows of the resident list, masked. The admin's export and
    ``flask residents export`` both use it. ``matching`` (a select of resident ids,
    the admin's checked search) takes the place of ``search``.

    Rows are read as plain tuples in batches of 1,000 (no ORM objects), with one more
    query per batch for the residents' current units, so memory stays flat. The numbers
    come from their masked columns: nothing is decrypted.
    """
    from .residents import matching_resident_ids

    header = [
        _("Name"),
        _("Units"),
        _("Mobile"),
        _("ID-card number"),
        _("E-mail"),
        _("Emergency contact"),
        _("Estate"),
    ]
    query = (
        select(
            Resident.id,
            Resident.name,
            Resident.mobile_masked,
            Resident.id_number_masked,
            Resident.email,
            Resident.emergency_contact,
            Estate.name,
        )
        .join(Estate, Estate.id == Resident.estate_id)
        .order_by(Resident.name, Resident.id)
    )
    if estate_ids is not None:
        query = query.where(Resident.estate_id.in_(estate_ids))
    if matching is not None:
        query = query.where(Resident.id.in_(matching))
    elif search:
        query = query.where(Resident.id.in_(matching_resident_ids(search, estate_ids)))

    def current_units(resident_ids: list[int]) -> dict[int, list[str]]:
        today = date.today()
        units: dict[int, list[str]] = {}
        for resident_id, building, number in session.connection().execute(
            select(Occupancy.resident_id, Building.name, Unit.number)
            .join(Unit, Unit.id == Occupancy.unit_id)
            .join(Building, Building.id == Unit.building_id)
            .where(
                Occupancy.resident_id.in_(resident_ids),
                or_(Occupancy.start_date.is_(None), Occupancy.start_date <= today),
                or_(Occupancy.end_date.is_(None), Occupancy.end_date >= today),
            )
            .order_by(Occupancy.id)
        ):
            units.setdefault(resident_id, []).append(unit_label(building, number))
        return units

    def rows():
        # Plain rows from the session's connection (no ORM row processing), streamed.
        connection = session.connection()
        result = connection.execution_options(yield_per=BATCH).execute(query)
        for batch in result.partitions(BATCH):
            units = current_units([r[0] for r in batch])
            for resident_id, name, mobile, id_number, email, contact, estate in batch:
                yield (
                    name,
                    "、".join(units.get(resident_id, ())),
                    mobile,
                    id_number,
                    email,
                    contact,
                    estate,
                )

    return header, rows()
