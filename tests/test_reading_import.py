"""Importing meter readings from a sheet: every row by the readings rules, all or nothing,
a report that names row, column, value and problem, as the register import does."""

import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from models import BillingMethod, Building, Estate, FeeKind, MeterReading
from propadmin.services.reading_import import COLUMNS
from propadmin.services.readings import record_reading

from .helpers import csrf_from
from .test_register_io import sheet as register_sheet

HEADER = [zh for _key, zh, _en, _required in COLUMNS]


def sheet(rows) -> bytes:
    return register_sheet(rows, header=HEADER)


def upload(client, data: bytes, filename="抄表.xlsx"):
    page = client.get("/admin/reading-import/")
    assert page.status_code == 200
    return client.post(
        "/admin/reading-import/",
        data={"sheet": (io.BytesIO(data), filename), "csrf_token": csrf_from(page.text)},
        content_type="multipart/form-data",
    )


@pytest.fixture
def meters(app, db_session, demo, make):
    """Two water meters of demo units, each read once in September."""
    estate = db_session.get(Estate, demo)
    item = make.fee_item(
        estate, method=BillingMethod.metered, kind=FeeKind.water, price="3.50", name="导入水费"
    )
    building = db_session.scalar(select(Building).where(Building.estate == estate))
    found = []
    for number in ("9911", "9912"):
        meter = make.meter(item, make.unit(building=building, number=number), code=f"W-{number}")
        with app.app_context():
            record_reading(db_session, meter, "2026-09", "100", date(2026, 9, 30), actor=None)
        found.append(meter)
    db_session.commit()
    return found


def imported(db_session, meters, period="2026-10"):
    return db_session.scalar(
        select(func.count(MeterReading.id)).where(
            MeterReading.meter_id.in_([m.id for m in meters]), MeterReading.period == period
        )
    )


def good_rows():
    return [
        {"表号": "W-9911", "账期": "2026-10", "读数": "112.5", "抄表日期": "2026-10-30"},
        {
            "表号": "W-9912",
            "账期": "2026-10",
            "读数": "8",
            "抄表日期": "2026/10/30",
            "换表": "是",
            "旧表止码": "120",
            "新表起码": "0",
        },
    ]


def test_a_good_sheet_writes_every_reading(login_as, db_session, meters):
    response = upload(login_as("finance"), sheet(good_rows()))
    assert response.status_code == 302, response.text[-3000:]
    assert imported(db_session, meters) == 2
    usage = dict(
        db_session.execute(
            select(MeterReading.meter_id, MeterReading.usage).where(
                MeterReading.period == "2026-10"
            )
        ).all()
    )
    assert usage[meters[0].id] == Decimal("12.50")
    assert usage[meters[1].id] == Decimal("28.00")  # (120 − 100) + (8 − 0)


def test_a_csv_sheet_is_read_too(login_as, db_session, meters):
    text = ",".join(HEADER) + "\n" + "W-9911,2026-10,130,2026-10-30,,,\n"
    response = upload(login_as("finance"), text.encode("gb18030"), filename="抄表.csv")
    assert response.status_code == 302, response.text[-3000:]
    assert imported(db_session, meters[:1]) == 1


def test_a_sheet_with_one_bad_row_writes_none_and_names_it(
    login_as, db_session, meters, estate_b_meter
):
    rows = good_rows()
    rows.append({"表号": "W-9911", "账期": "2026-11", "读数": "90", "抄表日期": "2026-11-30"})
    rows.append({"表号": "CH-9999", "账期": "2026-10", "读数": "5", "抄表日期": "2026-10-30"})
    rows.append({"表号": "W-9912", "账期": "2026-13", "读数": "abc", "抄表日期": "昨天"})
    response = upload(login_as("finance"), sheet(rows))
    assert response.status_code == 200
    text = response.text
    assert "未导入任何数据" in text
    assert "<td>4</td><td>读数</td><td>90</td>" in text  # backwards: below 112.5
    assert "112.5" in text
    assert "<td>5</td><td>表号</td><td>CH-9999</td>" in text
    assert "您管理的小区中没有这块表" in text
    for column in ("账期", "读数", "抄表日期"):
        assert f"<td>6</td><td>{column}</td>" in text
    assert imported(db_session, meters) == 0
    assert imported(db_session, meters, "2026-11") == 0


@pytest.fixture
def estate_b_meter(make):
    """A meter of an estate finance does not manage, with a code that a sheet names."""
    item = make.fee_item(method=BillingMethod.metered, kind=FeeKind.water)
    return make.meter(item, make.unit(building=make.building(item.estate)), code="CH-9999")


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"not a workbook", "抄表.xlsx", "不是可读取的"),
        (b"x", "抄表.pdf", ".xlsx"),
        ("表号,读数\nW-9911,1\n".encode(), "抄表.csv", "账期"),
        ("表号,账期,读数,抄表日期,楼栋\n".encode(), "抄表.csv", "楼栋"),
    ],
)
def test_unreadable_sheets_are_a_form_error(login_as, meters, data, filename, message):
    response = upload(login_as("finance"), data, filename)
    assert response.status_code == 200
    assert message in response.text


def test_the_template_round_trips(login_as, db_session, meters):
    finance = login_as("finance")
    template = finance.get("/admin/reading-import/template.xlsx")
    assert template.status_code == 200
    workbook = load_workbook(io.BytesIO(template.data))
    data = workbook.worksheets[1]
    assert [c.value.rstrip("*") for c in data[1]] == HEADER
    data.append(["W-9911", "2026-10", "101", "2026-10-30"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert upload(finance, buffer.getvalue()).status_code == 302
    assert imported(db_session, meters[:1]) == 1


def test_the_import_needs_billing_edit(login_as):
    assert login_as("repair").get("/admin/reading-import/").status_code == 403
    assert login_as("owner").get("/admin/reading-import/").status_code == 403
