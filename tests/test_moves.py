"""办理入住 and 办理退房 from the unit page: one form each, one transaction, the register's
own rules, nothing half-applied."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from models import Occupancy, ParkingSpace, Relation, Resident, Unit, User, Vehicle

from .helpers import csrf_from, id_number


@pytest.fixture
def empty_unit(db_session, make):
    """A new unit in the demo's first building, nobody living in it yet."""
    building = db_session.scalar(select(Unit).order_by(Unit.id)).building
    return make.unit(building=building, number="3301", floor=33)


@pytest.fixture
def free_space(db_session, demo):
    space = ParkingSpace(estate_id=demo, code="P-088")
    db_session.add(space)
    db_session.commit()
    return space


def move_in(client, unit_id, **fields):
    url = f"/admin/unit/move-in/?id={unit_id}"
    page = client.get(url)
    assert page.status_code == 200
    data = {"who": "new", "relation": "tenant", "start_date": date.today().isoformat(), **fields}
    return client.post(url, data={**data, "csrf_token": csrf_from(page.text)})


def test_a_tenant_moves_in_with_a_car_and_a_parking_space(
    login_as, db_session, empty_unit, free_space
):
    admin = login_as("admin")
    response = move_in(
        admin,
        empty_unit.id,
        name="赵敏",
        id_number=id_number("31011519900707001"),
        mobile="139 1234 0077",
        end_date="2027-11-30",
        is_payer="y",
        plates="沪c·88a12",
        space=str(free_space.id),
    )
    assert response.status_code == 302
    assert response.location.endswith(f"/admin/unit/details/?id={empty_unit.id}")
    zhao = db_session.scalar(select(Resident).where(Resident.name == "赵敏"))
    [occupancy] = zhao.occupancies
    assert (occupancy.unit_id, occupancy.relation) == (empty_unit.id, Relation.tenant)
    assert occupancy.is_payer and occupancy.end_date == date(2027, 11, 30)
    assert zhao.mobile == "13912340077"
    assert [v.plate for v in zhao.vehicles] == ["沪C88A12"]
    db_session.refresh(free_space)
    assert (free_space.unit_id, free_space.resident_id) == (empty_unit.id, zhao.id)
    page = admin.get(response.location).text
    assert "赵敏 已入住" in page and "沪C88A12" in page


def test_someone_on_the_register_moves_in_too(login_as, db_session, empty_unit):
    li = db_session.scalar(select(Resident).where(Resident.name == "李娜"))
    response = move_in(
        login_as("admin"), empty_unit.id, who="existing", resident=str(li.id), relation="owner"
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert empty_unit.id in {o.unit_id for o in li.occupancies}


def test_a_bad_field_is_shown_by_the_field_and_nothing_is_saved(
    login_as, db_session, empty_unit, free_space
):
    before = db_session.scalar(select(func.count(Resident.id)))
    response = move_in(
        login_as("admin"),
        empty_unit.id,
        name="钱多多",
        id_number="110105199003071230",  # wrong check digit
        plates="沪A12",
        space=str(free_space.id),
    )
    assert response.status_code == 200
    assert "校验位" in response.text
    assert db_session.scalar(select(func.count(Resident.id))) == before
    db_session.refresh(free_space)
    assert free_space.unit_id is None


def test_a_taken_plate_and_a_taken_space_are_refused(login_as, db_session, empty_unit):
    taken_plate = db_session.scalar(select(Vehicle.plate).limit(1))
    taken_space = db_session.scalar(select(ParkingSpace).where(ParkingSpace.unit_id.is_not(None)))
    response = move_in(
        login_as("admin"),
        empty_unit.id,
        name="孙悟",
        plates=taken_plate,
        space=str(taken_space.id),
    )
    assert response.status_code == 200
    assert "已登记" in response.text or "already" in response.text
    assert "该车位已被占用" in response.text
    assert db_session.scalar(select(Resident).where(Resident.name == "孙悟")) is None


def test_another_estates_resident_cannot_be_moved_in_by_id(login_as, db_session, empty_unit, make):
    stranger = make.resident(estate=make.estate(), name="外人甲")
    response = move_in(
        login_as("admin"), empty_unit.id, who="existing", resident=str(stranger.id)
    )
    assert response.status_code == 200
    assert "请从列表中选择住户" in response.text
    moved = select(Occupancy).where(Occupancy.resident_id == stranger.id)
    assert not db_session.scalars(moved).all()


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "x" * 500},
        {"start_date": "not-a-date"},
        {"relation": "landlord"},
        {"space": "99999999999999999999"},
        {"who": "existing", "resident": "abc"},
        {"plates": "沪A12345," * 40},
    ],
)
def test_hostile_input_gets_a_clear_answer(login_as, empty_unit, fields):
    response = move_in(login_as("admin"), empty_unit.id, **{"name": "周某", **fields})
    assert response.status_code == 200
    assert "invalid-feedback" in response.text


