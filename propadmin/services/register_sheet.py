"""The register sheet as an office keeps it: its columns, and reading .xlsx and .csv
(UTF-8 or the GBK that Excel in China writes). The template is register_template.py.

Sheets come from outside, so reading is bounded: the unpacked size is checked before a
workbook is opened, rows are read lazily and reading stops at a row cap, and anything
the file format itself gets wrong is a SheetError, never an exception from the parser.
"""

from __future__ import annotations

import csv
import io
import logging
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _

from . import ServiceError

log = logging.getLogger(__name__)

MAX_ROWS = 20_000  # rows with data in an upload; a large estate has a few thousand units
CLI_MAX_ROWS = 200_000  # on the command line: a company's whole register in one file
ROW_NUMBER_FACTOR = 5  # empty rows count too: a reader walks every one
MAX_COLUMNS = 64  # the template has 18; cells further right are not read
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
MAX_REPORTED = 200  # problems listed in full; the rest are counted
MAX_SHOWN_VALUE = 40  # characters of a bad value repeated in the report

# key, Chinese header (what the template carries), English header, required
COLUMNS: list[tuple[str, str, str, bool]] = [
    ("building", "楼栋", "Building", True),
    ("unit", "房号", "Unit", True),
    ("area", "面积", "Area", False),
    ("layout", "户型", "Layout", False),
    ("name", "姓名", "Name", True),
    ("id_number", "身份证号", "ID-card number", False),
    ("mobile", "手机号", "Mobile", False),
    ("relation", "关系", "Relation", True),
    ("start_date", "起始日期", "Start date", False),
    ("end_date", "结束日期", "End date", False),
    ("is_payer", "缴费人", "Pays the bills", False),
    ("email", "电子邮箱", "E-mail", False),
    ("emergency_contact", "紧急联系人", "Emergency contact", False),
    ("emergency_phone", "紧急联系电话", "Emergency phone", False),
    ("plate", "车牌号", "Licence plate", False),
    ("brand", "车辆品牌", "Vehicle brand", False),
    ("colour", "车辆颜色", "Vehicle colour", False),
    ("notes", "备注", "Notes", False),
]
# The template's sheets: the instructions come first, the rows are on DATA_SHEET.
INSTRUCTIONS_SHEET = "填写说明"
DATA_SHEET = "住户"
REQUIRED_MARK = "*"  # after a required column's header in the template
Columns = Sequence[tuple[str, str, str, bool]]


def header_keys(columns: Columns) -> dict[str, str]:
    """Every header a column may carry (Chinese, English, its key), lower-cased → key."""
    return {h.lower(): key for key, zh, en, _req in columns for h in (zh, en, key)}


def column_labels(columns: Columns) -> dict[str, str]:
    return {key: zh for key, zh, _en, _req in columns}


HEADER_TO_KEY = header_keys(COLUMNS)
COLUMN_LABEL = column_labels(COLUMNS)


@dataclass
class RowError:
    row: int
    column: str
    value: str
    reason: str


@dataclass
class SheetReport:
    """What is wrong with a sheet, row by row: the first MAX_REPORTED problems, and
    ``problems``, how many there are in all. Every import of a sheet reports this way."""

    errors: list[RowError] = field(default_factory=list)
    problems: int = 0
    # The sheet's columns (key → header shown) and, per key, how a value is masked.
    labels: dict[str, str] = field(default_factory=lambda: COLUMN_LABEL, repr=False)
    masks: dict[str, Callable[[str], str]] = field(default_factory=dict, repr=False)

    @property
    def unreported(self) -> int:
        return self.problems - len(self.errors)

    def add_error(self, row: int, key: str, value: str, reason: str) -> None:
        """Count a problem, and list it (masked and shortened) while there is room."""
        self.problems += 1
        if len(self.errors) >= MAX_REPORTED:
            return
        if key in self.masks and value:
            value = self.masks[key](value)
        if len(value) > MAX_SHOWN_VALUE:
            value = value[:MAX_SHOWN_VALUE] + "…"
        self.errors.append(RowError(row, self.labels.get(key, key), value, reason))


class SheetError(ServiceError):
    """The file itself cannot be read (wrong type, no header, unknown columns)."""


