"""The register's rules, written once in services/residents.py and services/households.py,
and the admin forms and the import that both call them."""

from datetime import date

import pytest
from sqlalchemy import select

from models import Estate, Occupancy, Relation, Resident, Unit, Vehicle
from propadmin.services.households import resident_household, unit_household
from propadmin.services.residents import RegisterError, check_occupancy, check_vehicle

from .test_register import form_post
from .test_register_io import good_rows, sheet, upload


@pytest.fixture
def zhang(db_session, demo):
    return db_session.scalar(select(Resident).where(Resident.name == "张伟"))


def test_check_vehicle_normalizes_the_plate(db_session, demo, zhang):
    assert check_vehicle(db_session, demo, "沪c·12 345", zhang) == "沪C12345"


def test_check_vehicle_names_each_bad_field(db_session, demo, zhang):
    plate = db_session.scalar(select(Vehicle.plate).where(Vehicle.estate_id == demo))
    other = Estate(name="别的小区")
    db_session.add(other)
    db_session.flush()
    with pytest.raises(RegisterError) as caught:
        check_vehicle(db_session, other.id, "ABC", zhang, brand="牌" * 40)
    assert set(caught.value.errors) == {"plate", "owner", "brand"}
    with pytest.raises(RegisterError) as caught:
        check_vehicle(db_session, demo, plate, None)
    assert set(caught.value.errors) == {"plate"}
    # the same plate may be registered in another estate, and a vehicle keeps its own
    assert check_vehicle(db_session, other.id, plate, None) == plate
    own = db_session.scalar(select(Vehicle.id).where(Vehicle.plate == plate))
    assert check_vehicle(db_session, demo, plate, None, vehicle_id=own) == plate


def test_check_occupancy(db_session, demo, zhang):
    unit = db_session.scalar(select(Unit).where(Unit.number == "302"))
    check_occupancy(unit, zhang, date(2026, 1, 1), None)
    with pytest.raises(RegisterError) as caught:
        check_occupancy(unit, zhang, date(2026, 5, 1), date(2026, 4, 1))
    assert set(caught.value.errors) == {"end_date"}
    stranger = Resident(name="外人", estate=Estate(name="别的小区"))
    with pytest.raises(RegisterError) as caught:
        check_occupancy(unit, stranger, None, None)
    assert set(caught.value.errors) == {"resident"}


def test_the_vehicle_form_and_the_import_refuse_a_registered_plate_alike(
    login_as, db_session, demo
):
    plate = db_session.scalar(select(Vehicle.plate).where(Vehicle.estate_id == demo))
    spaced = f"{plate[:2]} {plate[2:].lower()}"
    admin = login_as("admin")
    form = form_post(admin, "/admin/vehicle/new/", {"estate": str(demo), "plate": spaced})
    rows = good_rows()
    rows[0]["车牌号"] = spaced
    report = upload(admin, sheet(rows), estate=demo)
    for page in (form.text, report.text):
        assert "该车牌已登记" in page
    assert db_session.scalar(select(Resident).where(Resident.name == "赵一")) is None


def test_resident_household_lists_units_vehicles_and_parking(db_session, zhang):
    household = resident_household(db_session, zhang)
    assert [o.resident_id for o in household.occupancies] == [zhang.id] * len(
        household.occupancies
    )
    assert household.current and all(o.is_current for o in household.current)
    assert [v.plate for v in household.vehicles] == sorted(v.plate for v in zhang.vehicles)


def test_unit_household_splits_current_and_past(db_session, zhang):
    unit = db_session.scalar(select(Unit).where(Unit.number == "302"))
    db_session.add(
        Occupancy(
            unit=unit,
            resident=zhang,
            relation=Relation.tenant,
            start_date=date(2018, 1, 1),
            end_date=date(2019, 12, 31),
        )
    )
    db_session.flush()
    household = unit_household(db_session, unit)
    assert zhang in [o.resident for o in household.past]
    assert zhang not in [o.resident for o in household.current]


@pytest.mark.parametrize("area", ["NaN", "Infinity", "1e30", "0.004"])
def test_the_unit_form_refuses_impossible_areas_like_the_import(login_as, db_session, area):
    building = db_session.scalar(select(Unit.building_id).limit(1))
    response = form_post(
        login_as("admin"),
        "/admin/unit/new/",
        {"building": str(building), "number": "9901", "area": area, "use": "residential"},
    )
    assert response.status_code == 200
    assert "面积为 0.01 至 99999.99 平方米" in response.text
    assert db_session.scalar(select(Unit).where(Unit.number == "9901")) is None
