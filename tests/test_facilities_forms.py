"""The ledger's forms: a facility, a maintenance plan and a maintenance record made and
changed on the admin's screens. Every hostile value — too long, the wrong type, another
estate's building or facility, an interval of 0 or 10000, a negative cost — is an error
by its field and saves nothing; never a 500."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import Facility, IntervalUnit, MaintenancePlan, MaintenanceRecord

from .helpers import csrf_from, post_form
from .test_facilities import Office


@pytest.fixture
def office(app, make, db_session):
    return Office(app, make, db_session)


def count(db_session, model):
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(model))


def refused(response) -> bool:
    return response.status_code == 200 and "invalid-feedback" in response.text


# -- facilities --------------------------------------------------------------------------------
def facility_data(office, **fields):
    data = {
        "estate": str(office.estate.id), "code": "SB-01", "name": "生活水泵",
        "category": "water_pump", "building": str(office.building.id), "location": "地下泵房",
        "model": "CDL-32", "serial_no": "SN123", "supplier": "南方泵业",
        "supplier_phone": "0571-88886666", "purchase_date": "2024-05-01",
        "warranty_end": "2027-05-01", "status": "in_service", "notes": "",
    }
    return {**data, **fields}


def test_the_admin_adds_a_facility_and_lands_on_its_page(office):
    client = office.client(office.admin)
    response = post_form(client, "/admin/facility/new/", facility_data(office))
    assert response.status_code == 302
    made = office.db.scalars(select(Facility).where(Facility.code == "SB-01")).one()
    assert made.estate_id == office.estate.id and made.building_id == office.building.id
    page = client.get(response.location).text
    assert "生活水泵" in page and "水泵" in page and "南方泵业" in page


def hostile_facilities(office, make):
    other_building = make.building(office.other_estate)
    return [
        {"code": "X" * 33},
        {"name": ""},
        {"name": "名" * 65},
        {"category": "spaceship"},
        {"status": "stolen"},
        {"purchase_date": "yesterday"},
        {"warranty_end": "2027-02-30"},
        {"purchase_date": "2027-01-01", "warranty_end": "2026-01-01"},
        {"building": str(other_building.id)},
        {"building": "abc"},
        {"estate": str(office.other_estate.id)},
        {"estate": "99999999999999999999"},
        {"code": office.lift.code},  # already used in this estate
        {"notes": "注" * 501},
        {"supplier_phone": "1" * 33},
        {"location": "a\x07b"},
    ]


def test_hostile_facility_input_is_a_field_error(office, make):
    client = office.client(office.admin)
    before = count(office.db, Facility)
    problems = []
    for bad in hostile_facilities(office, make):
        response = post_form(client, "/admin/facility/new/", facility_data(office, **bad))
        if not refused(response):
            problems.append(f"{bad}: {response.status_code}")
    assert not problems, problems
    assert count(office.db, Facility) == before


def test_a_facility_moved_to_another_estates_building_is_refused(office, make):
    other_building = make.building(office.other_estate)
    client = office.client(office.admin)
    url = f"/admin/facility/edit/?id={office.lift.id}"
    data = facility_data(office, code=office.lift.code, building=str(other_building.id))
    assert refused(post_form(client, url, data))
    office.db.expire_all()
    assert office.db.get(Facility, office.lift.id).building_id == office.building.id
    # Keeping its own number is not a clash with itself.
    assert post_form(client, url, facility_data(office, code=office.lift.code)).status_code == 302


def test_repair_staff_cannot_change_the_ledger(office):
    client = office.client(office.worker)
    assert client.get("/admin/facility/new/").status_code == 403
    assert client.get(f"/admin/facility/edit/?id={office.lift.id}").status_code == 403
    assert client.get("/admin/maintenance_plan/new/").status_code == 403
    assert client.get("/admin/maintenance_record/new/").status_code == 200


def test_the_list_filters_and_searches(office, make):
    make.facility(office.estate, code="LD-7", name="路灯7号", category="street_light",
                  serial_no="SL-0007")
    client = office.client(office.admin)
    assert "LD-7" in client.get("/admin/facility/?search=SL-0007").text
    page = client.get("/admin/facility/").text
    assert "电梯" in page and "路灯" in page  # categories in words
    ending = client.get("/admin/facility/", query_string={"flt0_3": "ending"}).text
    assert office.lift.code in ending and "LD-7" not in ending
    by_serial = client.get("/admin/facility/?search=路灯").text
    assert "LD-7" in by_serial and office.lift.code not in by_serial
    for junk in ("?flt0_0=zzz", "?flt0_1=zzz", "?flt0_2=abc", "?flt0_2=99999999999999999999",
                 "?flt0_3=zzz", "?page=99999999999", "?sort=99"):
        assert client.get("/admin/facility/" + junk).status_code in (200, 302), junk
    for url in ("/admin/maintenance_plan/?flt0_0=zzz", "/admin/maintenance_plan/?flt0_1=zzz",
                "/admin/maintenance_plan/?flt0_2=zzz", "/admin/maintenance_record/?flt0_1=zzz",
                "/admin/maintenance_record/?flt0_0=notadate"):
        assert client.get(url).status_code in (200, 302), url


# -- plans ----------------------------------------------------------------------------------
def plan_data(office, **fields):
    data = {
        "facility": str(office.lift.id), "title": "电梯半月保养", "kind": "maintenance",
        "every": "15", "every_unit": "days", "next_due": office.today.isoformat(), "active": "y",
        "notes": "",
    }
    return {**data, **fields}


@pytest.mark.parametrize(
    "bad",
    [
        {"every": "0"},
        {"every": "10000"},
        {"every": "121", "every_unit": "months"},
        {"every": "-3"},
        {"every": "abc"},
        {"every": "99999999999999999999999"},
        {"every": ""},
        {"every_unit": "weeks"},
        {"kind": "sabotage"},
        {"next_due": "soon"},
        {"next_due": ""},
        {"title": ""},
        {"title": "计" * 129},
        {"facility": "abc"},
        {"facility": "99999999999"},
    ],
)
def test_hostile_plan_input_is_a_field_error(office, bad):
    client = office.client(office.admin)
    response = post_form(client, "/admin/maintenance_plan/new/", plan_data(office, **bad))
    assert refused(response), response.status_code
    assert count(office.db, MaintenancePlan) == 0


def test_a_plan_for_another_estates_facility_is_refused(office):
    client = office.client(office.admin)
    data = plan_data(office, facility=str(office.other_lift.id))
    assert refused(post_form(client, "/admin/maintenance_plan/new/", data))
    assert count(office.db, MaintenancePlan) == 0


def test_a_plan_is_added_from_the_facilitys_page(office):
    client = office.client(office.admin)
    page = client.get(f"/admin/facility/details/?id={office.lift.id}").text
    assert f"/admin/maintenance_plan/new/?facility={office.lift.id}" in page
    form = client.get(f"/admin/maintenance_plan/new/?facility={office.lift.id}").text
    chosen = (f'value="{office.lift.id}" selected', f'selected value="{office.lift.id}"')
    assert any(text in form for text in chosen)
    response = post_form(client, "/admin/maintenance_plan/new/", plan_data(
        office, every="1", every_unit="months"
    ))
    assert response.status_code == 302
    listing = client.get("/admin/maintenance_plan/").text
    assert "每 1 个月" in listing and "今天到期" in listing


# -- records on the list's own form ---------------------------------------------------------
def record_data(office, **fields):
    data = {
        "facility": str(office.lift.id), "plan": "__None", "done_on": office.today.isoformat(),
        "kind": "inspection", "staff_name": "", "work": "巡检", "parts": "", "cost": "0",
    }
    return {**data, **fields}


@pytest.mark.parametrize(
    "bad",
    [
        {"cost": "-1"},
        {"cost": "¥abc"},
        {"cost": "NaN"},
        {"work": ""},
        {"work": "w" * 1001},
        {"done_on": "2026-13-01"},
        {"facility": "zzz"},
    ],
)
def test_hostile_record_input_is_a_field_error(office, bad):
    client = office.client(office.worker)
    response = post_form(client, "/admin/maintenance_record/new/", record_data(office, **bad))
    assert refused(response), response.status_code
    assert count(office.db, MaintenanceRecord) == 0


def test_a_record_for_another_estate_or_a_future_day_is_refused(office):
    other_plan = office.plan(facility=office.other_lift)
    own_plan = office.plan(facility=office.lift)
    client = office.client(office.worker)
    tomorrow = (office.today + timedelta(days=1)).isoformat()
    for bad in (
        {"facility": str(office.other_lift.id)},
        {"plan": str(other_plan.id)},
        {"done_on": tomorrow},
    ):
        response = post_form(client, "/admin/maintenance_record/new/", record_data(office, **bad))
        assert refused(response), bad
    assert count(office.db, MaintenanceRecord) == 0
    office.db.expire_all()
    assert own_plan.next_due == office.today


def test_a_record_on_the_list_form_moves_its_plan_on(office):
    plan = office.plan(every=1, every_unit=IntervalUnit.months)
    client = office.client(office.worker)
    response = post_form(client, "/admin/maintenance_record/new/", record_data(
        office, plan=str(plan.id), cost="35.5"
    ))
    assert response.status_code == 302
    office.db.expire_all()
    record = office.db.scalars(select(MaintenanceRecord)).one()
    assert record.staff_id == office.worker.id and record.under_warranty
    assert plan.last_done == office.today and plan.next_due > office.today


def test_a_facility_with_history_is_retired_not_deleted(office, make):
    office.db.add(MaintenanceRecord(facility=office.lift, done_on=office.today, work="巡检"))
    office.db.commit()
    bare = make.facility(office.estate, name="新装路灯").id
    lift = office.lift.id
    client = office.client(office.admin)
    token = csrf_from(client.get("/admin/facility/").text)
    response = client.post("/admin/facility/delete/", data={"id": lift, "csrf_token": token},
                           follow_redirects=True)
    assert "请将其标记为已报废" in response.text
    client.post("/admin/facility/delete/", data={"id": bare, "csrf_token": token})
    office.db.expire_all()
    assert office.db.get(Facility, lift) is not None
    assert office.db.get(Facility, bare) is None
