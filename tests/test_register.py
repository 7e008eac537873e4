"""The estate register screens: residents, masked numbers, audited reveals, search,
unit and resident pages, duplicates refused by the blind index."""

import pytest
from sqlalchemy import func, select

from models import AuditLog, Occupancy, Relation, Resident, Unit, User, Vehicle

from .helpers import csrf_from, id_number, id_number_with_x, login, wrong_check_digit


def resident_named(db_session, name="张伟"):
    return db_session.scalar(select(Resident).where(Resident.name == name))


def form_post(client, url, data):
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return client.post(url, data={**data, "csrf_token": csrf_from(page.text)})


def test_resident_list_shows_masked_numbers_only(login_as, db_session):
    resident = resident_named(db_session)
    for role in ("admin", "finance"):
        page = login_as(role).get("/admin/resident/").text
        assert "张伟" in page and "1-101" in page
        masked = resident.id_number[:3] + "*" * 11 + resident.id_number[-4:]
        assert masked in page
        assert resident.id_number not in page and resident.mobile not in page


def test_reveal_needs_the_permission_and_is_audited(login_as, db_session):
    resident = resident_named(db_session)
    finance = login_as("finance")
    details = finance.get(f"/admin/resident/details/?id={resident.id}")
    assert details.status_code == 200 and "查看完整号码" not in details.text
    refused = finance.post(
        f"/admin/resident/reveal/?id={resident.id}",
        data={"field": "id_number", "csrf_token": csrf_from(details.text)},
    )
    assert refused.status_code == 403
    admin = login_as("admin")
    details = admin.get(f"/admin/resident/details/?id={resident.id}")
    assert "查看完整号码" in details.text and resident.id_number not in details.text
    shown = admin.post(
        f"/admin/resident/reveal/?id={resident.id}",
        data={"field": "id_number", "csrf_token": csrf_from(details.text)},
    )
    assert shown.status_code == 200 and resident.id_number in shown.text
    assert resident.mobile not in shown.text  # one field at a time
    assert shown.headers["Cache-Control"] == "no-store"
    entry = db_session.scalar(select(AuditLog).where(AuditLog.action == "read"))
    assert entry.actor_name == "admin" and entry.entity_id == str(resident.id)
    assert entry.changes == {"field": "id_number"}


