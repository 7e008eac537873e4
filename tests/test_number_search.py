"""Searching the register by a full mobile or ID-card number is a reveal: it needs the
reveal permission, is audited and is rate-limited. Name, unit and plate search are not."""

import re

import pytest
from sqlalchemy import select

from models import AuditLog, Resident
from propadmin.services.residents import ResidentDetails, save_resident

NEEDS_PERMISSION = "按完整手机号或身份证号查找需要"
TOO_OFTEN = "按完整号码查找的次数过多"


@pytest.fixture
def zhang(demo, db_session):
    return db_session.scalar(select(Resident).where(Resident.name == "张伟"))


def search(client, query):
    return client.get("/admin/resident/", query_string={"search": query})


def number_searches(db_session):
    db_session.expire_all()
    return db_session.scalars(
        select(AuditLog).where(AuditLog.action == "read", AuditLog.entity == "Resident")
    ).all()


@pytest.mark.parametrize("field", ["mobile", "id_number"])
def test_without_reveal_a_full_number_finds_nothing_and_says_why(
    login_as, zhang, db_session, field
):
    page = search(login_as("finance"), getattr(zhang, field))
    assert page.status_code == 200
    assert "张伟" not in page.text
    assert NEEDS_PERMISSION in page.text
    assert number_searches(db_session) == []


@pytest.mark.parametrize("field", ["mobile", "id_number"])
def test_with_reveal_a_full_number_finds_the_person_and_is_audited(
    login_as, zhang, db_session, field
):
    number = getattr(zhang, field)
    page = search(login_as("admin"), number)
    assert "张伟" in page.text and NEEDS_PERMISSION not in page.text
    [entry] = number_searches(db_session)
    assert entry.actor_name == "admin" and entry.entity_id == str(zhang.id)
    assert entry.changes["field"] == field
    assert number not in str(entry.changes)  # the field searched, never the number


def test_a_number_nobody_has_is_audited_too(login_as, db_session, demo):
    search(login_as("admin"), "13912345678")
    [entry] = number_searches(db_session)
    assert entry.entity_id == "" and entry.changes["field"] == "mobile"


@pytest.mark.parametrize("query", ["张伟", "1-101"])
def test_name_and_unit_search_stay_open_to_finance(login_as, query):
    page = search(login_as("finance"), query)
    assert "张伟" in page.text and NEEDS_PERMISSION not in page.text


def test_plate_search_stays_open_to_finance(login_as, zhang):
    plate = zhang.vehicles[0].plate
    assert "张伟" in search(login_as("finance"), plate).text


@pytest.mark.config(NUMBER_SEARCH_LIMIT="3 per hour")
def test_number_search_is_rate_limited_per_account(login_as, zhang, db_session):
    admin = login_as("admin")
    for _ in range(3):
        assert "张伟" in search(admin, zhang.mobile).text
    over = search(admin, zhang.mobile)
    assert "张伟" not in over.text and TOO_OFTEN in over.text
    assert len(number_searches(db_session)) == 3  # what was not searched is not logged
    assert "张伟" in search(admin, "张伟").text  # other searches go on


@pytest.fixture
def clerk(app, make, login_as):
    """A desk clerk who may view and export the register but not reveal numbers."""
    from .factories import FACTORY_PASSWORD

    role = make.role(permissions=("residents.view", "residents.export"))
    user = make.user(roles=[role.name], estates=["示范小区"])
    return login_as(user.username, FACTORY_PASSWORD)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_treats_a_full_number_search_the_same_way(login_as, clerk, zhang, db_session, fmt):
    from io import BytesIO

    from openpyxl import load_workbook

    def exported(client):
        response = client.get(
            f"/admin/resident/export/{fmt}/", query_string={"search": zhang.mobile}
        )
        assert response.status_code == 200
        data = response.data
        response.close()  # as a WSGI server does: the temporary file goes away
        if fmt == "csv":
            return data.decode("utf-8-sig")
        sheet = load_workbook(BytesIO(data)).active
        return " ".join(str(c.value) for row in sheet.iter_rows() for c in row)

    assert "张伟" not in exported(clerk)
    assert number_searches(db_session) == []
    assert "张伟" in exported(login_as("admin"))
    [entry] = number_searches(db_session)
    assert entry.changes["field"] == "mobile"


def test_an_audited_search_reads_the_signed_in_account_once(login_as, zhang, count_queries):
    """Committing the search's audit entry leaves what the request loaded as it was read:
    the signed-in account is not read a second time to draw the page."""
    admin = login_as("admin")
    with count_queries() as queries:
        page = search(admin, zhang.mobile)
    assert "张伟" in page.text
    account_reads = [q for q in queries if re.match(r'\s*SELECT "?user"?\.id', q)]
    assert len(account_reads) == 1, account_reads


def test_a_number_search_draws_its_page_from_the_residents_it_found(
    app, login_as, zhang, db_session, count_queries
):
    """The residents found (and audited) are the page: they are loaded once, in the list's
    order, without first reading the page's keys."""
    with app.test_request_context():
        twin = save_resident(
            db_session,
            Resident(estate_id=zhang.estate_id),
            ResidentDetails(name="张伟明", mobile=zhang.mobile),
        )
        db_session.commit()
    admin, mobile = login_as("admin"), zhang.mobile
    with count_queries() as queries:
        page = search(admin, mobile)
    names = re.findall(r"row-link[^>]*>(张伟明|张伟)<", page.text)
    assert names == ["张伟", "张伟明"]  # sorted by name, as the list is
    reads = [q for q in queries if re.search(r"FROM resident\b", q) and "INSERT" not in q]
    assert len(reads) == 1, reads
    assert {e.entity_id for e in number_searches(db_session)} == {str(zhang.id), str(twin.id)}