def read_sheet(
    stream, filename: str, columns: Columns = COLUMNS, max_rows: int | None = None
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (row number as the office sees it, {key: text}) for each non-empty row of a
    sheet with these ``columns`` (the register's unless told), up to ``max_rows`` rows
    (MAX_ROWS unless told)."""
    max_rows = max_rows or MAX_ROWS
    max_row_number = ROW_NUMBER_FACTOR * max_rows
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        rows = _xlsx_rows(stream)
    elif name.endswith(".csv"):
        rows = _csv_rows(stream)
    else:
        raise SheetError(_("Upload an .xlsx or .csv file (got %(name)s).", name=filename))
    try:
        header = next(rows)
    except StopIteration:
        raise SheetError(_("The sheet is empty.")) from None
    to_key, labels = header_keys(columns), column_labels(columns)
    keys = []
    unknown = []
    for cell in header:
        title = str(cell or "").strip()
        key = to_key.get(title.rstrip(REQUIRED_MARK + "＊ ").lower())
        if title and key is None:
            unknown.append(title)
        keys.append(key)
    if unknown:
        raise SheetError(
            _("Unknown columns: %(names)s. Use the template's headers.", names="、".join(unknown))
        )
    missing = [labels[k] for k, _zh, _en, req in columns if req and k not in keys]
    if missing:
        raise SheetError(_("Missing columns: %(names)s.", names="、".join(missing)))
    count = 0
    for number, values in enumerate(rows, start=2):
        if number > max_row_number:
            raise SheetError(
                _(
                    "The sheet goes on to row %(n)d; delete the empty rows below the data.",
                    n=max_row_number,
                )
            )
        record = {
            key: value.strip() if type(value) is str else _text(value)
            for key, value in zip(keys, values, strict=False)
            if key
        }
        if any(record.values()):
            count += 1
            if count > max_rows:
                raise SheetError(
                    _(
                        "The sheet has more than %(n)d rows; split it into several files.",
                        n=max_rows,
                    )
                )
            yield number, record


def _text(value) -> str:
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _xlsx_rows(stream) -> Iterator[tuple]:
    from openpyxl import load_workbook

    _check_unpacked_size(stream)
    # openpyxl raises whatever its parser meets in a damaged or hostile file (a missing
    # part, a bad shared-string index, an entity declaration refused by defusedxml…):
    # for the person uploading it, each is the same unreadable file.
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
        # The template's instructions come first; the rows are on the next sheet.
        worksheet = next(
            (ws for ws in workbook.worksheets if ws.title != INSTRUCTIONS_SHEET),
            workbook.worksheets[0],
        )
        # The stored dimension may be wrong either way; read the rows that are there.
        worksheet.reset_dimensions()
    except Exception as exc:
        log.info("unreadable workbook: %r", exc)
        raise SheetError(_("This file is not a readable .xlsx workbook.")) from exc
    try:
        yield from worksheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
    except Exception as exc:
        log.info("unreadable workbook: %r", exc)
        raise SheetError(_("This file is not a readable .xlsx workbook.")) from exc
    finally:
        workbook.close()


def _check_unpacked_size(stream) -> None:
    """Refuse a workbook that unpacks to more than MAX_UNPACKED_BYTES (a zip bomb)
    before any of it is unpacked. The declared sizes are binding: zipfile stops
    reading a member at its declared size."""
    try:
        with zipfile.ZipFile(stream) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise SheetError(_("This file is not a readable .xlsx workbook.")) from exc
    if unpacked > MAX_UNPACKED_BYTES:
        raise SheetError(_too_large())
    stream.seek(0)


def _too_large() -> str:
    return _(
        "The sheet is over %(mb)d MB unpacked; split it into several files.",
        mb=MAX_UNPACKED_BYTES // (1024 * 1024),
    )


def _csv_rows(stream) -> Iterator[list[str]]:
    raw = stream.read(MAX_UNPACKED_BYTES + 1)
    if len(raw) > MAX_UNPACKED_BYTES:
        raise SheetError(_too_large())
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SheetError(_("The CSV file is neither UTF-8 nor GBK text."))
    try:
        yield from csv.reader(io.StringIO(text, newline=""))
    except csv.Error as exc:
        raise SheetError(_("This CSV file cannot be read: %(reason)s", reason=exc)) from exc