def test_reveal_of_another_estates_resident_is_not_found(login_as, db_session, other_resident):
    admin = login_as("admin")
    page = admin.get("/admin/resident/")
    response = admin.post(
        f"/admin/resident/reveal/?id={other_resident}",
        data={"field": "id_number", "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 404


@pytest.fixture
def other_resident(demo, make):
    """A resident of an estate the demo staff do not manage."""
    return make.resident(make.estate(name="翠湖花园"), name="外小区住户").id


@pytest.mark.parametrize(
    "query, expect",
    [("张伟", "张伟"), ("1-101", "张伟"), ("1栋-101", "张伟"), ("1-201", "王芳")],
)
def test_one_box_finds_residents(login_as, query, expect):
    page = login_as("admin").get("/admin/resident/", query_string={"search": query})
    assert expect in page.text


def test_search_by_plate_and_full_mobile(login_as, db_session):
    resident = resident_named(db_session)
    vehicle = db_session.scalar(select(Vehicle).where(Vehicle.owner_id == resident.id))
    admin = login_as("admin")
    spaced_plate = f"{vehicle.plate[:2]}·{vehicle.plate[2:].lower()}"
    for query in (
        spaced_plate,
        resident.mobile,
        f"+86 {resident.mobile[:3]}-{resident.mobile[3:]}",
    ):
        page = admin.get("/admin/resident/", query_string={"search": query}).text
        assert "张伟" in page, query
    partial = admin.get("/admin/resident/", query_string={"search": resident.mobile[:7]}).text
    assert "张伟" not in partial  # only full numbers match: no guessing by prefix


def test_search_stays_inside_the_staff_members_estates(login_as, other_resident):
    page = login_as("admin").get("/admin/resident/", query_string={"search": "外小区"}).text
    assert "外小区住户" not in page


def test_resident_form_checks_each_field(login_as, db_session, demo):
    admin = login_as("admin")
    response = form_post(
        admin,
        "/admin/resident/new/",
        {
            "estate": str(demo),
            "name": "新住户",
            "id_number_input": wrong_check_digit(id_number()),
            "mobile_input": "1234",
            "email": "bad",
            "emergency_phone_input": "",
        },
    )
    assert response.status_code == 200
    assert "校验位不正确" in response.text
    assert "手机号为 11 位数字" in response.text
    assert "bad 不是有效的电子邮箱地址" in response.text
    assert db_session.scalar(select(Resident).where(Resident.name == "新住户")) is None


def test_duplicate_id_number_is_refused_through_the_blind_index(login_as, db_session, demo):
    existing = resident_named(db_session)
    admin = login_as("admin")
    response = form_post(
        admin,
        "/admin/resident/new/",
        {
            "estate": str(demo),
            "name": "冒名者",
            "id_number_input": existing.id_number.lower(),
            "mobile_input": "",
            "email": "",
        },
    )
    assert response.status_code == 200
    assert "已有住户使用此身份证号登记" in response.text
    assert (
        db_session.scalar(
            select(func.count()).select_from(Resident).where(Resident.name == "冒名者")
        )
        == 0
    )


def test_new_resident_is_stored_normalized_and_encrypted(login_as, db_session, demo):
    admin = login_as("admin")
    with_x = id_number_with_x()
    response = form_post(
        admin,
        "/admin/resident/new/",
        {
            "estate": str(demo),
            "name": "新住户",
            "id_number_input": with_x.lower(),
            "mobile_input": "+86 138 0013 8000",
            "email": "New@Example.com",
        },
    )
    assert response.status_code == 302
    resident = db_session.scalar(select(Resident).where(Resident.name == "新住户"))
    assert resident.id_number == with_x
    assert resident.mobile == "13800138000" and resident.email == "new@example.com"
    entry = db_session.scalar(
        select(AuditLog).where(
            AuditLog.entity == "Resident", AuditLog.entity_id == str(resident.id)
        )
    )
    assert entry.changes["id_number"] == "***" and entry.changes["mobile"] == "***"


def test_editing_keeps_numbers_left_empty_and_never_shows_them(login_as, db_session):
    resident = resident_named(db_session)
    admin = login_as("admin")
    form = admin.get(f"/admin/resident/edit/?id={resident.id}")
    assert resident.id_number not in form.text and resident.mobile not in form.text
    response = admin.post(
        f"/admin/resident/edit/?id={resident.id}",
        data={
            "estate": str(resident.estate_id),
            "name": "张伟",
            "id_number_input": "",
            "mobile_input": "",
            "email": "zw@example.com",
            "emergency_contact": "张母",
            "emergency_phone_input": "",
            "notes": "",
            "csrf_token": csrf_from(form.text),
        },
    )
    assert response.status_code == 302
    db_session.expire_all()
    again = db_session.get(Resident, resident.id)
    assert (again.id_number, again.mobile) == (resident.id_number, resident.mobile)
    assert again.emergency_contact == "张母"


def test_unit_page_shows_people_vehicles_and_parking(login_as, db_session):
    unit = db_session.scalar(
        select(Unit).join(Occupancy).join(Resident).where(Resident.name == "王芳")
    )
    page = login_as("admin").get(f"/admin/unit/details/?id={unit.id}").text
    assert "王芳" in page and "租户" in page
    plate = db_session.scalar(select(Vehicle.plate).join(Resident).where(Resident.name == "王芳"))
    assert plate in page
    repair_page = login_as("repair").get(f"/admin/unit/details/?id={unit.id}").text
    # repair staff see whom to call at the door, not the household or its cars
    assert "联系人" in repair_page and "王芳" in repair_page
    assert plate not in repair_page and "租户" not in repair_page


def test_resident_page_shows_units_and_history(login_as, db_session):
    resident = resident_named(db_session)
    unit = db_session.scalar(select(Unit).where(Unit.number == "302"))
    db_session.add(
        Occupancy(
            unit=unit,
            resident=resident,
            relation=Relation.tenant,
            start_date=__import__("datetime").date(2018, 1, 1),
            end_date=__import__("datetime").date(2019, 12, 31),
        )
    )
    db_session.commit()
    page = login_as("admin").get(f"/admin/resident/details/?id={resident.id}").text
    assert "1-101" in page and "2019-12-31" in page and "房屋与历史" in page


def test_occupancy_dates_must_be_in_order(login_as, db_session):
    resident = resident_named(db_session)
    unit = db_session.scalar(select(Unit).where(Unit.number == "302"))
    response = form_post(
        login_as("admin"),
        "/admin/occupancy/new/",
        {
            "unit": str(unit.id),
            "resident": str(resident.id),
            "relation": "tenant",
            "start_date": "2026-05-01",
            "end_date": "2026-04-01",
        },
    )
    assert response.status_code == 200 and "结束日期早于起始日期" in response.text


def test_vehicle_plates_are_validated_normalized_and_unique(login_as, db_session, demo):
    admin = login_as("admin")
    bad = form_post(admin, "/admin/vehicle/new/", {"estate": str(demo), "plate": "ABC123"})
    assert "不是有效车牌" in bad.text
    ok = form_post(admin, "/admin/vehicle/new/", {"estate": str(demo), "plate": "沪b·9z9z9"})
    assert ok.status_code == 302
    assert db_session.scalar(select(Vehicle).where(Vehicle.plate == "沪B9Z9Z9")) is not None
    again = form_post(admin, "/admin/vehicle/new/", {"estate": str(demo), "plate": "沪B 9Z9Z9"})
    assert "该车牌已登记" in again.text


def test_tenant_sees_only_their_own_household(app, demo, db_session):
    tenant = app.test_client()
    login(tenant, "tenant")
    page = tenant.get("/portal/profile").text
    assert "王芳" in page
    owner = db_session.scalar(select(User).where(User.username == "owner"))
    assert owner.resident.name not in page


def test_the_resident_list_says_how_each_person_lives_in_their_unit(login_as):
    page = login_as("admin").get("/admin/resident/").text
    assert "（业主）" in page and "（租户）" in page


def test_a_row_opens_its_record_and_saving_lands_on_it(login_as, db_session):
    admin = login_as("admin")
    zhang = resident_named(db_session)
    listing = admin.get("/admin/resident/").text
    assert f'<a class="row-link" href="/admin/resident/details/?id={zhang.id}">张伟</a>' in listing
    vehicle = zhang.vehicles[0] if zhang.vehicles else db_session.scalar(select(Vehicle))
    url = f"/admin/vehicle/edit/?id={vehicle.id}"
    saved = form_post(
        admin,
        url,
        {"estate": str(vehicle.estate_id), "plate": vehicle.plate, "brand": "比亚迪",
         "colour": vehicle.colour, "owner": str(vehicle.owner_id or "")},
    )
    assert saved.status_code == 302
    assert saved.location.endswith(f"/admin/vehicle/details/?id={vehicle.id}")


def test_the_resident_page_leads_to_units_and_adds_a_vehicle(login_as, db_session):
    admin = login_as("admin")
    zhang = resident_named(db_session)
    page = admin.get(f"/admin/resident/details/?id={zhang.id}").text
    unit_id = next(o.unit_id for o in zhang.occupancies if o.is_current)
    assert f'href="/admin/unit/details/?id={unit_id}"' in page
    assert "添加车辆" in page
    form = admin.get(f"/admin/vehicle/new/?owner={zhang.id}").text
    owner_input = form[form.index('id="owner"') - 300 : form.index('id="owner"') + 300]
    assert f'value="{zhang.id}"' in owner_input  # the owner is filled in


def test_the_vehicle_form_does_not_fill_in_another_estates_resident(login_as, make):
    stranger = make.resident(estate=make.estate(), name="外人乙")
    form = login_as("admin").get(f"/admin/vehicle/new/?owner={stranger.id}").text
    owner_input = form[form.index('id="owner"') - 300 : form.index('id="owner"') + 300]
    assert f'value="{stranger.id}"' not in owner_input


def test_the_resident_list_shows_only_where_people_live_now(
    login_as, make, demo, db_session, count_queries
):
    """The units column lists each person's current units in the order they moved in,
    leaving out a home they left and one they have not moved into yet; the page costs the
    same statements however many homes its people have had."""
    from datetime import date, timedelta

    from models import Estate

    estate = db_session.get(Estate, demo)
    building = make.building(estate, name="9栋")
    homes = [make.unit(building, number=n) for n in ("0101", "0102", "0103", "0104")]
    person = make.resident(estate, unit=homes[0], name="阿搬家", relation=Relation.tenant)
    today = date.today()
    make._save(
        Occupancy(unit=homes[1], resident=person, relation=Relation.owner,
                  start_date=today - timedelta(days=30)),
        Occupancy(unit=homes[2], resident=person, relation=Relation.owner,
                  start_date=today - timedelta(days=400), end_date=today - timedelta(days=1)),
        Occupancy(unit=homes[3], resident=person, relation=Relation.owner,
                  start_date=today + timedelta(days=7)),
    )
    admin = login_as("admin")
    page = admin.get("/admin/resident/", query_string={"search": "阿搬家"})
    assert "9-0101（租户）、9-0102（业主）" in page.text
    assert "9-0103" not in page.text and "9-0104" not in page.text

    with count_queries() as few:
        admin.get("/admin/resident/", query_string={"search": "阿搬家"})
    for number in ("0201", "0202", "0203"):
        make._save(Occupancy(unit=make.unit(building, number=number), resident=person,
                             relation=Relation.family))
    with count_queries() as many:
        page = admin.get("/admin/resident/", query_string={"search": "阿搬家"})
    assert "9-0203（" in page.text
    assert len(many) == len(few)
