"""Import the register from a sheet laid out as an office keeps it, and export lists.

Import validates every row first and writes nothing unless every row is right; the
report names row, column, value and reason. Exports are streamed row by row, masked by
the caller's formatters, and neutralized against spreadsheet formula injection.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import (
    Building,
    Estate,
    Occupancy,
    Relation,
    Resident,
    Unit,
    UnitUse,
    Vehicle,
    unit_label,
)

from ..crypto import mask_id_number, mask_mobile
from . import ServiceError
from .identity import blind_index
from .residents import (
    RegisterError,
    ResidentDetails,
    check_details,
    clean_plate,
)

log = logging.getLogger(__name__)

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
HEADER_TO_KEY = {h.lower(): key for key, zh, en, _req in COLUMNS for h in (zh, en, key)}
COLUMN_LABEL = {key: zh for key, zh, _en, _req in COLUMNS}
RELATIONS = {
    "业主": Relation.owner,
    "owner": Relation.owner,
    "租户": Relation.tenant,
    "tenant": Relation.tenant,
    "家庭成员": Relation.family,
    "家属": Relation.family,
    "family": Relation.family,
}
YES = {"是", "y", "yes", "true", "1", "√"}
NO = {"否", "n", "no", "false", "0", ""}
SENSITIVE_KEYS = {
    "id_number": mask_id_number,
    "mobile": mask_mobile,
    "emergency_phone": mask_mobile,
}
MAX_ROWS = 100_000


class SheetError(ServiceError):
    """The file itself cannot be read (wrong type, no header, unknown columns)."""


@dataclass
class RowError:
    row: int
    column: str
    value: str
    reason: str


@dataclass
class ImportPlan:
    rows: list[dict] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    new_units: int = 0
    residents: int = 0
    vehicles: int = 0


@dataclass
class ImportResult:
    residents: int
    occupancies: int
    vehicles: int
    units: int


# -- reading ------------------------------------------------------------------------
def read_sheet(stream, filename: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (row number as the office sees it, {key: text}) for each non-empty row."""
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
    keys = []
    unknown = []
    for cell in header:
        title = str(cell or "").strip()
        key = HEADER_TO_KEY.get(title.lower())
        if title and key is None:
            unknown.append(title)
        keys.append(key)
    if unknown:
        raise SheetError(
            _("Unknown columns: %(names)s. Use the template's headers.", names="、".join(unknown))
        )
    missing = [COLUMN_LABEL[k] for k, _zh, _en, req in COLUMNS if req and k not in keys]
    if missing:
        raise SheetError(_("Missing columns: %(names)s.", names="、".join(missing)))
    for number, values in enumerate(rows, start=2):
        record = {}
        for key, value in zip(keys, values, strict=False):
            if key:
                record[key] = _text(value)
        if any(record.values()):
            yield number, record


def _text(value) -> str:
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
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError) as exc:
        raise SheetError(_("This file is not a readable .xlsx workbook.")) from exc
    try:
        yield from workbook.worksheets[0].iter_rows(values_only=True)
    finally:
        workbook.close()


def _csv_rows(stream) -> Iterator[list[str]]:
    raw = stream.read()
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SheetError(_("The CSV file is neither UTF-8 nor GBK text."))
    yield from csv.reader(io.StringIO(text))


# -- validating -----------------------------------------------------------------------
def _date(value: str) -> date | None:
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(value)


