"""Besides the search box, two places answer "is this full ID-card number registered?":
the resident form (a duplicate is refused) and the import (row by row). Both are a
reveal: limited and audited for a clerk who may not reveal, or reserved to those who may."""

import io

import pytest
from sqlalchemy import select

from models import AuditLog, Estate

from .factories import FACTORY_PASSWORD
from .helpers import csrf_from, id_number, login

TARGET = id_number("11010519800101123")


@pytest.fixture
def clerk(app, make, db_session, demo):
    """Front desk: edits the register, may not reveal numbers."""
    estate = db_session.get(Estate, demo)
    make.resident(estate, name="目标", id_number=TARGET)
    role = make.role(
        permissions=("dashboard.view", "property.view", "residents.view", "residents.edit"),
        estate=estate,
    )
    user = make.user(estates=[estate])
    user.roles = [role]
    db_session.commit()
    client = app.test_client()
    assert login(client, user.username, FACTORY_PASSWORD).status_code == 302
    return client


def new_resident(client, demo, number):
    page = client.get("/admin/resident/new/")
    return client.post(
        "/admin/resident/new/",
        data={"estate": str(demo), "name": "某人", "id_number_input": number,
              "csrf_token": csrf_from(page.text)},
    )


def test_a_duplicate_found_through_the_form_is_audited(clerk, demo, db_session):
    response = new_resident(clerk, demo, TARGET)
    assert "已有住户使用此身份证号登记" in response.text
    entry = db_session.scalar(
        select(AuditLog).where(AuditLog.action == "read", AuditLog.entity == "Resident")
    )
    assert entry is not None and entry.changes == {"field": "id_number", "search": True}


@pytest.mark.config(NUMBER_SEARCH_LIMIT="3 per hour")
def test_typing_full_id_numbers_into_the_form_is_limited(clerk, demo):
    answers = [new_resident(clerk, demo, id_number(f"1101051980010112{n}")).text for n in range(4)]
    assert "次数过多" not in answers[2]
    assert "次数过多" in answers[3]


def test_the_import_is_for_those_who_may_reveal_numbers(clerk, login_as, demo):
    assert clerk.get("/admin/register-import/").status_code == 403
    rows = "楼栋,房号,姓名,身份证号,关系\n1栋,101,某甲," + TARGET + ",业主\n"
    blocked = clerk.post(
        "/admin/register-import/",
        content_type="multipart/form-data",
        data={"estate": str(demo), "sheet": (io.BytesIO(rows.encode()), "x.csv"),
              "csrf_token": csrf_from(clerk.get("/admin/").text)},
    )
    assert blocked.status_code == 403
    assert login_as("admin").get("/admin/register-import/").status_code == 200


def test_a_registered_number_typed_into_the_move_in_form_is_a_number_check_too(
    clerk, demo, db_session, make
):
    """办理入住 with a new person refuses a duplicate ID-card number: audited, and limited
    for a clerk who may not reveal, like the resident form."""
    estate = db_session.get(Estate, demo)
    unit = make.unit(building=estate.buildings[0], number="6601")
    url = f"/admin/unit/move-in/?id={unit.id}"
    page = clerk.get(url)
    response = clerk.post(
        url,
        data={"who": "new", "name": "某人", "id_number": TARGET, "relation": "tenant",
              "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 200 and "已有住户使用此身份证号登记" in response.text
    entry = db_session.scalar(
        select(AuditLog).where(AuditLog.action == "read", AuditLog.entity == "Resident")
    )
    assert entry is not None and entry.changes == {"field": "id_number", "search": True}
