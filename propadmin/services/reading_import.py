"""Import meter readings from a sheet (.xlsx or .csv, read by register_sheet).

Every row goes through ``record_reading``, so a row is held to exactly the rules of the
admin form. All or nothing: the rows are written in the caller's transaction, and when
any row is wrong the report lists each problem (row, column, value, reason, as the
register import does) and the caller rolls the transaction back.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Meter, User

from ..permissions import scoped
from . import ServiceError
from .fee_setup import parse_reading
from .readings import first_reading_notice, meter_period, record_reading
from .register_rows import NO, YES
from .register_rows import _date as sheet_date
from .register_sheet import (
    INSTRUCTIONS_SHEET,
    MAX_ROWS,
    REQUIRED_MARK,
    SheetReport,
    column_labels,
)
from .register_template import _fit_to_page_width

# key, Chinese header, English header, required
COLUMNS: list[tuple[str, str, str, bool]] = [
    ("meter", "表号", "Meter", True),
    ("period", "账期", "Period", True),
    ("value", "读数", "Reading", True),
    ("read_on", "抄表日期", "Read on", True),
    ("replaced", "换表", "Replaced", False),
    ("old_final", "旧表止码", "Old meter final", False),
    ("new_start", "新表起码", "New meter start", False),
]
LABELS = column_labels(COLUMNS)
READINGS_SHEET = "抄表"
HELP = {
    "meter": "表号，与系统中登记的表号一致，如 W-1-101",
    "period": "账期：按月 2026-11，按季 2026-Q4，按年 2026（与收费项目的周期一致）",
    "value": "本次读数，如 1234.5",
    "read_on": "抄表日期，写作 2026-11-30",
    "replaced": "本期换过表时填 是，否则不填",
    "old_final": "换表时：旧表拆下时的读数",
    "new_start": "换表时：新表装上时的读数（通常为 0）",
}


@dataclass
class ReadingImport(SheetReport):
    """The import's report: what was written, or the problems (then roll back)."""

    labels: dict = field(default_factory=lambda: LABELS, repr=False)
    written: int = 0
    flagged: int = 0
    first: int = 0  # first readings of their meter (usage 0)


def import_readings(
    session: Session, rows, *, user: User, actor: User | None = None
) -> ReadingImport:
    """Record every row of a readings sheet (``rows`` as read_sheet yields them) for
    meters in the user's estates. When the report has errors, the caller must roll
    back: rows before the first bad one were written too."""
    report = ReadingImport()
    meters: dict[str, list[Meter]] = {}
    for meter in session.scalars(scoped(select(Meter), Meter, user)):
        meters.setdefault(meter.code, []).append(meter)
    count = 0
    for number, rec in rows:
        count += 1
        _import_row(session, report, meters, number, rec, actor or user)
    if count == 0:
        report.add_error(1, "", "", _("The sheet has a header but no rows."))
    return report


def _import_row(session, report, meters, number, rec, actor) -> None:
    code = rec.get("meter", "")
    found = meters.get(code, [])
    problems = []
    if not code:
        problems.append(("meter", code, _("Give the meter's number.")))
    elif not found:
        problems.append(("meter", code, _("No such meter in your estates.")))
    elif len(found) > 1:
        problems.append(
            ("meter", code, _("Several of your estates have a meter with this number."))
        )
    for key in ("period", "value", "read_on"):
        if not rec.get(key):
            problems.append((key, "", _("This column must be filled in.")))
    read_on = None
    if rec.get("read_on"):
        try:
            read_on = sheet_date(rec["read_on"])
        except ValueError:
            problems.append(("read_on", rec["read_on"], _("Write dates as 2026-03-01.")))
    # What can be told without the meter's history, told for every column at once.
    checks = [("value", parse_reading), ("old_final", parse_reading), ("new_start", parse_reading)]
    if len(found) == 1:
        checks.append(("period", lambda text, key: meter_period(found[0], text, key)))
    for key, check in checks:
        if rec.get(key):
            try:
                check(rec[key], key)
            except ServiceError as exc:
                problems.append((key, rec[key], exc.message))
    replaced_text = rec.get("replaced", "").lower()
    if replaced_text not in YES | NO:
        problems.append(("replaced", rec.get("replaced", ""), _("Write 是 or leave it empty.")))
    if problems:
        for key, value, reason in problems:
            report.add_error(number, key, value, reason)
        return
    try:
        reading = record_reading(
            session,
            found[0],
            rec["period"],
            rec["value"],
            read_on,
            actor=actor,
            replaced=replaced_text in YES,
            old_final=rec.get("old_final") or None,
            new_start=rec.get("new_start") or None,
        )
    except ServiceError as exc:
        key = exc.field if exc.field in LABELS else "value"
        report.add_error(number, key, rec.get(key, ""), exc.message)
        return
    report.written += 1
    report.flagged += reading.flagged
    report.first += first_reading_notice(reading) is not None


def template_xlsx(max_mb: int) -> bytes:
    """The readings sheet to fill in, after a sheet that explains its columns."""
    workbook = Workbook()
    guide = workbook.active
    guide.title = INSTRUCTIONS_SHEET
    guide.append(["抄表导入模板：填写说明"])
    guide["A1"].font = Font(bold=True, size=14)
    guide.append([f"请在“{READINGS_SHEET}”工作表中填写，每行是一块表在一个账期的读数。"])
    guide.append(["导入时先检查每一行，只要有一行有错就一行也不导入，并列出每个错误所在的行和列。"])
    guide.append([f"限制：文件不超过 {max_mb} MB，每个文件不超过 {MAX_ROWS} 行。"])
    guide.append([])
    guide.append(["列名", "必填", "说明"])
    for key, zh, _en, required in COLUMNS:
        guide.append([zh, "是" if required else "", HELP[key]])
    guide.column_dimensions["A"].width = 14
    guide.column_dimensions["C"].width = 60
    _fit_to_page_width(guide)
    data = workbook.create_sheet(READINGS_SHEET)
    data.append([f"{zh}{REQUIRED_MARK}" if req else zh for _k, zh, _en, req in COLUMNS])
    for index in range(1, len(COLUMNS) + 1):
        data.cell(row=1, column=index).font = Font(bold=True)
    data.freeze_panes = "A2"
    _fit_to_page_width(data, landscape=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