def plan_import(session: Session, estate: Estate, rows: Iterable[tuple[int, dict]]) -> ImportPlan:
    """Check every row against the rules and the estate's data; write nothing."""
    plan = ImportPlan()
    units = {
        (b_name, number): unit_id
        for unit_id, b_name, number in session.execute(
            select(Unit.id, Building.name, Unit.number)
            .join(Building, Building.id == Unit.building_id)
            .where(Building.estate_id == estate.id)
        )
    }
    buildings = {
        name: b_id
        for b_id, name in session.execute(
            select(Building.id, Building.name).where(Building.estate_id == estate.id)
        )
    }
    known_ids = set(
        session.scalars(
            select(Resident.id_number_index).where(
                Resident.estate_id == estate.id, Resident.id_number_index.is_not(None)
            )
        )
    )
    known_plates = set(session.scalars(select(Vehicle.plate).where(Vehicle.estate_id == estate.id)))
    sheet_ids: dict[str, tuple[int, str]] = {}
    sheet_plates: dict[str, int] = {}
    new_units: set[tuple[str, str]] = set()

    def err(row: int, key: str, value: str, reason: str) -> None:
        shown = SENSITIVE_KEYS[key](value) if key in SENSITIVE_KEYS and value else value
        plan.errors.append(RowError(row, COLUMN_LABEL.get(key, key), shown, reason))

    count = 0
    for number, rec in rows:
        count += 1
        if count > MAX_ROWS:
            err(number, "name", "", _("A sheet may hold at most %(n)d rows.", n=MAX_ROWS))
            break
        before = len(plan.errors)
        for key, _zh, _en, required in COLUMNS:
            if required and not rec.get(key):
                err(number, key, "", _("This column is required."))
        building = _building_name(rec.get("building", ""), buildings)
        unit_key = (building, rec.get("unit", ""))
        area = None
        if rec.get("area"):
            try:
                area = Decimal(rec["area"])
                if area <= 0:
                    raise InvalidOperation
            except InvalidOperation:
                err(
                    number,
                    "area",
                    rec["area"],
                    _("The area is a number of square metres, e.g. 89.5."),
                )
        if all(unit_key) and unit_key not in units and unit_key not in new_units:
            if area is None and not rec.get("area"):
                err(
                    number,
                    "unit",
                    f"{building}-{unit_key[1]}",
                    _("There is no such unit; give its area to create it."),
                )
            elif area is not None:
                new_units.add(unit_key)
        relation = RELATIONS.get(rec.get("relation", "").lower())
        if rec.get("relation") and relation is None:
            err(number, "relation", rec["relation"], _("Write 业主, 租户 or 家庭成员."))
        dates = {}
        for key in ("start_date", "end_date"):
            try:
                dates[key] = _date(rec.get(key, ""))
            except ValueError:
                err(number, key, rec[key], _("Write dates as 2026-03-01."))
        if (
            dates.get("start_date")
            and dates.get("end_date")
            and dates["end_date"] < dates["start_date"]
        ):
            err(number, "end_date", rec["end_date"], _("The end date is before the start date."))
        payer = rec.get("is_payer", "").lower()
        if payer not in YES | NO:
            err(number, "is_payer", rec["is_payer"], _("Write 是 or 否."))
        try:
            details = check_details(
                ResidentDetails(
                    name=rec.get("name", ""),
                    id_number=rec.get("id_number"),
                    mobile=rec.get("mobile"),
                    email=rec.get("email", ""),
                    emergency_contact=rec.get("emergency_contact", ""),
                    emergency_phone=rec.get("emergency_phone"),
                    notes=rec.get("notes", ""),
                )
            )
        except RegisterError as exc:
            for key, reason in exc.errors.items():
                if key != "name" or rec.get("name"):
                    err(number, key, rec.get(key, ""), reason)
            details = None
        id_index = None
        if details is not None and details.id_number:
            id_index = blind_index("id_number", details.id_number)
            if id_index in known_ids:
                err(
                    number,
                    "id_number",
                    details.id_number,
                    _("A resident with this ID-card number is already registered."),
                )
            elif id_index in sheet_ids and sheet_ids[id_index][1] != details.name:
                err(
                    number,
                    "id_number",
                    details.id_number,
                    _(
                        "Row %(row)d has this ID-card number with another name.",
                        row=sheet_ids[id_index][0],
                    ),
                )
            else:
                sheet_ids.setdefault(id_index, (number, details.name))
        plate = None
        if rec.get("plate"):
            try:
                plate = clean_plate(rec["plate"])
            except ServiceError as exc:
                err(number, "plate", rec["plate"], exc.message)
            else:
                if plate in known_plates:
                    err(number, "plate", plate, _("This plate is already registered."))
                elif plate in sheet_plates:
                    err(
                        number,
                        "plate",
                        plate,
                        _("Row %(row)d has the same plate.", row=sheet_plates[plate]),
                    )
                else:
                    sheet_plates[plate] = number
        elif rec.get("brand") or rec.get("colour"):
            err(number, "plate", "", _("A vehicle needs its licence plate."))
        if len(plan.errors) == before:
            plan.rows.append(
                {
                    "row": number,
                    "unit_key": unit_key,
                    "area": area,
                    "layout": rec.get("layout", ""),
                    "details": details,
                    "id_index": id_index,
                    "relation": relation,
                    "start_date": dates.get("start_date"),
                    "end_date": dates.get("end_date"),
                    "is_payer": payer in YES and payer != "",
                    "plate": plate,
                    "brand": rec.get("brand", ""),
                    "colour": rec.get("colour", ""),
                }
            )
    plan.new_units = len(new_units)
    plan.residents = len({r["id_index"] or ("row", r["row"]) for r in plan.rows})
    plan.vehicles = sum(1 for r in plan.rows if r["plate"])
    if count == 0:
        plan.errors.append(RowError(1, "", "", _("The sheet has a header but no rows.")))
    return plan


def _building_name(value: str, buildings: dict[str, int]) -> str:
    """Offices write 3, 3栋 or 3号楼; match the estate's own naming."""
    value = value.strip()
    for candidate in (
        value,
        f"{value}栋",
        value.removesuffix("号楼") + "栋",
        value.removesuffix("栋"),
    ):
        if candidate in buildings:
            return candidate
    return value if value.endswith("栋") or not value.isdigit() else f"{value}栋"


