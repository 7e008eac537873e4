"""The register template a clerk downloads and fills in (read back by register_sheet).

It is built so that Excel cannot spoil it: the number columns are text (else Excel turns
an ID-card number into 1.10105E+17 and loses its last digits), relation and who pays
are dropdowns, required headers carry a ``*``, the first sheet explains every column and
the limits, and the example row passes validation — left as it is, the import skips it.
"""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .identifiers import id_check_digit
from .register_sheet import COLUMNS, DATA_SHEET, INSTRUCTIONS_SHEET, MAX_ROWS, REQUIRED_MARK

TEXT_COLUMNS = ("id_number", "mobile", "emergency_phone")
CHOICES = {"relation": ("业主", "租户", "家属"), "is_payer": ("是", "否")}
EXAMPLE_ID_NUMBER = "11010519800808002" + id_check_digit("11010519800808002")
EXAMPLE = {
    "building": "1栋",
    "unit": "1201",
    "area": "128.6",
    "layout": "3室2厅",
    "name": "张三",
    "id_number": EXAMPLE_ID_NUMBER,
    "mobile": "13812345678",
    "relation": "业主",
    "start_date": "2020-05-01",
    "end_date": "",
    "is_payer": "是",
    "email": "zhangsan@example.com",
    "emergency_contact": "李四",
    "emergency_phone": "13987654321",
    "plate": "沪A12345",
    "brand": "大众",
    "colour": "白色",
    "notes": "示例行：原样保留时导入会跳过",
}
HELP = {
    "building": "楼栋名称，如 1栋（写 1、1栋 或 1号楼 均可）",
    "unit": "房号，如 1201",
    "area": "建筑面积（平方米）。房屋尚未登记时必填，导入时新建该房屋",
    "layout": "户型，如 3室2厅",
    "name": "住户姓名",
    "id_number": "18 位居民身份证号，最后一位可以是 X",
    "mobile": "11 位手机号",
    "relation": "从下拉列表选择：业主、租户 或 家属",
    "start_date": "入住（或租期开始）日期，写作 2020-05-01",
    "end_date": "租期结束日期，写作 2026-12-31；长期居住不填",
    "is_payer": "是否由此人缴纳物业费：从下拉列表选择 是 或 否",
    "email": "电子邮箱，没有可不填",
    "emergency_contact": "紧急联系人姓名",
    "emergency_phone": "紧急联系人的 11 位手机号",
    "plate": "车牌号，如 沪A12345；没有车辆不填",
    "brand": "车辆品牌，如 大众",
    "colour": "车辆颜色，如 白色",
    "notes": "备注",
}
WIDTHS = {"email": 24, "notes": 30}
# The rows a sheet may have (data rows after the header) that dropdowns and formats cover.
LAST_ROW = MAX_ROWS + 1
BOLD = Font(bold=True)
EXAMPLE_FONT = Font(italic=True, color="808080")


def is_template_example(record: dict[str, str]) -> bool:
    """Whether a sheet row is the template's example row, exactly as it was given."""
    return all(record.get(key, "") == value for key, value in EXAMPLE.items())


def template_xlsx(max_mb: int) -> bytes:
    """The template workbook: instructions first, then the sheet to fill in."""
    workbook = Workbook()
    _instructions(workbook.active, max_mb)
    _data_sheet(workbook.create_sheet(DATA_SHEET))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _instructions(sheet, max_mb: int) -> None:
    sheet.title = INSTRUCTIONS_SHEET
    sheet.append(["住户导入模板：填写说明"])
    sheet["A1"].font = Font(bold=True, size=14)
    for line in (
        f"请在“{DATA_SHEET}”工作表中填写（本表之后的那一页）。每行是一位住户在一套房屋中的身份；"
        "同一人有多套房屋时写多行，身份证号相同。",
        f"列名带 {REQUIRED_MARK} 的必须填写：楼栋、房号、姓名、关系。",
        "身份证号、手机号、紧急联系电话三列已设为“文本”格式，请直接输入，从别处粘贴时选“只保留文本”；"
        "不要改成“常规”或“数值”格式，否则 Excel 会把身份证号变成 1.10105E+17 并丢失末尾几位。",
        f"限制：文件不超过 {max_mb} MB，每个文件不超过 {MAX_ROWS} 行；超过请拆分成多个文件。",
        "导入时先检查每一行，只要有一行有错就一行也不导入，并列出每个错误所在的行和列。",
        "第 2 行是示例：原样保留时导入会跳过它；可以直接覆盖它，或在它下面填写。",
    ):
        sheet.append([line])
        # One paragraph across the table's width, wrapped: long lines stay readable.
        row = sheet.max_row
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=4)
        sheet.cell(row=row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
        sheet.row_dimensions[row].height = 34
    sheet.append([])
    sheet.append(["列名", "必填", "说明", "示例"])
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = BOLD
    for key, zh, _en, required in COLUMNS:
        sheet.append([zh, "是" if required else "", HELP[key], EXAMPLE[key]])
    for letter, width in (("A", 16), ("B", 8), ("C", 60), ("D", 28)):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows(min_row=header_row + 1, max_col=4):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    _fit_to_page_width(sheet)


def _data_sheet(sheet) -> None:
    sheet.append([f"{zh}{REQUIRED_MARK}" if required else zh for _k, zh, _en, required in COLUMNS])
    sheet.append([EXAMPLE[key] for key, _zh, _en, _req in COLUMNS])
    sheet.freeze_panes = "A2"
    for index, (key, _zh, _en, required) in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        dimension = sheet.column_dimensions[letter]
        dimension.width = WIDTHS.get(key, 22 if key in TEXT_COLUMNS else 14)
        if key in TEXT_COLUMNS:
            # The whole column, so what a clerk types or pastes below stays text too.
            dimension.number_format = "@"
            sheet.cell(row=2, column=index).number_format = "@"
        if required:
            sheet.cell(row=1, column=index).font = BOLD
        sheet.cell(row=2, column=index).font = EXAMPLE_FONT
        if key in CHOICES:
            sheet.add_data_validation(_dropdown(key, f"{letter}2:{letter}{LAST_ROW}"))
    _fit_to_page_width(sheet, landscape=True)


def _fit_to_page_width(sheet, landscape: bool = False) -> None:
    """Printed (or turned into a PDF), the sheet is as wide as the page."""
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    if landscape:
        sheet.page_setup.orientation = "landscape"


def _dropdown(key: str, cells: str) -> DataValidation:
    choices = "、".join(CHOICES[key])
    validation = DataValidation(
        type="list",
        formula1='"{}"'.format(",".join(CHOICES[key])),
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="请从列表中选择",
        error=f"请选择：{choices}",
        showInputMessage=True,
        promptTitle="从列表中选择",
        prompt=choices,
    )
    validation.add(cells)
    return validation
