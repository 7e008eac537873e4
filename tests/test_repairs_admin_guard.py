"""The staff repair pages hold their ground: another estate's request is a 404 on every
page and absent from lists, filters and reports; hostile input on every form is an error
by its field, never a 500; script is shown as text; photos are served through may_see."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from models import (
    RepairEvent,
    RepairPhoto,
    RepairRequest,
    RepairSkill,
    RepairSlaPolicy,
    RepairStatus,
)
from tests.estate_b_repairs import estate_b_repairs
from tests.helpers import csrf_from
from tests.test_repairs_admin import Office, move, queue_ids

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"


@pytest.fixture
def office(app, make, db_session):
    return Office(app, make, db_session)


@pytest.fixture
def estate_b(office, make, db_session):
    """Another estate, its building, unit, resident, admin, worker and one of each row."""
    estate = make.estate(name="翠湖花园")
    building = make.building(estate, name="翠9栋")
    unit = make.unit(building, number="7788")
    resident = make.resident(estate, unit=unit, name="欧阳翠湖")
    admin = make.user(roles=["admin"], estates=[estate], display_name="翠湖管理员")
    worker = make.user(roles=["repair"], estates=[estate], display_name="翠湖师傅")
    facility_ids = estate_b_repairs(db_session, estate, unit, resident, admin)
    repair = db_session.get(RepairRequest, facility_ids["repair_request"])
    photo = RepairPhoto(repair=repair, data=JPEG, width=1, height=1, size=len(JPEG))
    db_session.add(photo)
    db_session.commit()
    return {"estate": estate, "building": building, "unit": unit, "worker": worker,
            "admin": admin, "photo": photo.id, **facility_ids}


def photo_of(db_session, repair) -> RepairPhoto:
    """A photo row as the portal's upload leaves it (already re-encoded)."""
    photo = RepairPhoto(repair_id=repair.id, data=JPEG, width=1, height=1, size=len(JPEG))
    db_session.add(photo)
    db_session.commit()
    return photo


def test_another_estates_request_is_not_found_on_every_page(office, estate_b):
    b_id = estate_b["repair_request"]
    for user in (office.admin, office.worker):
        client = office.client(user)
        token = csrf_from(client.get("/admin/repairs/").text)
        assert client.get(f"/admin/repairs/{b_id}").status_code == 404
        assert client.get(f"/admin/repairs/{b_id}/photos/{estate_b['photo']}").status_code == 404
        for action in ("assign", "start", "resolve", "close", "reopen", "cancel",
                       "auto_assign"):
            answer = client.post(f"/admin/repairs/{b_id}/move", data={
                "csrf_token": token, "action": action, "version": "1",
                "assignee": str(user.id), "note": "x", "fixed": "yes",
            })
            assert answer.status_code == 404, action
    admin = office.client(office.admin)
    token = csrf_from(admin.get("/admin/repairs/").text)
    assert admin.post(f"/admin/repairs/{b_id}/reveal",
                      data={"csrf_token": token}).status_code == 404


def test_another_estate_is_absent_from_lists_filters_and_reports(office, estate_b, db_session):
    office.repair(location="本小区厨房")
    client = office.client(office.admin)
    queue = client.get("/admin/repairs/?status=all").text
    assert "本小区厨房" in queue
    for word in ("翠湖", "7788", "翠9栋", "翠湖师傅"):
        assert word not in queue, word
    assert queue_ids(client.get(f"/admin/repairs/?building={estate_b['building'].id}"
                                "&status=all").text) == []
    assert queue_ids(client.get(f"/admin/repairs/?assignee={estate_b['worker'].id}"
                                "&status=all").text) == []
    reports = client.get("/admin/repairs/reports").text
    jobs = re.findall(r'class="text-right jobs">(\d+)<', reports)
    assert jobs == ["1"]  # estate B's urgent plumbing job is not counted
    call = client.get("/admin/repairs/new").text
    assert "翠9栋" not in call and "CH-LIFT-1" not in call
    home = client.get("/admin/").text
    tile = home[home.index('data-tile="repairs_unassigned"'):]
    assert '<span class="n">1</span>' in tile[:200]
    assert db_session.scalar(select(func.count(RepairRequest.id))) >= 2


def test_photo_is_served_to_who_may_see_the_request(office, db_session, app):
    repair = office.repair()
    other = office.repair()
    photo = photo_of(db_session, repair)
    client = office.client(office.worker)
    shown = client.get(f"/admin/repairs/{repair.id}/photos/{photo.id}")
    assert shown.status_code == 200 and shown.data == JPEG
    assert shown.mimetype == "image/jpeg" and "no-store" in shown.headers["Cache-Control"]
    assert client.get(f"/admin/repairs/{other.id}/photos/{photo.id}").status_code == 404
    page = client.get(f"/admin/repairs/{repair.id}").text
    assert f"/admin/repairs/{repair.id}/photos/{photo.id}" in page
    finance = office.make.user(roles=["finance"], estates=[office.estate])
    assert office.client(finance).get(
        f"/admin/repairs/{repair.id}/photos/{photo.id}").status_code == 403


