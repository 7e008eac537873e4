"""Import from a sheet (all or nothing, with a per-row report) and masked, formula-safe,
streamed exports — in the admin and on the command line."""

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from models import Occupancy, Resident, Unit, Vehicle
from propadmin.services.register_export import neutralize
from propadmin.services.register_sheet import COLUMNS

from .helpers import csrf_from, id_number, wrong_check_digit

HEADER = [zh for _key, zh, _en, _req in COLUMNS]


def sheet(rows, header=HEADER) -> bytes:
    workbook = Workbook()
    ws = workbook.active
    ws.append(header)
    for row in rows:
        ws.append([row.get(h, "") for h in header])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def good_rows():
    return [
        {
            "楼栋": "1",
            "房号": "1201",
            "面积": "128.6",
            "户型": "3室2厅",
            "姓名": "赵一",
            "身份证号": id_number("31011519850101001"),
            "手机号": "13911112222",
            "关系": "业主",
            "起始日期": "2020-05-01",
            "缴费人": "是",
            "车牌号": "沪A11111",
            "车辆品牌": "大众",
        },
        {"楼栋": "1栋", "房号": "1201", "姓名": "赵二", "关系": "家庭成员"},
        {
            "楼栋": "2",
            "房号": "101",
            "姓名": "钱三",
            "身份证号": id_number("31011519900101002"),
            "关系": "租户",
            "起始日期": "2026-01-01",
            "结束日期": "2026-12-31",
            "缴费人": "否",
        },
    ]


def upload(client, data: bytes, filename="住户.xlsx", estate=1):
    page = client.get("/admin/register-import/")
    return client.post(
        "/admin/register-import/",
        data={
            "estate": str(estate),
            "sheet": (io.BytesIO(data), filename),
            "csrf_token": csrf_from(page.text),
        },
        content_type="multipart/form-data",
    )


def count(db_session, model):
    return db_session.scalar(select(func.count()).select_from(model))


def test_a_good_sheet_imports_residents_units_and_vehicles(login_as, db_session, demo):
    before = count(db_session, Resident)
    response = upload(login_as("admin"), sheet(good_rows()), estate=demo)
    assert response.status_code == 302, response.text[-2000:]
    assert count(db_session, Resident) == before + 3
    unit = db_session.scalar(select(Unit).where(Unit.number == "1201"))
    assert unit.layout == "3室2厅" and str(unit.area) == "128.60"
    people = db_session.scalars(
        select(Resident.name).join(Occupancy).where(Occupancy.unit_id == unit.id)
    ).all()
    assert sorted(people) == ["赵一", "赵二"]
    assert db_session.scalar(select(Vehicle.owner_id).where(Vehicle.plate == "沪A11111"))


def test_a_sheet_with_bad_rows_imports_nothing_and_reports_each(login_as, db_session, demo):
    rows = good_rows()
    rows[0]["身份证号"] = wrong_check_digit(rows[0]["身份证号"])
    rows[1]["关系"] = "房东"
    rows[2]["手机号"] = "12345"
    rows.append({"楼栋": "9", "房号": "999", "姓名": "孙四", "关系": "业主"})
    rows.append({"楼栋": "1", "房号": "101", "姓名": "", "关系": "业主", "车牌号": "XYZ"})
    before = (count(db_session, Resident), count(db_session, Unit), count(db_session, Vehicle))
    response = upload(login_as("admin"), sheet(rows), estate=demo)
    assert response.status_code == 200
    text = response.text
    assert "未导入任何数据" in text
    report = [
        (2, "身份证号", "校验位不正确"),
        (3, "关系", "请填写 业主、租户 或 家庭成员"),
        (4, "手机号", "手机号为 11 位数字"),
        (5, "房号", "没有这套房屋"),
        (6, "姓名", "此列必填"),
        (6, "车牌号", "不是有效车牌"),
    ]
    for row, column, reason in report:
        assert f"<td>{row}</td><td>{column}</td>" in text, (row, column)
        assert reason in text
    assert wrong_check_digit(good_rows()[0]["身份证号"]) not in text  # shown masked
    after = (count(db_session, Resident), count(db_session, Unit), count(db_session, Vehicle))
    assert after == before


