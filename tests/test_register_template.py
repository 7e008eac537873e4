"""The import template a clerk fills in, opened as Excel would show it, and the errors
a clerk gets when Excel has turned a number column into figures."""

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from models import Resident, Vehicle
from propadmin.services.register_import import plan_import
from propadmin.services.register_sheet import COLUMNS, read_sheet
from propadmin.services.register_template import EXAMPLE, template_xlsx

from .test_register_io import count, good_rows, sheet, upload

EXCEL_LOST_DIGITS = "Excel 把这个号码当成了数字，末尾几位已经丢失"
FORMAT_AS_TEXT = "请把这一列设置为“文本”格式"


@pytest.fixture
def template(login_as):
    response = login_as("admin").get("/admin/register-import/template.xlsx")
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.data))


def column_of(worksheet, header: str) -> str:
    return next(c.column_letter for c in worksheet[1] if c.value.rstrip("*") == header)


def test_the_template_opens_on_instructions_that_state_columns_and_limits(template):
    first = template.worksheets[0]
    assert first.title == "填写说明"
    text = "\n".join(str(c.value) for row in first.iter_rows() for c in row if c.value)
    assert "住户导入模板：填写说明" in text
    assert "文件不超过 5 MB，每个文件不超过 20000 行" in text
    assert "1.10105E+17" in text  # why the number columns must stay text
    table = {row[0]: row[1:] for row in first.iter_rows(values_only=True) if row[0]}
    for _key, zh, _en, required in COLUMNS:
        assert zh in table, zh
        assert (table[zh][0] == "是") is required, zh
        assert table[zh][1], f"{zh} is not explained"
    assert "业主、租户 或 家属" in table["关系"][1]


def test_required_headers_are_bold_and_starred(template):
    data = template["住户"]
    assert template.sheetnames == ["填写说明", "住户"]
    headers = {c.value: c.font.b for c in data[1]}
    for _key, zh, _en, required in COLUMNS:
        if required:
            assert headers[f"{zh}*"] is True, zh
        else:
            assert zh in headers and not headers[zh], zh


@pytest.mark.parametrize("header", ["身份证号", "手机号", "紧急联系电话"])
def test_number_columns_are_text_so_excel_keeps_every_digit(template, header):
    data = template["住户"]
    letter = column_of(data, header)
    assert data.column_dimensions[letter].number_format == "@"
    assert data[f"{letter}2"].number_format == "@"
    assert isinstance(data[f"{letter}2"].value, str)


@pytest.mark.parametrize(("header", "choices"), [("关系", "业主,租户,家属"), ("缴费人", "是,否")])
def test_relation_and_who_pays_are_dropdowns_down_the_sheet(template, header, choices):
    data = template["住户"]
    letter = column_of(data, header)
    (validation,) = [v for v in data.data_validations.dataValidation if f"{letter}2" in v.sqref]
    assert validation.type == "list" and validation.formula1 == f'"{choices}"'
    assert f"{letter}20001" in validation.sqref and validation.showErrorMessage


def test_the_untouched_template_is_refused_as_only_its_example(app, make):
    with app.app_context():
        plan = plan_import(
            make.session, make.estate(), read_sheet(io.BytesIO(template_xlsx(5)), "t.xlsx")
        )
    assert plan.examples == [2]
    assert [(e.row, e.reason) for e in plan.errors] == [
        (2, "这是模板的示例行，不会导入：请填写您自己的住户。")
    ]


def test_the_example_row_passes_validation_once_it_is_a_real_resident(app, make):
    workbook = load_workbook(io.BytesIO(template_xlsx(5)))
    data = workbook["住户"]
    data[f"{column_of(data, '姓名')}2"] = "张小三"
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    with app.app_context():
        plan = plan_import(make.session, make.estate(), read_sheet(buffer, "t.xlsx"))
    assert plan.errors == [] and plan.examples == []
    (row,) = plan.rows
    assert row.details.name == "张小三" and row.details.id_number == EXAMPLE["id_number"]
    assert row.plate == "沪A12345" and row.is_payer


def test_the_example_is_skipped_beside_the_clerks_own_rows(demo, db_session, tmp_path, runner):
    workbook = load_workbook(io.BytesIO(template_xlsx(5)))
    data = workbook["住户"]
    headers = [c.value.rstrip("*") for c in data[1]]
    for row in good_rows():
        data.append([row.get(h, "") for h in headers])
    path = tmp_path / "filled.xlsx"
    workbook.save(path)
    result = runner.invoke(args=["residents", "import", str(path), "--estate", "示范小区"])
    assert result.exit_code == 0, result.output
    assert "Row 2 is the template's example and was skipped." in result.output
    assert db_session.scalar(select(Resident).where(Resident.name == "赵一")) is not None
    assert db_session.scalar(select(Resident).where(Resident.name == "张三")) is None
    assert db_session.scalar(select(Vehicle).where(Vehicle.plate == "沪A12345")) is None


@pytest.mark.parametrize(
    ("header", "value", "message"),
    [
        ("身份证号", "1.10105E+17", EXCEL_LOST_DIGITS),
        ("身份证号", "11010519491231000", EXCEL_LOST_DIGITS),
        ("身份证号", 110105194912310000, EXCEL_LOST_DIGITS),  # a number cell
        ("身份证号", 1.1010519491231e17, EXCEL_LOST_DIGITS),  # a float cell
        ("手机号", "13812345678.0", "Excel 把这个号码当成了数字（末尾多了 .0）"),
        ("紧急联系电话", "1.38123E+10", EXCEL_LOST_DIGITS),
    ],
)
def test_a_number_excel_spoiled_is_explained_with_the_fix(
    login_as, db_session, demo, header, value, message
):
    rows = good_rows()
    rows[0][header] = value
    before = count(db_session, Resident)
    text = upload(login_as("admin"), sheet(rows), estate=demo).text
    assert f"<td>2</td><td>{header}</td>" in text
    assert message in text and FORMAT_AS_TEXT in text
    assert "校验位不正确" not in text
    assert count(db_session, Resident) == before


def test_an_ordinary_typo_still_gets_the_ordinary_message(login_as, demo):
    rows = good_rows()
    rows[0]["身份证号"] = rows[0]["身份证号"][:-1] + (
        "1" if rows[0]["身份证号"][-1] != "1" else "2"
    )
    text = upload(login_as("admin"), sheet(rows), estate=demo).text
    assert "校验位不正确" in text and EXCEL_LOST_DIGITS not in text
