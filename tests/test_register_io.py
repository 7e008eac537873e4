"""Import from a sheet (all or nothing, with a per-row report) and masked, formula-safe,
streamed exports — in the admin and on the command line."""

import csv
import io
import re
import zipfile

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
        (3, "关系", "请从下拉列表选择 业主、租户 或 家属"),
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
    data = workbook["住户"]
    assert [c.value.rstrip("*") for c in data[1]] == HEADER
    # Left as it is, the example row is not imported, and the report says so.
    before = count(db_session, Resident)
    response = upload(admin, template.data, estate=demo)
    assert response.status_code == 200 and "这是模板的示例行，不会导入" in response.text
    assert count(db_session, Resident) == before


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
    response = login_as("admin").get(f"/admin/resident/export/{kind}/")
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
    response = login_as("admin").get("/admin/resident/export/csv/")
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
    response = login_as("admin").get("/admin/resident/export/xlsx/")
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


def test_cli_import_reports_rows_and_exits_non_zero(demo, db_session, tmp_path, runner):
    rows = good_rows()
    rows[2]["结束日期"] = "2025-01-01"
    path = tmp_path / "bad.xlsx"
    path.write_bytes(sheet(rows))
    result = runner.invoke(args=["residents", "import", str(path), "--estate", "示范小区"])
    assert result.exit_code == 1
    assert "row 4, 结束日期 = '2025-01-01': 结束日期早于起始日期" in result.output
    assert "nothing was imported" in result.output
    good = tmp_path / "good.xlsx"
    good.write_bytes(sheet(good_rows()))
    dry = runner.invoke(
        args=["residents", "import", str(good), "--estate", "示范小区", "--dry-run"]
    )
    assert dry.exit_code == 0 and "3 rows are valid" in dry.output
    assert db_session.scalar(select(Resident).where(Resident.name == "赵一")) is None
    done = runner.invoke(args=["residents", "import", str(good), "--estate", "示范小区"])
    assert done.exit_code == 0, done.output
    assert db_session.scalar(select(Resident).where(Resident.name == "赵一")) is not None
    unknown = runner.invoke(args=["residents", "import", str(good), "--estate", "无"])
    assert unknown.exit_code == 1 and "no estate named '无'" in unknown.output


def test_cli_export(demo, db_session, tmp_path, runner):
    target = tmp_path / "residents.csv"
    result = runner.invoke(args=["residents", "export", str(target)])
    assert result.exit_code == 0, result.output
    text = target.read_text(encoding="utf-8-sig")
    resident = db_session.scalar(select(Resident).where(Resident.name == "张伟"))
    assert "张伟" in text and resident.id_number not in text
    bad = runner.invoke(args=["residents", "export", str(tmp_path / "x.pdf")])
    assert bad.exit_code == 1 and "must end in .csv or .xlsx" in bad.output


# -- bad input: every problem by row and column, never a 500 -------------------------
def test_values_longer_than_their_columns_are_refused_by_row_and_column(
    login_as, db_session, demo
):
    rows = good_rows()
    rows[0]["房号"] = "1" * 200
    rows[1]["备注"] = "很长的备注" * 4000  # 20,000 characters
    rows[2]["车辆品牌"] = "品" * 40
    rows[2]["车牌号"] = "沪B22222"
    rows[2]["楼栋"] = "楼" * 40
    before = (count(db_session, Resident), count(db_session, Unit))
    response = upload(login_as("admin"), sheet(rows), estate=demo)
    assert response.status_code == 200
    text = response.text
    too_long = [(2, "房号", 16), (3, "备注", 500), (4, "车辆品牌", 32), (4, "楼栋", 32)]
    for row, column, limit in too_long:
        assert f"<td>{row}</td><td>{column}</td>" in text, (row, column)
        assert f"最多 {limit} 个字符" in text
    assert len(text) < 100_000  # the 20,000-character value is shown shortened
    assert (count(db_session, Resident), count(db_session, Unit)) == before


@pytest.mark.parametrize(
    "area", ["Infinity", "-Infinity", "NaN", "sNaN", "1e30", "-5", "0", "100000", "0.004", "八十"]
)
def test_impossible_areas_are_refused(login_as, db_session, demo, area):
    rows = good_rows()
    rows[0]["房号"] = "9901"  # a new unit, created from its area
    rows[0]["面积"] = area
    before = count(db_session, Unit)
    response = upload(login_as("admin"), sheet(rows), estate=demo)
    assert response.status_code == 200
    assert "<td>2</td><td>面积</td>" in response.text
    assert "面积为 0.01 至 99999.99 平方米" in response.text
    assert count(db_session, Unit) == before