def test_duplicates_are_refused_within_the_sheet_and_against_the_register(
    login_as, db_session, demo
):
    known = db_session.scalar(select(Resident).where(Resident.name == "张伟"))
    rows = good_rows()
    rows[1]["身份证号"] = known.id_number
    rows[2]["车牌号"] = rows[0]["车牌号"]
    response = upload(login_as("admin"), sheet(rows), estate=demo)
    assert "已有住户使用此身份证号登记" in response.text
    assert "第 2 行的车牌相同" in response.text


def test_gbk_csv_from_excel_is_read(login_as, db_session, demo):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for row in good_rows():
        writer.writerow([row.get(h, "") for h in HEADER])
    response = upload(
        login_as("admin"), buffer.getvalue().encode("gb18030"), filename="住户.csv", estate=demo
    )
    assert response.status_code == 302
    assert db_session.scalar(select(Resident).where(Resident.name == "钱三")) is not None


@pytest.mark.parametrize(
    "data, filename, message",
    [
        (b"not a workbook", "x.xlsx", "不是可读取的 .xlsx 工作簿"),
        (b"name\n", "x.txt", "请上传 .xlsx 或 .csv 文件"),
        ("姓名,乱写\n张三,1\n".encode(), "x.csv", "无法识别的列：乱写"),
        ("姓名,关系\n张三,业主\n".encode(), "x.csv", "缺少这些列：楼栋、房号"),
    ],
)
def test_unreadable_sheets_are_explained_by_the_field(login_as, demo, data, filename, message):
    response = upload(login_as("admin"), data, filename=filename, estate=demo)
    assert response.status_code == 200 and message in response.text


def test_the_template_round_trips(login_as, db_session, demo):
    admin = login_as("admin")
    template = admin.get("/admin/register-import/template.xlsx")
    assert template.status_code == 200
    workbook = load_workbook(io.BytesIO(template.data))
    assert [c.value for c in workbook.worksheets[0][1]] == HEADER
    # The example row is a format example and its ID number is not valid: it is refused.
    response = upload(admin, template.data, estate=demo)
    assert response.status_code == 200 and "身份证号" in response.text


def test_import_needs_edit_permission_and_a_managed_estate(login_as, db_session, demo):
    assert login_as("finance").get("/admin/register-import/").status_code == 403
    before = count(db_session, Resident)
    response = upload(login_as("admin"), sheet(good_rows()), estate=demo + 100)
    assert response.status_code == 200 and 'class="invalid-feedback d-block"' in response.text
    assert count(db_session, Resident) == before


# (PostgreSQL cannot store NUL; the import refuses control characters anyway.)
FORMULAS_BEHIND_SPACES = ["  =1+1", " \t=cmd|' /C calc'!A0", "\r\n+1", "\x01@SUM(A1)", "\x1f\x0b-2"]


