"""The whole repair journey in a real browser, both people on a phone (375 px): an owner
reports a leak on the portal; the repair worker finds it in the queue, takes it, starts it
and records the result in the admin; the owner follows the timeline, confirms and rates.
No step goes through the services behind the pages' backs."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models import RepairRequest, RepairStatus

from .factories import FACTORY_PASSWORD
from .test_browser import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.committed,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def go(page, locator) -> None:
    with page.expect_navigation(wait_until="load"):
        locator.click()


@pytest.fixture
def people(make, db_session):
    estate = make.estate(name="旅程花园")
    unit = make.unit(make.building(estate, name="5栋"), number="0801")
    user = make.user(roles=["owner"], display_name="赵女士")
    resident = make.resident(estate, unit=unit, name="赵女士")
    resident.user = user
    db_session.commit()
    worker = make.user(roles=["repair"], estates=[estate], display_name="周师傅")
    return user, resident, worker


def test_from_a_portal_report_to_a_rated_closure_on_two_phones(
    new_tab, people, db_session, app
):
    user, resident, worker = people
    owner = new_tab(width=375)
    sign_in(owner, user.username, FACTORY_PASSWORD)
    page = owner.page
    owner.goto("/portal/repairs/new")
    page.get_by_label("具体位置").fill("主卧窗户")
    page.get_by_label("问题类别").select_option("door_window")
    page.get_by_label("问题描述").fill("<b>窗户</b>关不严，下雨会进水。")
    go(page, page.get_by_role("button", name="提交报修"))
    repair_id = db_session.scalars(
        select(RepairRequest.id).where(RepairRequest.reporter_id == resident.id)
    ).one()
    expect(page).to_have_url(owner.base + f"/portal/repairs/{repair_id}")
    # what the owner typed is shown as they typed it, not as markup
    expect(page.locator("body")).to_contain_text("<b>窗户</b>关不严")

    staff = new_tab(width=375)
    sign_in(staff, worker.username, FACTORY_PASSWORD)
    spage = staff.page
    staff.goto("/admin/repairs/")
    card = spage.locator(".repair-card", has_text="主卧窗户")
    expect(card).to_have_count(1)
    go(spage, card.locator("a"))
    expect(spage.locator("body")).to_contain_text("<b>窗户</b>关不严")
    go(spage, spage.get_by_role("button", name="接这个单"))
    go(spage, spage.get_by_role("button", name="开始处理"))
    form = spage.locator("#form-resolve")
    form.locator("input[name=fixed][value=yes]").check()
    form.locator("#minutes_spent").fill("30")
    form.locator("#materials").fill("密封条两米")
    form.locator("#resolve-note").fill("更换密封条，关窗严实")
    go(spage, form.get_by_role("button", name="保存维修结果"))
    expect(spage.locator(".status-badge").first).to_have_text("已完成")

    page.reload()
    expect(page.locator(".assignee")).to_have_text("周师傅")
    expect(page.locator("#result")).to_contain_text("密封条两米")
    go(page, page.get_by_role("button", name="确认完成"))
    page.locator("label[for=star-4]").click()
    page.get_by_label("评价（选填）").fill("修得不错")
    go(page, page.get_by_role("button", name="提交评价"))
    expect(page.locator("#rating")).to_contain_text("修得不错")

    db_session.expire_all()
    repair = db_session.get(RepairRequest, repair_id)
    assert repair.status is RepairStatus.closed and repair.rating == 4
    assert repair.assignee_id == worker.id
    assert [e.action for e in repair.events] == [
        "submit", "assign", "start", "resolve", "close", "rate"
    ]
    assert [e.actor_id for e in repair.events] == [
        user.id, worker.id, worker.id, worker.id, user.id, user.id
    ]
    assert owner.problems == [] and staff.problems == []