def test_script_in_a_description_is_shown_as_text(office):
    repair = office.repair(description="<script>alert(1)</script>水管爆了",
                           location="<b>厨房</b>")
    client = office.client(office.worker)
    for url in ("/admin/repairs/", f"/admin/repairs/{repair.id}"):
        html = client.get(url).text
        assert "<script>alert(1)" not in html and "<b>厨房" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(f"/admin/repairs/{repair.id}").text


NEW_CALL = {"source": "office", "urgency": "normal", "category": "plumbing",
            "description": "水龙头坏了", "location": "", "unit": "9-202"}


@pytest.mark.parametrize("field, value", [
    ("description", "长" * 3000),
    ("description", ""),
    ("location", "长" * 300),
    ("contact_name", "名" * 200),
    ("contact_phone", "not-a-phone"),
    ("urgency", "panic"),
    ("category", "x" * 100),
    ("source", "portal"),
    ("unit", "Z-9999"),
    ("unit", "hello"),
    ("facility", "abc"),
    ("facility", "999999999999"),
    ("building", "-1"),
    ("estate", "99999999999999999999"),
])
def test_log_a_call_refuses_hostile_input_by_its_field(office, db_session, field, value):
    client = office.client(office.worker)
    token = csrf_from(client.get("/admin/repairs/new").text)
    before = db_session.scalar(select(func.count(RepairRequest.id)))
    data = {**NEW_CALL, field: value, "csrf_token": token}
    if field == "location" and value:
        data["unit"] = ""
        data["building"] = str(office.building.id)
    answer = client.post("/admin/repairs/new", data=data)
    assert answer.status_code == 400, answer.status_code
    assert re.search(r'data-error="(\w+)"', answer.text).group(1) == field
    assert db_session.scalar(select(func.count(RepairRequest.id))) == before


@pytest.mark.parametrize("field", ["unit", "facility", "building", "estate"])
def test_log_a_call_refuses_another_estates_rows(office, estate_b, field):
    client = office.client(office.admin)
    token = csrf_from(client.get("/admin/repairs/new").text)
    value = {
        "unit": "翠9-7788",
        "facility": str(estate_b["facility"]),
        "building": str(estate_b["building"].id),
        "estate": str(estate_b["estate"].id),
    }[field]
    data = {**NEW_CALL, "unit": "", field: value, "location": "某处", "csrf_token": token}
    answer = client.post("/admin/repairs/new", data=data)
    assert answer.status_code == 400
    assert f'data-error="{field}"' in answer.text and "翠湖" not in answer.text


@pytest.mark.parametrize("data, field", [
    ({"minutes_spent": "abc"}, "minutes_spent"),
    ({"minutes_spent": "-5"}, "minutes_spent"),
    ({"minutes_spent": "99999999"}, "minutes_spent"),
    ({"cost": "1e9"}, "cost"),
    ({"cost": "-1"}, "cost"),
    ({"cost": "9" * 40}, "cost"),
    ({"materials": "料" * 600}, "materials"),
    ({"note": "注" * 600}, "note"),
    ({"fixed": "maybe"}, "fixed"),
    ({"paid_by": "bank"}, "paid_by"),
    ({"paid_by": "resident", "cost": "20"}, None),  # fine: the request is in a unit
])
def test_the_result_form_refuses_hostile_input_by_its_field(office, db_session, data, field):
    repair = office.repair()
    client = office.client(office.worker)
    move(client, repair, "assign")
    move(client, repair, "start")
    answer = move(client, repair, "resolve", **{"fixed": "yes", **data})
    db_session.refresh(repair)
    if field is None:
        assert answer.status_code == 302 and repair.status is RepairStatus.resolved
        return
    assert answer.status_code == 200
    assert re.search(r'data-error="(\w+)"', answer.text).group(1) == field
    assert repair.status is RepairStatus.in_progress


def test_moves_refuse_nonsense_and_other_estates_staff(office, estate_b, db_session):
    repair = office.repair()
    admin = office.client(office.admin)
    for assignee in ("abc", str(estate_b["worker"].id), "", "1" * 30):
        answer = move(admin, repair, "assign", assignee=assignee)
        assert answer.status_code == 200 and 'data-error="assignee"' in answer.text, assignee
    assert "alert-danger" in move(admin, repair, "explode").text
    answer = admin.post(f"/admin/repairs/{repair.id}/move", data={
        "csrf_token": csrf_from(admin.get("/admin/repairs/").text), "action": "cancel",
        "version": "abc", "note": "重复报修",
    })
    assert answer.status_code == 200 and "alert-danger" in answer.text
    assert 'data-error="note"' in move(admin, repair, "cancel", note="").text
    assert 'data-error="note"' in move(admin, repair, "cancel", note="由" * 600).text
    db_session.refresh(repair)
    assert repair.status is RepairStatus.submitted and repair.assignee_id is None
    # a repair worker cannot give the job to someone else
    worker = office.client(office.worker)
    answer = move(worker, repair, "assign", assignee=str(office.worker2.id))
    assert 'data-error="assignee"' in answer.text
    assert db_session.scalar(
        select(func.count(RepairEvent.id)).where(RepairEvent.repair_id == repair.id)
    ) == 1