def test_formula_cells_are_neutralized():
    assert neutralize('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    for danger in ("+1+1", "-2", "@SUM(A1)", "\tx", "\x00=1", *FORMULAS_BEHIND_SPACES):
        assert neutralize(danger).startswith("'"), danger
    assert neutralize("张三") == "张三"
    assert neutralize(" 张三") == " 张三"


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_formulas_behind_spaces_or_control_characters_are_neutralized_in_exports(
    login_as, db_session, kind
):
    residents = db_session.scalars(select(Resident).order_by(Resident.id).limit(5)).all()
    for resident, name in zip(residents, FORMULAS_BEHIND_SPACES, strict=True):
        resident.name = name
    db_session.commit()
    response = login_as("finance").get(f"/admin/resident/export/{kind}/")
    assert response.status_code == 200
    if kind == "csv":
        text = response.get_data(as_text=True).lstrip("\ufeff")
        names = [r[0] for r in csv.reader(io.StringIO(text, newline=""))]
    else:
        data = response.data
        response.close()
        names = [row[0] for row in load_workbook(io.BytesIO(data)).worksheets[0].values]
    shown = [n for n in names if n and n.lstrip("' \t\r\n\x01\x0b\x1f")[:1] in "=+-@"]
    assert len(shown) == len(FORMULAS_BEHIND_SPACES)
    assert all(n.startswith("'") for n in shown), shown


def _resident_with_formula_name(db_session):
    resident = db_session.scalar(select(Resident).where(Resident.name == "张伟"))
    resident.name = "=cmd|' /C calc'!A0"
    db_session.commit()
    return resident


def test_csv_export_is_masked_and_formula_safe(login_as, db_session):
    resident = _resident_with_formula_name(db_session)
    response = login_as("finance").get("/admin/resident/export/csv/")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    text = response.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:4] == ["姓名", "房屋", "手机号", "身份证号"]
    names = [r[0] for r in rows[1:]]
    assert "'=cmd|' /C calc'!A0" in names
    assert resident.id_number not in text and resident.mobile not in text
    assert len(rows) - 1 == count(db_session, Resident)


def test_xlsx_export_is_masked_and_all_text(login_as, db_session):
    resident = _resident_with_formula_name(db_session)
    response = login_as("finance").get("/admin/resident/export/xlsx/")
    assert response.status_code == 200
    data = response.data
    response.close()  # as a WSGI server does: the temporary file goes away
    ws = load_workbook(io.BytesIO(data)).worksheets[0]
    cells = [c for row in ws.iter_rows() for c in row]
    assert all(c.data_type == "s" for c in cells if c.value is not None)
    values = [c.value for c in cells]
    assert "'=cmd|' /C calc'!A0" in values
    assert resident.id_number not in values


def test_export_follows_the_search(login_as):
    text = login_as("admin").get("/admin/resident/export/csv/?search=1-101").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1:]
    assert rows and all("1-101" in r[1] for r in rows)


def test_cli_import_reports_rows_and_exits_non_zero(app, demo, db_session, tmp_path):
    rows = good_rows()
    rows[2]["结束日期"] = "2025-01-01"
    path = tmp_path / "bad.xlsx"
    path.write_bytes(sheet(rows))
    result = app.test_cli_runner().invoke(
        args=["residents", "import", str(path), "--estate", "示范小区"]
    )
    assert result.exit_code == 1
    assert "row 4, 结束日期 = '2025-01-01': 结束日期早于起始日期" in result.output
    assert "nothing was imported" in result.output
    good = tmp_path / "good.xlsx"
    good.write_bytes(sheet(good_rows()))
    dry = app.test_cli_runner().invoke(
        args=["residents", "import", str(good), "--estate", "示范小区", "--dry-run"]
    )
    assert dry.exit_code == 0 and "3 rows are valid" in dry.output
    assert db_session.scalar(select(Resident).where(Resident.name == "赵一")) is None
    done = app.test_cli_runner().invoke(
        args=["residents", "import", str(good), "--estate", "示范小区"]
    )
    assert done.exit_code == 0, done.output
    assert db_session.scalar(select(Resident).where(Resident.name == "赵一")) is not None
    unknown = app.test_cli_runner().invoke(
        args=["residents", "import", str(good), "--estate", "无"]
    )
    assert unknown.exit_code == 1 and "no estate named '无'" in unknown.output


def test_cli_export(app, demo, db_session, tmp_path):
    target = tmp_path / "residents.csv"
    result = app.test_cli_runner().invoke(args=["residents", "export", str(target)])
    assert result.exit_code == 0, result.output
    text = target.read_text(encoding="utf-8-sig")
    resident = db_session.scalar(select(Resident).where(Resident.name == "张伟"))
    assert "张伟" in text and resident.id_number not in text
    bad = app.test_cli_runner().invoke(args=["residents", "export", str(tmp_path / "x.pdf")])
    assert bad.exit_code == 1 and "must end in .csv or .xlsx" in bad.output
