"""The repair staff's pages in a real browser: a repair worker at phone width takes a
submitted job from the queue, starts it and records the result; the admin at desktop
width assigns another job and reads the reports. Screenshots of every page at 375 and
1280 px land in /tmp/shots/admin_repairs_<page>-<width>.png (and test-artifacts)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from models import RepairStatus, RepairUrgency

from .factories import FACTORY_PASSWORD
from .test_browser import WIDTHS, assert_looks_finished, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.committed,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
SHOTS = Path("/tmp/shots")


@pytest.fixture
def jobs(make, db_session):
    estate = make.estate(name="试点花园")
    building = make.building(estate, name="9栋")
    unit = make.unit(building, number="202")
    admin = make.user(roles=["admin"], estates=[estate], display_name="王主管")
    worker = make.user(roles=["repair"], estates=[estate], display_name="李师傅")
    leak = make.repair(unit, by=admin, location="厨房水槽下方", contact_name="张阿姨",
                       contact_phone="13912345678", category="plumbing")
    lift = make.repair(make.unit(building, number="301"), by=admin, location="3楼电梯厅灯不亮",
                       urgency=RepairUrgency.urgent, category="electrical")
    shift = timedelta(hours=3)
    lift.submitted_at -= shift
    lift.respond_by -= shift
    lift.resolve_by -= shift
    db_session.commit()
    return {"admin": admin, "worker": worker, "leak": leak, "lift": lift}


def go(page, locator) -> None:
    """Press a link or button that opens a page, and wait until that page has loaded."""
    with page.expect_navigation(wait_until="load"):
        locator.click()


def shot(tab, name: str, width: int, **kwargs) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.page.screenshot(path=str(SHOTS / f"admin_repairs_{name}-{width}.png"), full_page=True)
    assert_looks_finished(tab, f"admin_repairs_{name}", width, **kwargs)


def test_repair_worker_takes_starts_and_resolves_a_job_on_a_phone(new_tab, jobs, db_session):
    tab = new_tab(width=375)
    page = tab.page
    sign_in(tab, jobs["worker"].username, FACTORY_PASSWORD)
    tab.goto("/admin/repairs/")
    cards = page.locator(".repair-card")
    expect(cards).to_have_count(2)
    expect(cards.first).to_contain_text("3楼电梯厅灯不亮")  # urgent first
    expect(cards.first).to_have_class("repair-card urgency-urgent breached")
    shot(tab, "queue", 375, tap_targets=True)

    go(page, page.locator(".repair-card", has_text="厨房水槽下方").locator("a"))
    expect(page.locator(".repair-contact")).to_contain_text("139****5678")
    expect(page.locator(".repair-contact")).not_to_contain_text("13912345678")
    shot(tab, "details", 375, tap_targets=True)
    go(page, page.get_by_role("button", name="接这个单"))
    expect(page.locator(".repair-assignee")).to_have_text("李师傅")
    go(page, page.get_by_role("button", name="开始处理"))
    expect(page.locator(".status-badge").first).to_have_text("处理中")

    form = page.locator("#form-resolve")
    form.locator("#minutes_spent").fill("abc")
    go(page, form.get_by_role("button", name="保存维修结果"))
    expect(page.locator('[data-error="minutes_spent"]')).to_be_visible()
    expect(page.locator('[data-error="fixed"]')).to_be_visible()  # nothing is ticked for them
    form = page.locator("#form-resolve")
    form.locator("input[name=fixed][value=yes]").check()
    form.locator("#minutes_spent").fill("40")
    form.locator("#cost").fill("35.50")
    form.locator("#materials").fill("三通接头一个")
    form.locator("#resolve-note").fill("更换接头，试水不漏")
    shot(tab, "result_form", 375, tap_targets=True)
    go(page, form.get_by_role("button", name="保存维修结果"))
    expect(page.locator(".status-badge").first).to_have_text("已完成")
    expect(page.locator(".repair-timeline")).to_contain_text("更换接头，试水不漏")
    shot(tab, "resolved", 375, data=(".repair-timeline",))

    tab.goto("/admin/repairs/mine")
    expect(page.locator(".repair-card")).to_have_count(1)
    shot(tab, "mine", 375, tap_targets=True)
    db_session.expire_all()
    leak = db_session.get(type(jobs["leak"]), jobs["leak"].id)
    assert leak.status is RepairStatus.resolved and leak.minutes_spent == 40


def test_admin_assigns_a_job_and_reads_the_reports(new_tab, jobs, db_session):
    tab = new_tab(width=1280)
    page = tab.page
    sign_in(tab, jobs["admin"].username, FACTORY_PASSWORD)
    tab.goto("/admin/repairs/")
    shot(tab, "queue", 1280)
    go(page, page.locator(".repair-card", has_text="3楼电梯厅灯不亮").locator("a"))
    expect(page.locator('[data-timer="respond"]')).to_have_class("breach")
    page.locator("#assignee").select_option(label="李师傅")
    shot(tab, "details", 1280)
    go(page, page.locator("#form-assign").get_by_role("button", name="派单", exact=True))
    expect(page.locator(".repair-assignee")).to_have_text("李师傅")
    expect(page.locator(".alert-success, .alert-info").first).to_contain_text("李师傅")

    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        tab.goto("/admin/repairs/reports")
        expect(page.locator("#table-urgency")).to_be_visible()
        drawn = page.evaluate(
            "() => [...document.querySelectorAll('.repair-chart')]"
            ".filter(el => echarts.getInstanceByDom(el)).length"
        )
        assert drawn == 5
        shot(tab, "reports", width)
        tab.goto("/admin/repairs/new")
        shot(tab, "new", width, tap_targets=True)
    db_session.expire_all()
    lift = db_session.get(type(jobs["lift"]), jobs["lift"].id)
    assert lift.assignee_id == jobs["worker"].id