def test_repair_staff_see_no_finance_or_id_data(office):
    repair = office.repair()
    client = office.client(office.worker)
    menu = client.get(f"/admin/repairs/{repair.id}").text
    for word in ("收费", "账单", "身份证"):
        assert word not in menu, word
    assert client.get("/admin/repair_sla/").status_code == 403
    assert client.get("/admin/repair_skill/").status_code == 403


def test_skills_offer_only_repair_workers_of_the_admins_estates(office, estate_b, db_session):
    client = office.client(office.admin)
    form = client.get("/admin/repair_skill/new/").text
    assert "李师傅" in form and "赵师傅" in form and "翠湖师傅" not in form
    token = csrf_from(form)
    answer = client.post("/admin/repair_skill/new/", data={
        "user": str(estate_b["worker"].id), "category": "plumbing", "csrf_token": token,
    })
    assert answer.status_code == 200
    answer = client.post("/admin/repair_skill/new/", data={
        "user": str(office.worker.id), "category": "nonsense", "csrf_token": token,
    })
    assert answer.status_code == 200
    assert client.post("/admin/repair_skill/new/", data={
        "user": str(office.worker.id), "category": "plumbing", "csrf_token": token,
    }).status_code == 302
    skills = db_session.scalars(select(RepairSkill)).all()
    assert [(s.user_id, s.category) for s in skills if s.user_id != estate_b["admin"].id] == [
        (office.worker.id, "plumbing")
    ]


def test_targets_are_checked(office, estate_b, db_session):
    client = office.client(office.admin)
    token = csrf_from(client.get("/admin/repair_sla/new/").text)
    for data in (
        {"respond_minutes": "120", "resolve_minutes": "60"},
        {"respond_minutes": "abc", "resolve_minutes": "60"},
        {"respond_minutes": "0", "resolve_minutes": "60"},
        {"respond_minutes": "30", "resolve_minutes": "600", "estate": str(estate_b["estate"].id)},
    ):
        answer = client.post("/admin/repair_sla/new/", data={
            "estate": str(office.estate.id), "urgency": "urgent", "csrf_token": token, **data,
        })
        assert answer.status_code == 200, data
    assert client.post("/admin/repair_sla/new/", data={
        "estate": str(office.estate.id), "urgency": "urgent", "respond_minutes": "30",
        "resolve_minutes": "600", "csrf_token": token,
    }).status_code == 302
    rows = db_session.scalars(
        select(RepairSlaPolicy).where(RepairSlaPolicy.estate_id == office.estate.id)
    ).all()
    assert [(r.respond_minutes, r.resolve_minutes) for r in rows] == [(30, 600)]


def test_ids_too_large_for_the_database_are_not_found(office):
    repair = office.repair()
    client = office.client(office.admin)
    token = csrf_from(client.get("/admin/repairs/").text)
    huge = "9" * 25
    assert client.get(f"/admin/repairs/{huge}").status_code == 404
    assert client.get(f"/admin/repairs/{repair.id}/photos/{huge}").status_code == 404
    assert client.get(f"/admin/repairs/{huge}/photos/1").status_code == 404
    for url in (f"/admin/repairs/{huge}/move", f"/admin/repairs/{huge}/reveal"):
        assert client.post(url, data={"csrf_token": token, "action": "start"}).status_code == 404


def test_admin_closes_and_reopens_with_a_reason(office, db_session):
    repair = office.repair()
    admin = office.client(office.admin)
    move(admin, repair, "assign", assignee=str(office.worker.id))
    worker = office.client(office.worker)
    move(worker, repair, "start")
    move(worker, repair, "resolve", fixed="no", note="需要换整个龙头")
    assert 'id="form-close"' not in worker.get(f"/admin/repairs/{repair.id}").text
    assert move(admin, repair, "close").status_code == 302
    answer = move(admin, repair, "reopen", note="")
    assert 'data-error="note"' in answer.text
    assert move(admin, repair, "reopen", note="住户说还在漏").status_code == 302
    db_session.refresh(repair)
    assert repair.status is RepairStatus.assigned and repair.reopen_count == 1
    page = worker.get(f"/admin/repairs/{repair.id}").text
    assert "住户说还在漏" in page and 'id="form-start"' in page
