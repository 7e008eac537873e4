"""The bill list's search box at scale (issue 12): a unit label, a unit number or the
payer's name from its start, each one indexed condition; odd input gives a page."""
# ruff: noqa: F811  (the bill list's fixtures, imported below, are these tests' arguments)

import pytest

from .test_bills_admin import bills, estate, label, listed, other_estate_bill, staff  # noqa: F401


def test_a_unit_number_finds_that_units_bills_in_ones_estates_only(staff, bills, other_estate_bill):
    client = staff("finance")
    unit = bills["paid"].unit
    assert listed(client.get(f"/admin/bill/?search={unit.number}")) == {label(bills["paid"])}
    assert listed(client.get("/admin/bill/?search=9901")) == set()


def test_a_payer_is_found_from_the_start_of_the_name(staff, bills):
    client = staff("finance")
    assert listed(client.get("/admin/bill/?search=钱")) == {label(bills["overdue"])}
    assert listed(client.get("/admin/bill/?search=多多")) == set()


@pytest.mark.parametrize("query", ["%", "_", "钱%", "'", "1-1%1", "钱" * 5000, "1" * 3000])
def test_odd_input_gives_a_page_and_wildcards_are_plain_text(staff, bills, query):
    assert listed(staff("finance").get("/admin/bill/", query_string={"search": query})) == set()
