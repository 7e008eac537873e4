"""Exact money: amounts typed by people, half-up rounding to the fen, splits that add up."""

from decimal import Decimal

import pytest

from propadmin.services import ServiceError
from propadmin.services.money import parse_amount, split, to_fen


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("120.5", "120.50"),
        ("¥1,234.56", "1234.56"),
        ("１２０.５０", "120.50"),  # full-width digits from a Chinese input method
        (" 88 ", "88.00"),
        ("10000000", "10000000.00"),
    ],
)
def test_amounts_people_type_are_read_exactly(app, typed, value):
    with app.app_context():
        assert parse_amount(typed) == Decimal(value)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1e30", "金额过大"),
        ("1e400", "金额过大"),
        ("1e99999", "请输入以元为单位的金额"),
        ("١٢٣.5", "请输入以元为单位的金额"),  # Arabic-Indic digits are not money here
        ("NaN", "请输入以元为单位的金额"),
        ("Infinity", "请输入以元为单位的金额"),
        ("abc", "请输入以元为单位的金额"),
        ("9" * 40, "金额过大"),
        ("10000000.01", "金额过大"),
        ("1.005", "最多两位小数"),
        ("-5", "必须大于零"),
        ("0", "必须大于零"),
    ],
)
def test_bad_amounts_say_what_is_wrong(app, typed, message):
    with app.app_context(), pytest.raises(ServiceError) as error:
        parse_amount(typed)
    assert message in error.value.message
    assert error.value.field == "amount"


def test_half_up_to_the_fen_and_never_a_float():
    assert to_fen(Decimal("1.005")) == Decimal("1.01")
    assert to_fen(Decimal("2.675")) == Decimal("2.68")
    assert to_fen(Decimal(100) / 3 * 3) == Decimal("100.00")
    with pytest.raises(TypeError):
        to_fen(1.005)
    with pytest.raises(TypeError):
        parse_amount(1.5)


def test_a_split_adds_up_to_the_fen():
    assert split(Decimal("100.00"), [Decimal(1)] * 3) == [
        Decimal("33.34"),
        Decimal("33.33"),
        Decimal("33.33"),
    ]
    parts = split(Decimal("720.00"), [Decimal("89.50"), Decimal("120.35"), Decimal("143.00")])
    assert sum(parts) == Decimal("720.00")