def test_another_estates_unit_has_no_move_in_page(login_as, make):
    unit = make.unit()
    assert login_as("admin").get(f"/admin/unit/move-in/?id={unit.id}").status_code == 404


def test_moving_out_ends_the_stay_releases_parking_and_closes_the_portal(
    login_as, db_session
):
    tenant = db_session.scalar(select(User).where(User.username == "tenant"))
    occupancy = next(o for o in tenant.resident.occupancies if o.is_current)
    space = ParkingSpace(
        estate_id=tenant.resident.estate_id,
        code="P-099",
        unit_id=occupancy.unit_id,
        resident_id=tenant.resident.id,
    )
    db_session.add(space)
    db_session.commit()
    admin = login_as("admin")
    url = f"/admin/unit/move-out/?id={occupancy.unit_id}&occupancy={occupancy.id}"
    page = admin.get(url)
    assert "车位 P-099 将被释放" in page.text
    today = date.today().isoformat()
    response = admin.post(url, data={"last_day": today, "csrf_token": csrf_from(page.text)})
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(Occupancy, occupancy.id).end_date == date.today()
    assert db_session.get(ParkingSpace, space.id).unit_id is None
    assert db_session.get(User, tenant.id).active is False
    assert "已停用" in admin.get(response.location).text


def test_moving_out_before_moving_in_is_refused(login_as, db_session):
    occupancy = db_session.scalar(
        select(Occupancy).where(Occupancy.start_date.is_not(None), Occupancy.end_date.is_(None))
    )
    admin = login_as("admin")
    url = f"/admin/unit/move-out/?id={occupancy.unit_id}&occupancy={occupancy.id}"
    page = admin.get(url)
    day_before = (occupancy.start_date - timedelta(days=1)).isoformat()
    response = admin.post(url, data={"last_day": day_before, "csrf_token": csrf_from(page.text)})
    assert response.status_code == 200 and "结束日期早于起始日期" in response.text
    db_session.expire_all()
    assert db_session.get(Occupancy, occupancy.id).end_date is None


def test_repair_staff_see_whom_to_call_masked(login_as, db_session):
    owner = db_session.scalar(select(User).where(User.username == "owner")).resident
    unit_id = next(o.unit_id for o in owner.occupancies if o.is_current)
    page = login_as("repair").get(f"/admin/unit/details/?id={unit_id}").text
    assert "联系人" in page and "张伟" in page
    assert owner.mobile not in page and owner.mobile[:3] + "****" + owner.mobile[-4:] in page
    assert "办理入住" not in page


def test_a_move_in_on_a_later_day_shows_as_moving_in(login_as, empty_unit):
    later = (date.today() + timedelta(days=10)).isoformat()
    admin = login_as("admin")
    response = move_in(admin, empty_unit.id, name="吴未来", start_date=later)
    page = admin.get(response.location).text
    assert "吴未来 将于" in page  # the flash
    row = page[page.rindex("吴未来") : page.rindex("吴未来") + 300]
    assert "即将入住" in row


def test_a_free_space_is_assigned_to_a_unit_and_someone_living_there(
    login_as, db_session, empty_unit, free_space
):
    admin = login_as("admin")
    move_in(admin, empty_unit.id, name="冯停车")
    feng = db_session.scalar(select(Resident).where(Resident.name == "冯停车"))
    url = f"/admin/unit/assign-space/?id={empty_unit.id}"
    page = admin.get(url)
    assert "P-088" in page.text and "冯停车" in page.text
    response = admin.post(
        url,
        data={"space": str(free_space.id), "resident": str(feng.id),
              "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 302
    db_session.refresh(free_space)
    assert (free_space.unit_id, free_space.resident_id) == (empty_unit.id, feng.id)


def test_a_taken_or_foreign_space_is_not_assigned(login_as, db_session, empty_unit, make):
    taken = db_session.scalar(select(ParkingSpace).where(ParkingSpace.unit_id.is_not(None)))
    foreign = ParkingSpace(estate_id=make.estate().id, code="X-1")
    db_session.add(foreign)
    db_session.commit()
    admin = login_as("admin")
    url = f"/admin/unit/assign-space/?id={empty_unit.id}"
    for space in (taken, foreign):
        page = admin.get(url)
        response = admin.post(url, data={"space": str(space.id), "resident": "",
                                         "csrf_token": csrf_from(page.text)})
        assert response.status_code == 200 and "该车位已被占用" in response.text
    db_session.refresh(foreign)
    assert foreign.unit_id is None
