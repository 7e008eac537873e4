"""A facility's page and the record-maintenance form in a real browser: repair staff
record the work on their phone (375 px) from the overdue plan's button, the admin reads
the same page at 1280 px. Screenshots in /tmp/shots/fac_*.png and the suite's folder."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models import (
    Building,
    Estate,
    Facility,
    FacilityCategory,
    IntervalUnit,
    MaintenanceKind,
    MaintenancePlan,
    MaintenanceRecord,
)
from propadmin.services.today import estate_today

from .test_browser import assert_looks_finished, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.committed,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

SHOTS = Path("/tmp/shots")
# What people typed (asset numbers, models, serials) may be in Latin letters.
HUB_DATA = (".facility-facts td",)
FORM_DATA = (".maintain-what strong",)


@pytest.fixture
def lift(demo, db_session):
    """A lift of the demo estate: an overdue plan, one due soon, one later, a history."""
    estate = db_session.get(Estate, demo)
    today = estate_today(estate)
    building = db_session.scalars(
        select(Building).where(Building.estate_id == demo).order_by(Building.id)
    ).first()
    facility = Facility(
        estate=estate, code="DT-SHOT-1", name="1号客梯", category=FacilityCategory.elevator,
        building=building, location="东侧电梯井", model="GeN2-MR", serial_no="OT2019-88341",
        supplier="奥的斯电梯（中国）", supplier_phone="400-888-1234",
        purchase_date=today - timedelta(days=700), warranty_end=today + timedelta(days=12),
    )
    plans = [
        MaintenancePlan(facility=facility, title="电梯半月保养", every=15,
                        every_unit=IntervalUnit.days, next_due=today - timedelta(days=3)),
        MaintenancePlan(facility=facility, title="限速器校验", every=1,
                        every_unit=IntervalUnit.months, next_due=today + timedelta(days=2)),
        MaintenancePlan(facility=facility, title="年度定期检验", every=12,
                        every_unit=IntervalUnit.months, next_due=today + timedelta(days=160)),
    ]
    record = MaintenanceRecord(
        facility=facility, done_on=today - timedelta(days=18), kind=MaintenanceKind.maintenance,
        staff_name="奥的斯 王工", work="清洁导轨，润滑曳引机，检查制动器间隙。",
        parts="导靴衬 ×4", cost=Decimal("260.00"), under_warranty=True,
    )
    db_session.add_all([facility, *plans, record])
    db_session.commit()
    return facility, plans[0], today


def shoot(tab, name: str, width: int) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.page.screenshot(path=str(SHOTS / f"fac_{name}_{width}.png"), full_page=True)


def test_repair_staff_record_maintenance_on_a_phone(new_tab, lift, db_session):
    facility, overdue, today = lift
    tab = new_tab(width=375)
    sign_in(tab, "repair")
    tab.goto(f"/admin/facility/details/?id={facility.id}")
    page = tab.page
    expect(page.locator(".facility-plans .plan-overdue")).to_contain_text("逾期 3 天")
    expect(page.locator(".facility-warranty")).to_contain_text("保修 12 天后到期")
    shoot(tab, "hub", 375)
    assert_looks_finished(tab, "fac-hub", 375, data=HUB_DATA, tap_targets=True)

    page.locator(".plan-overdue .plan-record").click()
    expect(page.locator("#done_on")).to_have_value(today.isoformat())
    shoot(tab, "record_form", 375)
    assert_looks_finished(tab, "fac-record-form", 375, data=FORM_DATA, tap_targets=True)
    page.locator("#work").fill("清洁轿厢导轨，调整门机皮带张力")
    page.locator("#parts").fill("门机皮带")
    page.locator("#cost").fill("-20")
    page.get_by_role("button", name="保存记录").click()
    expect(page.locator(".invalid-feedback")).to_be_visible()  # a negative cost
    page.locator("#cost").fill("85.00")
    page.get_by_role("button", name="保存记录").click()
    expect(page.locator(".alert-success")).to_contain_text("电梯半月保养 下次到期日为")
    expect(page.locator(".facility-history")).to_contain_text("门机皮带")
    shoot(tab, "hub_after", 375)
    db_session.expire_all()
    plan = db_session.get(MaintenancePlan, overdue.id)
    assert plan.next_due == today + timedelta(days=15)


def test_the_admin_reads_the_page_on_a_desktop(new_tab, lift):
    facility, overdue, _today = lift
    tab = new_tab(width=1280)
    sign_in(tab, "admin")
    tab.goto(f"/admin/facility/details/?id={facility.id}")
    expect(tab.page.locator(".hub-actions").get_by_role("link", name="编辑")).to_be_visible()
    shoot(tab, "hub", 1280)
    assert_looks_finished(tab, "fac-hub", 1280, data=HUB_DATA)
    tab.goto(f"/admin/facility/maintain/?id={facility.id}&plan={overdue.id}")
    shoot(tab, "record_form", 1280)
    assert_looks_finished(tab, "fac-record-form", 1280, data=FORM_DATA)
    tab.goto("/admin/facility/")
    shoot(tab, "list", 1280)
    assert_looks_finished(tab, "fac-list", 1280, data=("td.col-code", "td.col-name"))
