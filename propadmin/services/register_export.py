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
from itertools import chain, groupby, islice
from operator import itemgetter

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from models import Building, Estate, Occupancy, Resident, Unit, unit_label

FORMULA_START = ("=", "+", "-", "@")
CONTROL_CHARACTERS = "".join(chr(c) for c in range(0x20)) + "\x7f"
# Spreadsheets skip these before they look for a formula, so "  =1+1" is one too.
SKIPPED_BEFORE_FORMULA = CONTROL_CHARACTERS + " \u00a0\u3000"
# A cell whose first character is none of these is safe as it is (the common case).
RISKY_FIRST = frozenset(SKIPPED_BEFORE_FORMULA + "".join(FORMULA_START))
BATCH = 1000  # rows read at a time


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
    """CSV text in chunks of 500 rows, with a BOM so that Excel reads the Chinese
    correctly. Text that cannot start a formula (most cells) is written as it is."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield codecs.BOM_UTF8.decode("utf-8")
    writer.writerow([neutralize(h) for h in header])
    rows = iter(rows)
    while chunk := list(islice(rows, 500)):
        writer.writerows(
            [v if type(v) is str and v and v[0] not in RISKY_FIRST else neutralize(v) for v in row]
            for row in chunk
        )
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

    One statement, streamed in batches of 1,000 plain rows (no ORM objects), so memory
    stays flat: each resident with their current units joined, one row per unit, in
    order. The numbers come from their masked columns: nothing is decrypted.
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
    today = date.today()
    current = and_(
        Occupancy.resident_id == Resident.id,
        or_(Occupancy.start_date.is_(None), Occupancy.start_date <= today),
        or_(Occupancy.end_date.is_(None), Occupancy.end_date >= today),
    )
    query = (
        select(
            Resident.id,
            Resident.name,
            Resident.mobile_masked,
            Resident.id_number_masked,
            Resident.email,
            Resident.emergency_contact,
            Estate.name,
            Building.name,
            Unit.number,
        )
        .join(Estate, Estate.id == Resident.estate_id)
        .outerjoin(Occupancy, current)
        .outerjoin(Unit, Unit.id == Occupancy.unit_id)
        .outerjoin(Building, Building.id == Unit.building_id)
        .order_by(Resident.name, Resident.id, Occupancy.id)
    )
    if estate_ids is not None:
        query = query.where(Resident.estate_id.in_(estate_ids))
    if matching is not None:
        query = query.where(Resident.id.in_(matching))
    elif search:
        query = query.where(Resident.id.in_(matching_resident_ids(search, estate_ids)))

    def rows():
        result = session.connection().execute(query.execution_options(yield_per=BATCH))
        for _id, group in groupby(result, key=itemgetter(0)):
            first = next(group)
            units = [unit_label(b, n) for *_r, b, n in chain((first,), group) if b is not None]
            yield (first[1], "、".join(units), *first[2:7])

    return header, rows()
