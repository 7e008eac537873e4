"""The portal's repairs in a real browser at phone width: an owner reports a leak with a
photo, finds it in their list, opens it; the repair staff do the job (through the
services, as their own pages would); the owner confirms and rates it with big stars.
The pages fit a phone and a desk without sideways scrolling or English left.
Screenshots: ``/tmp/shots/portal_repairs_*.png`` (and test-artifacts/screenshots)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from models import RepairRequest, RepairStatus
from propadmin.services import repairs
from propadmin.services.repairs import RepairResult

from .factories import FACTORY_PASSWORD
from .test_browser import assert_looks_finished, pytestmark, sign_in  # noqa: F401
from .test_repair_photos import jpeg

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture reports it
    expect = None

SHOTS = Path("/tmp/shots")


def shot(tab, name: str, width: int) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.page.screenshot(path=str(SHOTS / f"portal_repairs_{name}_{width}.png"), full_page=True)


@pytest.fixture
def household(make, db_session):
    """An owner of their own estate (with a Chinese display name), and its repair staff."""
    estate = make.estate(phone="0571-88886666")
    unit = make.unit(make.building(estate, name="3栋"), number="1202")
    user = make.user(roles=["owner"], display_name="陈业主")
    resident = make.resident(estate, unit=unit, name="陈业主")
    resident.user = user
    db_session.commit()
    worker = make.user(roles=["repair"], estates=[estate], display_name="李师傅")
    boss = make.user(roles=["admin"], estates=[estate], display_name="王经理")
    return user, resident, worker, boss


def the_repair(db_session, resident) -> RepairRequest:
    db_session.expire_all()
    return db_session.scalars(
        select(RepairRequest).where(RepairRequest.reporter_id == resident.id)
    ).one()


def test_owner_reports_with_a_photo_then_confirms_and_rates_on_a_phone(
    app, new_tab, household, db_session
):
    user, resident, worker, boss = household
    tab = new_tab(width=375)
    page = tab.page
    sign_in(tab, user.username, FACTORY_PASSWORD)
    expect(page).to_have_url(tab.base + "/portal/")
    expect(page.locator("#repairs")).to_contain_text("没有处理中的报修")

    page.locator(".tabbar").get_by_text("报修").click()
    expect(page).to_have_url(tab.base + "/portal/repairs")
    shot(tab, "report_empty", 375)
    assert_looks_finished(tab, "portal-repairs-empty", 375, tap_targets=True)
    page.locator(".big-report").click()
    expect(page).to_have_url(tab.base + "/portal/repairs/new")
    expect(page.locator(".one-home")).to_have_text("3栋 1202")
    page.get_by_label("具体位置").fill("卫生间洗手台下")
    page.get_by_label("问题类别").select_option("plumbing")
    page.get_by_label("问题描述").fill("下水管接头漏水，柜子里全是水。")
    page.locator(".choice").get_by_text("紧急").click()
    page.locator("#photos").set_input_files(
        [{"name": "漏水.jpg", "mimeType": "image/jpeg", "buffer": jpeg((2000, 1500), gps=True)}]
    )
    shot(tab, "report_new", 375)
    assert_looks_finished(tab, "portal-repairs-new", 375, tap_targets=True)
    page.get_by_role("button", name="提交报修").click()
    expect(page).to_have_url(re.compile(re.escape(tab.base) + r"/portal/repairs/\d+$"))

    repair = the_repair(db_session, resident)
    expect(page).to_have_url(tab.base + f"/portal/repairs/{repair.id}")
    expect(page.locator(".flash")).to_contain_text("您的报修已提交")
    expect(page.locator(".repair-photos img")).to_have_count(1)
    assert page.locator(".repair-photos img").evaluate("img => img.naturalWidth") == 1600
    expect(page.locator(".badge.urgency-urgent")).to_have_text("紧急")

    page.locator(".tabbar").get_by_text("报修").click()
    row = page.locator(f"a.repair-row[href='/portal/repairs/{repair.id}']")
    expect(row).to_contain_text("卫生间洗手台下")
    shot(tab, "report_list", 375)
    assert_looks_finished(tab, "portal-repairs-list", 375, tap_targets=True)
    row.click()
    expect(page).to_have_url(tab.base + f"/portal/repairs/{repair.id}")

    with app.test_request_context():  # the staff do the job
        repairs.assign(db_session, repair, worker, by=boss)
        repairs.start(db_session, repair, by=worker)
        repairs.resolve(
            db_session, repair,
            RepairResult(fixed=True, minutes_spent=45, materials="PVC 接头一个",
                         cost=Decimal("0.00"), note="已更换下水管接头"),
            by=worker,
        )
        db_session.commit()
    page.reload()
    expect(page.locator(".assignee")).to_have_text("李师傅")
    expect(page.locator("#result")).to_contain_text("PVC 接头一个")
    expect(page.locator("#timeline li")).to_have_count(4)
    shot(tab, "report_resolved", 375)
    assert_looks_finished(tab, "portal-repair-resolved", 375, tap_targets=True,
                          data=("#result dd",))

    page.get_by_role("button", name="确认完成").click()
    expect(page.locator(".flash")).to_contain_text("报修已完结")
    page.locator("label[for=star-5]").click()
    page.get_by_label("评价（选填）").fill("师傅很专业，半小时就修好了。")
    shot(tab, "report_rate", 375)
    page.get_by_role("button", name="提交评价").click()
    expect(page.locator(".flash")).to_contain_text("感谢您的评价")
    expect(page.locator("#rating")).to_contain_text("师傅很专业")
    shot(tab, "report_rated", 375)
    assert_looks_finished(tab, "portal-repair-rated", 375, tap_targets=True,
                          data=("#result dd",))

    repair = the_repair(db_session, resident)
    assert repair.status is RepairStatus.closed and repair.rating == 5
    assert [e.action for e in repair.events] == [
        "submit", "assign", "start", "resolve", "close", "rate"
    ]
    assert tab.problems == [] and tab.outside == []


@pytest.mark.parametrize("width", (375, 1280))
def test_repair_pages_fit_the_screen_and_are_all_chinese(
    app, make, new_tab, household, db_session, width
):
    user, resident, worker, boss = household
    repair = make.repair(resident.occupancies[0].unit, reporter=resident,
                         location="客厅顶灯", description="顶灯闪烁后不亮了。\n开关换过也不行。")
    with app.test_request_context():
        repairs.assign(db_session, repair, worker, by=boss)
        db_session.commit()
    tab = new_tab(width=width)
    sign_in(tab, user.username, FACTORY_PASSWORD)
    pages = {"home": "/portal/", "list": "/portal/repairs", "new": "/portal/repairs/new",
             "request": f"/portal/repairs/{repair.id}"}
    for name, path in pages.items():
        tab.goto(path)
        if name == "request":
            tab.page.get_by_text("取消报修").click()  # the cancel form opens
        shot(tab, name, width)
        assert_looks_finished(tab, f"portal-repairs-{name}", width, tap_targets=True)