def test_control_characters_in_text_are_refused(login_as, db_session, demo):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    rows = good_rows()
    rows[1]["姓名"] = "赵\x00二"
    rows[2]["备注"] = "备\x1b注"
    for row in rows:
        writer.writerow([row.get(h, "") for h in HEADER])
    before = count(db_session, Resident)
    response = upload(login_as("admin"), buffer.getvalue().encode(), filename="x.csv", estate=demo)
    assert response.status_code == 200
    assert "<td>3</td><td>姓名</td>" in response.text
    assert "<td>4</td><td>备注</td>" in response.text
    assert "含有控制字符" in response.text
    assert count(db_session, Resident) == before


def test_a_nul_in_a_building_or_unit_is_reported_not_sent_to_the_database(
    login_as, db_session, demo
):
    # PostgreSQL refuses NUL in any text it is sent, a query's parameters included: the
    # check must not look such a unit up.
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    rows = good_rows()
    rows[1]["楼栋"] = "1\x00"
    rows[2]["房号"] = "10\x001"
    for row in rows:
        writer.writerow([row.get(h, "") for h in HEADER])
    before = count(db_session, Resident)
    response = upload(login_as("admin"), buffer.getvalue().encode(), filename="x.csv", estate=demo)
    assert response.status_code == 200
    assert "<td>3</td><td>楼栋</td>" in response.text
    assert "<td>4</td><td>房号</td>" in response.text
    assert "含有控制字符" in response.text
    assert count(db_session, Resident) == before


SHARED_STRINGS_TYPE = (
    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
)