def apply_import(session: Session, estate: Estate, plan: ImportPlan, progress=None) -> ImportResult:
    """Write a plan that has no errors, in batches. Raises ServiceError if it has any."""
    if plan.errors:
        raise ServiceError(_("The sheet has errors; nothing was imported."))
    buildings = {
        b.name: b for b in session.scalars(select(Building).where(Building.estate_id == estate.id))
    }
    units = {
        (u.building.name, u.number): u
        for u in session.scalars(select(Unit).join(Building).where(Building.estate_id == estate.id))
    }
    residents: dict[str, Resident] = {}
    made_units = made_residents = vehicles = 0
    for i, row in enumerate(plan.rows, start=1):
        b_name, number = row["unit_key"]
        unit = units.get((b_name, number))
        if unit is None:
            building = buildings.get(b_name)
            if building is None:
                building = buildings[b_name] = Building(estate=estate, name=b_name)
                session.add(building)
            unit = units[(b_name, number)] = Unit(
                building=building,
                number=number,
                area=row["area"],
                layout=row["layout"],
                use=UnitUse.residential,
            )
            session.add(unit)
            made_units += 1
        d: ResidentDetails = row["details"]
        key = row["id_index"]
        resident = residents.get(key) if key else None
        if resident is None:
            resident = Resident(
                estate=estate,
                name=d.name,
                id_number=d.id_number,
                id_number_index=key,
                mobile=d.mobile,
                mobile_index=blind_index("mobile", d.mobile),
                email=d.email,
                emergency_contact=d.emergency_contact,
                emergency_phone=d.emergency_phone,
                notes=d.notes,
            )
            session.add(resident)
            made_residents += 1
            if key:
                residents[key] = resident
        session.add(
            Occupancy(
                unit=unit,
                resident=resident,
                relation=row["relation"],
                start_date=row["start_date"],
                end_date=row["end_date"],
                is_payer=row["is_payer"],
            )
        )
        if row["plate"]:
            session.add(
                Vehicle(
                    estate=estate,
                    plate=row["plate"],
                    brand=row["brand"],
                    colour=row["colour"],
                    owner=resident,
                )
            )
            vehicles += 1
        if i % 1000 == 0:
            session.flush()
        if progress:
            progress(1)
    session.flush()
    log.info("imported %d residents into %s", made_residents, estate.name)
    return ImportResult(made_residents, len(plan.rows), vehicles, made_units)


def template_xlsx() -> bytes:
    """The sheet to fill in: the headers, one example row and a notes sheet."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "住户"
    sheet.append([zh for _k, zh, _en, _r in COLUMNS])
    sheet.append(
        [
            "1栋",
            "1201",
            "128.6",
            "3室2厅",
            "张三",
            "110105199003071234",
            "13812345678",
            "业主",
            "2020-05-01",
            "",
            "是",
            "zhangsan@example.com",
            "李四",
            "13987654321",
            "沪A12345",
            "大众",
            "白色",
            "",
        ]
    )
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = 14
    notes = workbook.create_sheet("说明")
    for line in (
        ["每行一位住户在一套房屋中的身份；同一人有多套房屋时写多行（身份证号相同）。"],
        ["必填：楼栋、房号、姓名、关系（业主／租户／家庭成员）。"],
        ["房屋不存在时填写面积即可新建；日期写作 2026-03-01；缴费人写 是 或 否。"],
        ["示例行的身份证号仅为格式示例，导入前请删除。"],
    ):
        notes.append(line)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# -- exporting ---------------------------------------------------------------------------
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralize(value) -> str:
    """Text a spreadsheet shows as text: a cell that would start a formula gets a
    leading apostrophe (OWASP's advice for CSV injection)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START):
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

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()

    def cells(values):
        out = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=neutralize(value))
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


def resident_export(session: Session, estate_ids: set[int] | None, search: str | None = None):
    """Header and streamed rows of the resident list, masked. The admin's export and
    ``flask residents export`` both use it.

    Rows are read as plain tuples in batches of 1,000 (no ORM objects), with one more
    query per batch for the residents' current units, so memory stays flat.
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
            Resident.mobile,
            Resident.id_number,
            Resident.email,
            Resident.emergency_contact,
            Estate.name,
        )
        .join(Estate, Estate.id == Resident.estate_id)
        .order_by(Resident.name, Resident.id)
    )
    if estate_ids is not None:
        query = query.where(Resident.estate_id.in_(estate_ids))
    if search:
        query = query.where(Resident.id.in_(matching_resident_ids(search, estate_ids)))

    def current_units(resident_ids: list[int]) -> dict[int, list[str]]:
        today = date.today()
        units: dict[int, list[str]] = {}
        for resident_id, building, number in session.execute(
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
        result = session.execute(query.execution_options(yield_per=1000))
        for batch in result.partitions():
            units = current_units([r[0] for r in batch])
            for resident_id, name, mobile, id_number, email, contact, estate in batch:
                yield [
                    name,
                    "、".join(units.get(resident_id, ())),
                    mask_mobile(mobile),
                    mask_id_number(id_number),
                    email,
                    contact,
                    estate,
                ]

    return header, rows()
