"""The facility ledger and a facility's page: what admins and repair staff see and do —
plans due and overdue highlighted, the history with repairs, open repairs, the warranty —
and recording maintenance from the page, which moves the plan on.

Each test uses estates of its own (the demo's dates shift with today)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from models import (
    FacilityStatus,
    IntervalUnit,
    MaintenanceKind,
    MaintenancePlan,
    MaintenanceRecord,
    RepairStatus,
)
from propadmin.services.today import estate_today

from .factories import FACTORY_PASSWORD
from .helpers import csrf_from, login, post_form


class Office:
    """An estate with a lift, its admin, a repair worker and someone from another estate."""

    def __init__(self, app, make, db_session):
        self.make, self.db = make, db_session
        self.estate = make.estate()
        self.building = make.building(self.estate, name="1栋")
        self.today = estate_today(self.estate)
        self.lift = make.facility(
            self.estate, name="1号客梯", building=self.building, location="东侧电梯井",
            supplier="奥的斯", supplier_phone="4008-123-456",
            warranty_end=self.today + timedelta(days=12),
        )
        self.admin = make.user(roles=["admin"], estates=[self.estate])
        self.worker = make.user(roles=["repair"], estates=[self.estate], display_name="李师傅")
        self.finance = make.user(roles=["finance"], estates=[self.estate])
        self.other_estate = make.estate()
        self.other_lift = make.facility(self.other_estate, name="别家电梯")
        self.app = app

    def plan(self, facility=None, **fields):
        fields.setdefault("title", "电梯半月保养")
        fields.setdefault("every", 15)
        fields.setdefault("every_unit", IntervalUnit.days)
        fields.setdefault("next_due", self.today)
        plan = MaintenancePlan(facility=facility or self.lift, **fields)
        self.db.add(plan)
        self.db.commit()
        return plan

    def client(self, user):
        client = self.app.test_client()
        assert login(client, user.username, FACTORY_PASSWORD).status_code == 302
        return client


@pytest.fixture
def office(app, make, db_session):
    return Office(app, make, db_session)


def hub(client, facility):
    return client.get(f"/admin/facility/details/?id={facility.id}")


# -- the facility's page ---------------------------------------------------------------------
def test_the_page_shows_plans_due_and_overdue_history_repairs_and_warranty(office, make):
    overdue = office.plan(title="消防联动月检", next_due=office.today - timedelta(days=4))
    office.plan(title="年度检验", every=12, every_unit=IntervalUnit.months,
                next_due=office.today + timedelta(days=200))
    office.plan(title="半月保养", next_due=office.today + timedelta(days=2))
    unit = make.unit(office.building)
    repair = make.repair(unit, facility=office.lift, location="1号客梯轿厢")
    office.db.add(MaintenanceRecord(
        facility=office.lift, done_on=office.today - timedelta(days=30), work="更换门机皮带",
        parts="门机皮带", cost=Decimal("380.00"), kind=MaintenanceKind.repair,
        repair_id=repair.id, under_warranty=True,
    ))
    office.db.commit()

    page = hub(office.client(office.worker), office.lift).text
    assert "1号客梯" in page and "东侧电梯井" in page and "1栋" in page
    assert "保修 12 天后到期" in page
    assert 'class="list-group-item plan-item plan-overdue"' in page and "逾期 4 天" in page
    assert "2 天后到期" in page and "年度检验" in page
    assert f"/admin/repairs/{repair.id}" in page  # the open repair, and the history's link
    assert "更换门机皮带" in page and "¥380.00" in page
    assert f"/admin/facility/maintain/?id={office.lift.id}&amp;plan={overdue.id}" in page
    assert 'href="tel:4008-123-456"' in page
    assert "编辑" not in page  # repair staff record work, the ledger is the admin's


@pytest.mark.parametrize(
    "warranty_end, shown",
    [
        (None, "未登记保修"),
        (-1, "已过保"),
        (0, "保修今天到期"),
        (30, "保修 30 天后到期"),
        (31, "在保"),
    ],
)
def test_the_warranty_reads_as_the_office_says_it(office, warranty_end, shown):
    office.lift.warranty_end = (
        None if warranty_end is None else office.today + timedelta(days=warranty_end)
    )
    office.db.commit()
    assert shown in hub(office.client(office.admin), office.lift).text


def test_finance_cannot_open_facilities(office):
    client = office.client(office.finance)
    assert hub(client, office.lift).status_code == 403
    assert client.get("/admin/facility/").status_code == 403


def test_another_estates_facility_is_not_listed_nor_opened(office):
    client = office.client(office.admin)
    listing = client.get("/admin/facility/").text
    assert office.lift.code in listing and office.other_lift.code not in listing
    assert office.other_lift.name not in client.get("/admin/facility/?search=别家").text
    assert hub(client, office.other_lift).status_code in (302, 404)
    assert office.other_lift.name not in client.get(
        f"/admin/facility/details/?id={office.other_lift.id}", follow_redirects=True
    ).text
    maintain = client.get(f"/admin/facility/maintain/?id={office.other_lift.id}")
    assert maintain.status_code == 404


# -- recording maintenance -------------------------------------------------------------------
def maintain_url(facility, plan=None):
    url = f"/admin/facility/maintain/?id={facility.id}"
    return url + (f"&plan={plan.id}" if plan else "")


def test_repair_staff_record_a_plans_work_and_the_plan_moves_on(office):
    plan = office.plan(next_due=office.today - timedelta(days=2))
    client = office.client(office.worker)
    form = client.get(maintain_url(office.lift, plan)).text
    assert f'value="{office.today.isoformat()}"' in form  # today in the estate
    done = office.today - timedelta(days=1)
    response = post_form(client, maintain_url(office.lift, plan), {
        "done_on": done.isoformat(), "work": "清洁导轨，检查制动器", "parts": "导靴衬",
        "cost": "120.50",
    })
    assert response.status_code == 302
    office.db.expire_all()
    assert plan.next_due == done + timedelta(days=15) and plan.last_done == done
    record = office.db.scalars(select(MaintenanceRecord).where(
        MaintenanceRecord.plan_id == plan.id)).one()
    assert (record.cost, record.parts, record.kind) == (
        Decimal("120.50"), "导靴衬", MaintenanceKind.maintenance
    )
    assert record.staff_id == office.worker.id and record.under_warranty
    page = client.get(response.location).text
    assert "清洁导轨，检查制动器" in page and "李师傅" in page


def test_work_without_a_plan_is_recorded_with_its_kind(office):
    client = office.client(office.worker)
    response = post_form(client, maintain_url(office.lift), {
        "done_on": office.today.isoformat(), "kind": "inspection", "work": "日常巡检",
        "staff_name": "奥的斯 王工",
    })
    assert response.status_code == 302
    record = office.db.scalars(select(MaintenanceRecord).where(
        MaintenanceRecord.facility_id == office.lift.id)).one()
    assert record.kind is MaintenanceKind.inspection and record.staff_name == "奥的斯 王工"


HOSTILE = [
    ({"cost": "-5"}, "cost"),
    ({"cost": "abc"}, "cost"),
    ({"cost": "1e400"}, "cost"),
    ({"cost": "12.345"}, "cost"),
    ({"done_on": "2026-02-30"}, "done_on"),
    ({"done_on": "<script>"}, "done_on"),
    ({"done_on": "9999-12-31"}, "done_on"),
    ({"work": ""}, "work"),
    ({"work": "修" * 1001}, "work"),
    ({"work": "a\x07b"}, "work"),
    ({"parts": "件" * 501}, "parts"),
    ({"staff_name": "名" * 65}, "staff_name"),
    ({"kind": "sabotage"}, "kind"),
]


@pytest.mark.parametrize("bad, field", HOSTILE)
def test_hostile_maintenance_input_is_a_field_error(office, bad, field):
    plan = office.plan()
    client = office.client(office.worker)
    data = {"done_on": office.today.isoformat(), "work": "保养", "cost": "0", "kind": "maintenance",
            **bad}
    url = maintain_url(office.lift, None if field == "kind" else plan)
    response = post_form(client, url, data)
    assert response.status_code == 200, response.status_code
    assert "invalid-feedback" in response.text
    office.db.expire_all()
    assert office.db.scalar(select(func.count(MaintenanceRecord.id))) == 0
    assert plan.next_due == office.today


def test_a_plan_of_another_facility_or_estate_is_not_found(office, make):
    other_plan = office.plan(facility=office.other_lift)
    pump = make.facility(office.estate, name="生活水泵")
    pump_plan = office.plan(facility=pump)
    client = office.client(office.worker)
    assert client.get(maintain_url(office.lift, other_plan)).status_code == 404
    assert client.get(maintain_url(office.lift, pump_plan)).status_code == 404
    assert client.get(maintain_url(office.lift) + "&plan=abc").status_code == 404
    assert client.get("/admin/facility/maintain/?id=99999999999999").status_code == 404


def test_script_in_the_work_is_shown_as_text(office):
    client = office.client(office.worker)
    post_form(client, maintain_url(office.lift), {
        "done_on": office.today.isoformat(), "kind": "repair",
        "work": "<script>alert(1)</script>",
    })
    page = hub(client, office.lift).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_the_record_form_works_for_a_retired_facility_and_marks_out_of_warranty(office):
    office.lift.status = FacilityStatus.retired
    office.lift.warranty_end = office.today - timedelta(days=1)
    office.db.commit()
    client = office.client(office.worker)
    post_form(client, maintain_url(office.lift), {
        "done_on": office.today.isoformat(), "kind": "inspection", "work": "拆除前检查",
    })
    record = office.db.scalars(select(MaintenanceRecord)).one()
    assert record.under_warranty is False


def test_a_repair_record_links_to_its_repair_and_cannot_be_deleted(office, make):
    unit = make.unit(office.building)
    repair = make.repair(unit, facility=office.lift)
    repair.status = RepairStatus.closed
    record = MaintenanceRecord(facility=office.lift, done_on=office.today, work="修好",
                               kind=MaintenanceKind.repair, repair_id=repair.id)
    office.db.add(record)
    office.db.commit()
    client = office.client(office.admin)
    details = client.get(f"/admin/maintenance_record/details/?id={record.id}").text
    assert f'href="/admin/repairs/{repair.id}"' in details
    token = csrf_from(client.get("/admin/maintenance_record/").text)
    client.post("/admin/maintenance_record/delete/", data={"id": record.id, "csrf_token": token})
    office.db.expire_all()
    assert office.db.get(MaintenanceRecord, record.id) is not None
    edit = client.get(f"/admin/maintenance_record/edit/?id={record.id}").text
    assert 'name="repair"' not in edit


def test_the_dashboard_tiles_count_our_estate_only(office):
    office.plan(next_due=office.today - timedelta(days=1))
    office.plan(facility=office.other_lift, next_due=office.today - timedelta(days=1))
    office.other_lift.warranty_end = office.today + timedelta(days=3)
    office.db.commit()
    page = office.client(office.worker).get("/admin/").text
    assert 'data-tile="warranties_ending"' in page and 'data-tile="maintenance_due"' in page
    tile = page[page.index('data-tile="maintenance_due"'):]
    assert '<span class="n">1</span>' in tile[:200]
    tile = page[page.index('data-tile="warranties_ending"'):]
    assert '<span class="n">1</span>' in tile[:200]
    assert "data-tile=\"maintenance_due\"" not in office.client(office.finance).get("/admin/").text


def test_the_tiles_open_the_lists_they_count(office):
    office.plan(title="逾期计划", next_due=office.today - timedelta(days=1))
    office.plan(title="远期计划", next_due=office.today + timedelta(days=40))
    client = office.client(office.admin)
    page = client.get("/admin/").text
    start = page.index('data-tile="maintenance_due"')
    href = page[page.rindex('href="', 0, start) + 6:start].split('"')[0].replace("&amp;", "&")
    listing = client.get(href).text
    assert "逾期计划" in listing and "远期计划" not in listing
    start = page.index('data-tile="warranties_ending"')
    href = page[page.rindex('href="', 0, start) + 6:start].split('"')[0].replace("&amp;", "&")
    listing = client.get(href).text
    assert office.lift.code in listing


def test_the_tiles_take_a_constant_number_of_queries(office, make, count_queries):
    client = office.client(office.admin)
    client.get("/admin/")
    with count_queries() as few:
        client.get("/admin/")
    for _ in range(5):
        pump = make.facility(office.estate, warranty_end=office.today + timedelta(days=5))
        office.plan(facility=pump, next_due=office.today)
    with count_queries() as many:
        client.get("/admin/")
    assert len(many) == len(few)


def test_the_recorded_day_defaults_to_the_estates_today(office):
    office.estate.timezone = "Pacific/Kiritimati"  # UTC+14: often a day ahead of UTC
    office.db.commit()
    today = estate_today(office.estate)
    form = office.client(office.worker).get(maintain_url(office.lift)).text
    assert f'value="{today.isoformat()}"' in form
    assert date.today() - timedelta(days=1) <= today <= date.today() + timedelta(days=1)


def test_every_facility_page_speaks_chinese(office, make):
    from .test_no_english import english_words

    plan = office.plan(next_due=office.today - timedelta(days=1))
    unit = make.unit(office.building)
    repair = make.repair(unit, facility=office.lift)
    record = MaintenanceRecord(facility=office.lift, plan=plan, done_on=office.today,
                               work="保养", kind=MaintenanceKind.repair, repair_id=repair.id)
    office.db.add(record)
    office.db.commit()
    client = office.client(office.admin)
    pages = [
        "/admin/", "/admin/facility/", "/admin/facility/new/",
        f"/admin/facility/details/?id={office.lift.id}",
        f"/admin/facility/edit/?id={office.lift.id}",
        maintain_url(office.lift), maintain_url(office.lift, plan),
        "/admin/maintenance_plan/", "/admin/maintenance_plan/new/",
        f"/admin/maintenance_plan/details/?id={plan.id}",
        f"/admin/maintenance_plan/edit/?id={plan.id}",
        "/admin/maintenance_record/", "/admin/maintenance_record/new/",
        f"/admin/maintenance_record/details/?id={record.id}",
        f"/admin/maintenance_record/edit/?id={record.id}",
    ]
    data = {office.lift.code, "staff", "CSV", "XLSX"}  # the admin's user name, file types
    problems = {}
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        words = english_words(response.text) - data
        if words:
            problems[url] = sorted(words)
    assert not problems, problems