def _with_shared_strings(sst: bytes, index: int = 0) -> bytes:
    """A good workbook whose first header cell is shared string ``index`` of ``sst``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(sheet(good_rows()))) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "[Content_Types].xml":
                body = body.replace(b"</Types>", SHARED_STRINGS_TYPE)
            elif info.filename == "xl/worksheets/sheet1.xml":
                body = re.sub(
                    rb'<c r="A1" t="inlineStr">.*?</c>',
                    b'<c r="A1" t="s"><v>%d</v></c>' % index,
                    body,
                    count=1,
                )
            dst.writestr(info, body, zipfile.ZIP_DEFLATED)
        dst.writestr("xl/sharedStrings.xml", sst, zipfile.ZIP_DEFLATED)
    return out.getvalue()


SST = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def _bad_shared_string() -> bytes:
    return _with_shared_strings(SST + "<si><t>楼栋</t></si></sst>".encode(), index=99999)


def _entity_expansion() -> bytes:
    lol = b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1)) * 10 if i else b"lol")
        for i in range(10)
    )
    doctype = b'<?xml version="1.0"?><!DOCTYPE sst [' + lol + b"]>"
    return _with_shared_strings(doctype + SST + b"<si><t>&lol9;</t></si></sst>")


def _zip_bomb() -> bytes:
    # 60 MB of spaces, about 60 KB packed
    return _with_shared_strings(SST + b"<si><t>" + b" " * 60_000_000 + b"</t></si></sst>")


@pytest.mark.parametrize(
    "make, message",
    [
        (_bad_shared_string, "不是可读取的 .xlsx 工作簿"),
        (_entity_expansion, "不是可读取的 .xlsx 工作簿"),
        (_zip_bomb, "解压后超过 50 MB"),
        (lambda: b"PK\x03\x04 truncated", "不是可读取的 .xlsx 工作簿"),
    ],
    ids=["bad-shared-string", "entity-expansion", "zip-bomb", "not-a-zip"],
)
def test_hostile_workbooks_are_a_form_error(login_as, db_session, demo, make, message):
    before = count(db_session, Resident)
    response = upload(login_as("admin"), make(), estate=demo)
    assert response.status_code == 200
    assert message in response.text and 'class="invalid-feedback d-block"' in response.text
    assert count(db_session, Resident) == before


def test_an_upload_over_the_size_limit_gets_a_clear_page(app, login_as, demo):
    admin = login_as("admin")
    app.config["MAX_CONTENT_LENGTH"] = 100_000
    response = upload(admin, sheet(good_rows()) + b"\0" * 200_000, estate=demo)
    assert response.status_code == 413
    assert "文件太大" in response.text and "/admin/register-import/" in response.text


def test_the_upload_limit_is_configured():
    from propadmin.config import DefaultConfig

    assert DefaultConfig.MAX_CONTENT_LENGTH == 5 * 1024 * 1024


def test_a_sheet_over_the_row_cap_is_refused_while_reading(
    login_as, db_session, demo, monkeypatch
):
    from propadmin.services import register_sheet

    monkeypatch.setattr(register_sheet, "MAX_ROWS", 50)
    read = []
    original = register_sheet._xlsx_rows

    def counting(stream):
        for row in original(stream):
            read.append(row)
            yield row

    monkeypatch.setattr(register_sheet, "_xlsx_rows", counting)
    rows = [{**good_rows()[1], "房号": str(1000 + i)} for i in range(300)]
    response = upload(login_as("admin"), sheet(rows), estate=demo)
    assert response.status_code == 200
    assert "超过 50 行" in response.text
    assert len(read) <= 52  # header, 50 rows, and the one that was one too many


def _many_bad_rows(n: int) -> list[dict]:
    # each row: an unknown relation and a bad mobile number
    return [
        {"楼栋": "1", "房号": "101", "姓名": f"住户{i}", "关系": "房东", "手机号": "12345"}
        for i in range(n)
    ]


def test_the_report_shows_the_first_problems_and_counts_the_rest(login_as, db_session, demo):
    response = upload(login_as("admin"), sheet(_many_bad_rows(300)), estate=demo)
    assert response.status_code == 200
    text = response.text
    assert "发现 600 个问题" in text
    assert text.count("<td>手机号</td>") + text.count("<td>关系</td>") == 200
    assert "还有 400 个问题未显示" in text


def test_cli_import_shows_the_first_problems_and_counts_the_rest(app, demo, tmp_path):
    path = tmp_path / "many.xlsx"
    path.write_bytes(sheet(_many_bad_rows(300)))
    result = app.test_cli_runner().invoke(
        args=["residents", "import", str(path), "--estate", "示范小区"]
    )
    assert result.exit_code == 1
    assert result.output.count("row ") == 200
    assert "400 more problem(s) not shown" in result.output
    assert "600 problem(s)" in result.output


@pytest.mark.parametrize(
    "make, message", [(_zip_bomb, "50 MB"), (_bad_shared_string, "不是可读取的 .xlsx 工作簿")]
)
def test_cli_import_of_a_hostile_workbook_is_a_clear_error(app, demo, tmp_path, make, message):
    path = tmp_path / "hostile.xlsx"
    path.write_bytes(make())
    result = app.test_cli_runner().invoke(
        args=["residents", "import", str(path), "--estate", "示范小区"]
    )
    assert result.exit_code == 1
    assert "hostile.xlsx" in result.output and message in result.output
    assert "Traceback" not in result.output


def test_cli_import_of_a_too_long_value_names_row_and_column(app, demo, db_session, tmp_path):
    rows = good_rows()
    rows[0]["房号"] = "1" * 200
    path = tmp_path / "long.xlsx"
    path.write_bytes(sheet(rows))
    result = app.test_cli_runner().invoke(
        args=["residents", "import", str(path), "--estate", "示范小区"]
    )
    assert result.exit_code == 1
    assert "row 2, 房号" in result.output
    assert db_session.scalar(select(Resident).where(Resident.name == "赵一")) is None


def test_a_cell_far_below_the_data_is_refused_quickly(login_as, demo):
    workbook = Workbook()
    ws = workbook.active
    ws.append(HEADER)
    ws.append([good_rows()[1].get(h, "") for h in HEADER])
    ws.cell(row=1_048_576, column=1, value="x")  # a 5 KB file, a million rows to walk
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = upload(login_as("admin"), buffer.getvalue(), estate=demo)
    assert response.status_code == 200
    assert "表格延伸到第 100000 行，请删除数据下方的空行" in response.text


def test_a_wrong_stored_dimension_does_not_hide_rows(login_as, db_session, demo):
    data = sheet(good_rows())
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:B2"', body)
            dst.writestr(info, body, zipfile.ZIP_DEFLATED)
    response = upload(login_as("admin"), out.getvalue(), estate=demo)
    assert response.status_code == 302
    assert db_session.scalar(select(Resident).where(Resident.name == "钱三")) is not None


def test_the_import_page_states_its_limits(login_as):
    page = login_as("admin").get("/admin/register-import/").text
    assert "每个文件最大 5 MB、20000 行" in page
