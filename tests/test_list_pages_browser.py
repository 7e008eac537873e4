"""A list page in a real browser: the row's trash button submits the page's one delete
form for that row once confirmed; the row's name opens it; its box can be ticked."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .test_browser import WIDTHS, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.committed,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.mark.parametrize("width", WIDTHS)
def test_a_row_is_deleted_opened_and_selected_from_the_list(new_tab, width):
    tab = new_tab(width=width)
    page = tab.page
    sign_in(tab, "admin")
    tab.goto("/admin/vehicle/")
    rows = page.locator("table.model-list tbody tr")
    before = rows.count()
    assert before >= 2
    first = rows.first.locator("a.row-link").inner_text()

    questions = []

    def accept(dialog):
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    with page.expect_navigation():
        rows.first.locator("button.row-delete").click()
    assert questions and questions[0]
    expect(rows).to_have_count(before - 1)
    expect(page.locator("table.model-list")).not_to_contain_text(first)

    rows.first.locator("input.action-checkbox").check()
    expect(rows.first.locator("input.action-checkbox")).to_be_checked()
    with page.expect_navigation():
        rows.first.locator("a.row-link").click()
    expect(page).to_have_url(re.compile(r"/admin/vehicle/details/\?id=\d+"))
