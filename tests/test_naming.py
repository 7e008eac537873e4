"""One way to name a unit and a plate: ``2-202``, ``2栋202``, ``2号楼202``… find unit
2-202 and ``A12345`` or ``12345`` find 沪A12345 in every search box and lookup, never
another estate's."""

import pytest

from models import Vehicle
from propadmin.services.naming import parse_unit_label, plate_part

from .factories import FACTORY_PASSWORD
from .helpers import login

UNIT_FORMS = [
    "2-202",
    "2栋202",
    "2栋-202",
    "2-202室",
    "2号楼202",
    "２－２０２",
    "2 - 202",
    "2号楼202室",
]
PLATE_FORMS = ["沪A12345", "A12345", "a12345", "12345", "a 12345", "A·12345", "Ａ１２３４５"]


@pytest.mark.parametrize("text", UNIT_FORMS)
def test_every_way_of_writing_a_unit_reads_as_building_and_number(text):
    assert parse_unit_label(text) == ("2", "202")


@pytest.mark.parametrize("text", ["2202", "202", "张伟", "沪A12345", "13812345678", "2楼202", ""])
def test_what_is_not_a_unit_label_is_not_read_as_one(text):
    assert parse_unit_label(text) is None


@pytest.mark.parametrize(
    ("text", "part"),
    [("A12345", "A12345"), ("a·12345", "A12345"), ("沪a 12345", "沪A12345"), ("123", "123")],
)
def test_a_plate_is_read_as_a_guard_types_it(text, part):
    assert plate_part(text) == part


@pytest.mark.parametrize("text", ["1", "12", "A1", "2-202", "张伟", "13812345678"])
def test_too_short_or_not_a_plate_is_no_plate_search(text):
    assert plate_part(text) is None


@pytest.fixture
def estates(make):
    """Two estates that both have a unit 2-202 (one building named 2栋, the other 2号楼),
    each with a resident living there who drives a car; a clerk of the first only."""
    ours, theirs = make.estate(), make.estate()
    unit = make.unit(make.building(ours, name="2栋"), number="202")
    other = make.unit(make.building(theirs, name="2号楼"), number="202")
    make.unit(make.building(ours, name="12栋"), number="202")  # not 2-202
    make.unit(unit.building, number="2202")  # not 2-202 either
    ours_resident = make.resident(unit=unit, name="甲住户")
    theirs_resident = make.resident(unit=other, name="乙住户")
    make.session.add_all(
        [
            Vehicle(estate=ours, plate="沪A12345", owner=ours_resident, brand="大众"),
            Vehicle(estate=theirs, plate="沪B12345", owner=theirs_resident, brand="丰田"),
        ]
    )
    make.session.commit()
    clerk = make.user(roles=["admin"], estates=[ours])
    return {"ours": ours, "theirs": theirs, "unit": unit, "other": other, "clerk": clerk}


@pytest.fixture
def clerk(app, estates):
    client = app.test_client()
    assert login(client, estates["clerk"].username, FACTORY_PASSWORD).status_code == 302
    return client


@pytest.mark.parametrize("text", UNIT_FORMS)
def test_the_resident_search_finds_who_lives_in_the_unit(clerk, estates, text):
    page = clerk.get("/admin/resident/", query_string={"search": text}).text
    assert "甲住户" in page
    assert "乙住户" not in page


@pytest.mark.parametrize("text", UNIT_FORMS)
def test_the_unit_list_search_finds_the_unit_only(clerk, estates, text):
    page = clerk.get("/admin/unit/", query_string={"search": text}).text
    assert estates["ours"].name in page
    assert "2202" not in page and "12栋" not in page
    assert estates["theirs"].name not in page


@pytest.mark.parametrize("view", ["occupancy", "parking"])
@pytest.mark.parametrize("text", UNIT_FORMS)
def test_unit_lookups_offer_the_unit_by_its_label(clerk, estates, view, text):
    response = clerk.get(
        f"/admin/{view}/ajax/lookup/", query_string={"name": "unit", "query": text}
    )
    assert response.status_code == 200
    assert response.json == [[estates["unit"].id, "2-202"]]


def test_a_unit_lookup_by_part_of_a_number_stays_in_the_estate(clerk, estates):
    found = clerk.get(
        "/admin/occupancy/ajax/lookup/", query_string={"name": "unit", "query": "202"}
    ).json
    assert estates["other"].id not in [unit_id for unit_id, _label in found]
    assert sorted(label for _id, label in found) == ["12-202", "2-202", "2-2202"]


@pytest.mark.parametrize("text", PLATE_FORMS)
def test_the_vehicle_search_finds_a_plate_as_a_guard_types_it(clerk, estates, text):
    page = clerk.get("/admin/vehicle/", query_string={"search": text}).text
    assert "沪A12345" in page
    assert "沪B12345" not in page


@pytest.mark.parametrize("text", PLATE_FORMS)
def test_the_resident_search_finds_the_driver_by_plate(clerk, estates, text):
    page = clerk.get("/admin/resident/", query_string={"search": text}).text
    assert "甲住户" in page
    assert "乙住户" not in page


def test_two_characters_of_a_plate_find_no_car_and_say_how_many_are_needed(clerk, estates):
    page = clerk.get("/admin/vehicle/", query_string={"search": "12"}).text
    assert "沪A12345" not in page
    assert "按车牌查找时请至少输入车牌的 3 个字符。" in page


def test_a_unit_label_is_not_read_as_part_of_a_plate(clerk, make, estates):
    make.session.add(Vehicle(estate=estates["ours"], plate="沪A22021", brand="别克"))
    make.session.commit()
    page = clerk.get("/admin/vehicle/", query_string={"search": "2-202"}).text
    assert "沪A22021" not in page
