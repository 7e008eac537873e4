"""The staff admin: estate scoping, roles without escalation, audit, dashboard."""

import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from models import AuditLog, Building, Estate, Role, StaffEstate, Unit, User

from .factories import FACTORY_PASSWORD
from .helpers import csrf_from, login


@pytest.fixture
def other_estate(demo, make):
    """An estate the demo staff do not manage."""
    estate = make.estate(name="翠湖花园")
    building = make.building(estate, name="9栋")
    unit = make.unit(building, number="1808", floor=18, area=Decimal("99.99"), layout="3室1厅")
    return {"estate": estate.id, "building": building.id, "unit": unit.id}


def unit_fields(building_id, number, floor, area, layout):
    return {
        "building": str(building_id),
        "number": number,
        "floor": floor,
        "area": area,
        "layout": layout,
        "use": "residential",
    }


def admin_form(client, url, data, form_id=None):
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return client.post(url, data={**data, "csrf_token": csrf_from(page.text, form_id)})


def test_staff_do_not_see_other_estates_rows(login_as, other_estate):
    admin = login_as("admin")
    units = admin.get("/admin/unit/")
    assert "1808" not in units.text and "翠湖花园" not in units.text
    assert "(24)" in units.text  # the count is scoped too
    assert "翠湖花园" not in admin.get("/admin/estate/").text
    assert "9栋" not in admin.get("/admin/building/").text


def test_staff_of_another_estate_see_only_their_own_units(login_as, other_estate, make):
    make.user(username="cuihu.cw", roles=["finance"], estates=["翠湖花园"])
    units = login_as("cuihu.cw", FACTORY_PASSWORD).get("/admin/unit/")
    assert "1808" in units.text and "(1)" in units.text
    assert "示范小区" not in units.text


@pytest.mark.parametrize("view", ["details", "edit"])
def test_hidden_row_cannot_be_opened_by_id(login_as, other_estate, view):
    admin = login_as("admin")
    response = admin.get(f"/admin/unit/{view}/?id={other_estate['unit']}", follow_redirects=True)
    assert "1808" not in response.text
    assert "记录不存在" in response.text


def test_hidden_row_cannot_be_deleted_by_id(login_as, other_estate, db_session):
    admin = login_as("admin")
    page = admin.get("/admin/unit/")
    admin.post(
        "/admin/unit/delete/", data={"id": other_estate["unit"], "csrf_token": csrf_from(page.text)}
    )
    admin.post(
        "/admin/unit/action/",
        data={
            "action": "delete",
            "rowid": str(other_estate["unit"]),
            "csrf_token": csrf_from(page.text, "action_form"),
        },
    )
    assert db_session.get(Unit, other_estate["unit"]) is not None


def test_superuser_sees_every_estate(app, other_estate, db_session):
    user = db_session.scalar(select(User).where(User.username == "admin"))
    user.is_superuser = True
    db_session.commit()
    client = app.test_client()
    login(client, "admin")
    assert "翠湖花园" in client.get("/admin/estate/").text


def test_relationship_choices_and_ajax_lookups_are_scoped(login_as, other_estate):
    admin = login_as("admin")
    form = admin.get("/admin/unit/new/")
    assert "9栋" not in form.text
    found = admin.get("/admin/unit/ajax/lookup/?name=building&query=栋").get_json()
    names = {label for _id, label in found}
    assert names == {"1栋", "2栋"}


def test_a_unit_cannot_be_saved_into_another_estates_building(login_as, other_estate, db_session):
    admin = login_as("admin")
    response = admin_form(
        admin,
        "/admin/unit/new/",
        unit_fields(other_estate["building"], "2001", "20", "88.00", "2室1厅"),
    )
    assert response.status_code == 200
    assert (
        db_session.scalar(select(func.count()).select_from(Unit).where(Unit.number == "2001")) == 0
    )


def test_creating_a_unit_is_audited_with_actor_and_fields(login_as, demo, db_session):
    admin = login_as("admin")
    building = db_session.scalar(select(Building).where(Building.name == "1栋"))
    response = admin_form(
        admin,
        "/admin/unit/new/",
        unit_fields(building.id, "1901", "19", "101.255", "3室2厅"),
    )
    assert response.status_code == 302
    unit = db_session.scalar(select(Unit).where(Unit.number == "1901"))
    assert unit.area == Decimal("101.26")  # half-up to 0.01 m², exact
    entry = db_session.scalar(
        select(AuditLog).where(AuditLog.entity == "Unit", AuditLog.entity_id == str(unit.id))
    )
    assert entry.action == "create" and entry.actor_name == "admin"
    assert entry.changes["number"] == "1901" and entry.estate_id == demo
    listing = admin.get("/admin/audit/")
    assert "1901" in listing.text


def test_duplicate_unit_number_gets_a_clear_message(login_as, demo, db_session):
    admin = login_as("admin")
    building = db_session.scalar(select(Building).where(Building.name == "1栋"))
    response = admin_form(
        admin,
        "/admin/unit/new/",
        unit_fields(building.id, "101", "1", "90", "2室1厅"),
    )
    assert response.status_code in (200, 302)
    page = admin.get("/admin/unit/")
    assert "与其他记录冲突" in (response.text + page.text)
    count = db_session.scalar(
        select(func.count())
        .select_from(Unit)
        .where(Unit.building_id == building.id, Unit.number == "101")
    )
    assert count == 1


def test_audit_log_redacts_secrets(app, demo, db_session):
    client = app.test_client()
    login(client, "owner")
    page = client.get("/portal/profile")
    client.post(
        "/portal/profile",
        data={
            "current": "demo1234",
            "password": "Changed-pass-1",
            "confirm": "Changed-pass-1",
            "csrf_token": csrf_from(page.text),
        },
    )
    entries = db_session.scalars(
        select(AuditLog).where(AuditLog.entity == "User", AuditLog.action == "update")
    ).all()
    changes = [e.changes for e in entries if "password_hash" in e.changes]
    assert changes and all(c["password_hash"] == "***" for c in changes)
    dumped = json.dumps(
        [e.changes for e in db_session.scalars(select(AuditLog))], ensure_ascii=False
    )
    assert "pbkdf2" not in dumped and "Changed-pass-1" not in dumped


def test_audit_log_cannot_be_changed_by_anyone(app, demo, db_session):
    user = db_session.scalar(select(User).where(User.username == "admin"))
    user.is_superuser = True
    db_session.commit()
    client = app.test_client()
    login(client, "admin")
    entry_id = db_session.scalar(select(AuditLog.id).limit(1))
    assert client.get(f"/admin/audit/edit/?id={entry_id}").status_code == 403
    page = client.get("/admin/audit/")
    assert (
        client.post(
            "/admin/audit/delete/", data={"id": entry_id, "csrf_token": csrf_from(page.text)}
        ).status_code
        == 403
    )
    assert db_session.get(AuditLog, entry_id) is not None


def _custom_role_user(admin, db_session, permissions, username="kefu01"):
    response = admin_form(
        admin,
        "/admin/role/new/",
        {
            "name": "frontdesk",
            "label": "客服",
            "description": "前台接待",
            "permissions": permissions,
        },
    )
    assert response.status_code == 302, response.text[-500:]
    role = db_session.scalar(select(Role.id).where(Role.name == "frontdesk"))
    estate = db_session.scalar(select(Estate.id).where(Estate.name == "示范小区"))
    response = admin_form(
        admin,
        "/admin/user/new/",
        {
            "username": username,
            "display_name": "前台小李",
            "email": f"{username}@example.com",
            "roles": str(role),
            "estates": str(estate),
            "active": "y",
            "locale": "",
            "new_password": "Front-desk-9",
        },
    )
    assert response.status_code == 302, response.text[-800:]
    return username


def test_admin_makes_a_role_by_ticking_permissions(app, login_as, db_session):
    admin = login_as("admin")
    username = _custom_role_user(admin, db_session, ["dashboard.view", "property.view"])
    desk = app.test_client()
    assert login(desk, username, "Front-desk-9").location == "/admin/"
    assert desk.get("/admin/unit/").status_code == 200
    assert desk.get("/admin/unit/new/").status_code == 403
    assert desk.get("/admin/user/").status_code == 403


def test_nobody_grants_more_than_they_hold(app, login_as, db_session):
    admin = login_as("admin")
    username = _custom_role_user(
        admin, db_session, ["dashboard.view", "users.view", "users.edit"], username="hr01"
    )
    hr = app.test_client()
    login(hr, username, "Front-desk-9")
    admin_role = db_session.scalar(select(Role.id).where(Role.name == "admin"))
    form = hr.get("/admin/user/new/")
    assert "物业管理员" not in form.text  # the admin role is not even offered
    estate = db_session.scalar(select(Estate.id).where(Estate.name == "示范小区"))
    response = hr.post(
        "/admin/user/new/",
        data={
            "username": "sneaky",
            "email": "sneaky@example.com",
            "display_name": "x",
            "roles": str(admin_role),
            "estates": str(estate),
            "new_password": "Sneaky-pass-1",
            "csrf_token": csrf_from(form.text),
        },
    )
    assert response.status_code == 200, response.location
    assert db_session.scalar(select(User).where(User.username == "sneaky")) is None
    admin_id = db_session.scalar(select(User.id).where(User.username == "admin"))
    assert hr.get(f"/admin/user/edit/?id={admin_id}").status_code == 403
    assert "is_superuser" not in form.text


def test_deactivating_an_account_ends_its_sessions(app, login_as, db_session):
    tenant = login_as("tenant")
    admin = login_as("admin")
    user = db_session.scalar(select(User).where(User.username == "tenant"))
    page = admin.get(f"/admin/user/edit/?id={user.id}")
    assert page.status_code == 200
    roles = [str(r.id) for r in user.roles]
    response = admin.post(
        f"/admin/user/edit/?id={user.id}",
        data={
            "username": "tenant",
            "display_name": user.display_name,
            "email": user.email,
            "roles": roles,
            "locale": "",
            "csrf_token": csrf_from(page.text),
        },
    )  # "active" unticked
    assert response.status_code == 302
    assert tenant.get("/portal/").location.startswith("/login")
    assert login(app.test_client(), "tenant").status_code == 200


def test_an_account_of_another_estate_cannot_be_taken_over(app, login_as, other_estate, db_session):
    """An admin of two estates is visible to the admin of one of them, who holds the same
    permissions; changing that account's e-mail and password would be a takeover."""
    repair = db_session.scalar(select(User).where(User.username == "repair"))
    db_session.add(StaffEstate(user_id=repair.id, estate_id=other_estate["estate"]))
    db_session.commit()
    admin = login_as("admin")
    assert "repair@example.com" in admin.get("/admin/user/").text  # may see
    assert admin.get(f"/admin/user/details/?id={repair.id}").status_code == 200
    assert admin.get(f"/admin/user/edit/?id={repair.id}").status_code == 403
    page = admin.get("/admin/user/")
    response = admin.post(
        f"/admin/user/edit/?id={repair.id}",
        data={
            "username": "repair",
            "email": "attacker@example.com",
            "display_name": "x",
            "new_password": "Taken-over-1",
            "active": "y",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 403
    db_session.expire_all()
    assert db_session.get(User, repair.id).email == "repair@example.com"


def test_user_screen_applies_the_account_rules(login_as, db_session):
    admin = login_as("admin")
    estate = db_session.scalar(select(Estate.id).where(Estate.name == "示范小区"))
    base = {
        "display_name": "新人",
        "estates": str(estate),
        "active": "y",
        "new_password": "Welcome-Lark-51",
        "locale": "",
    }
    bad = admin_form(admin, "/admin/user/new/", {**base, "username": "new one", "email": "nope"})
    assert bad.status_code == 200
    assert "用户名为 3–64 个字母" in bad.text and "nope 不是有效的电子邮箱地址" in bad.text
    taken = admin_form(
        admin, "/admin/user/new/", {**base, "username": "newone", "email": "Owner@Example.COM"}
    )
    assert "已被使用" in taken.text
    ok = admin_form(
        admin, "/admin/user/new/", {**base, "username": "newone", "email": "New.One@Example.COM"}
    )
    assert ok.status_code == 302
    assert db_session.scalar(select(User.email).where(User.username == "newone")) == (
        "new.one@example.com"
    )


def test_granting_a_role_is_audited(login_as, db_session):
    admin = login_as("admin")
    user = db_session.scalar(select(User).where(User.username == "repair"))
    roles = {r.name: r.id for r in db_session.scalars(select(Role))}
    page = admin.get(f"/admin/user/edit/?id={user.id}")
    response = admin.post(
        f"/admin/user/edit/?id={user.id}",
        data={
            "username": "repair",
            "display_name": user.display_name,
            "email": user.email,
            "roles": [str(roles["repair"]), str(roles["finance"])],
            "estates": [str(e) for e in user.estate_ids],
            "active": "y",
            "locale": "",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 302
    entry = db_session.scalar(
        select(AuditLog).where(
            AuditLog.entity == "User", AuditLog.action == "update", AuditLog.actor_name == "admin"
        )
    )
    assert entry.changes == {"roles": {"added": [str(roles["finance"])], "removed": []}}


def test_a_lesser_role_cannot_strip_a_stronger_one(app, login_as, db_session):
    admin = login_as("admin")
    username = _custom_role_user(admin, db_session, ["dashboard.view", "roles.edit"], "roles01")
    clerk = app.test_client()
    login(clerk, username, "Front-desk-9")
    admin_role = db_session.scalar(select(Role.id).where(Role.name == "admin"))
    assert clerk.get(f"/admin/role/edit/?id={admin_role}").status_code == 403
    page = clerk.get("/admin/role/")
    response = clerk.post(
        f"/admin/role/edit/?id={admin_role}",
        data={
            "name": "admin",
            "label": "x",
            "permissions": ["dashboard.view"],
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 403
    assert admin.get("/admin/user/").status_code == 200


def test_estate_staff_do_not_read_other_estates_history(app, login_as, other_estate, db_session):
    repair = db_session.scalar(select(User).where(User.username == "repair"))
    repair.is_superuser = True  # works everywhere, and is one of "our" people too
    db_session.commit()
    boss = app.test_client()
    login(boss, "repair")
    admin_form(
        boss,
        "/admin/building/new/",
        {
            "estate": str(other_estate["estate"]),
            "name": "SECRET-B",
            "floors": "3",
        },
    )
    assert "SECRET-B" in boss.get("/admin/audit/").text
    assert "SECRET-B" not in login_as("admin").get("/admin/audit/").text


def test_dashboard_shows_figures_per_estate_in_few_queries(login_as, count_queries):
    admin = login_as("admin")
    with count_queries() as queries:
        page = admin.get("/admin/")
    assert page.status_code == 200
    assert "示范小区" in page.text
    assert '<span class="n">24</span>' in page.text
    tiles = page.text.count("data-tile=")  # each to-do tile is one count query
    money = 1  # what open bills owe, for those who may see bills
    assert len(queries) <= 12 + tiles + money, queries


def test_deleting_a_unit_is_audited_with_what_it_was(login_as, db_session, make):
    admin = login_as("admin")
    occupied = db_session.scalar(select(Unit).where(Unit.number == "602"))
    page = admin.get("/admin/unit/")
    refused = admin.post(
        "/admin/unit/delete/",
        data={"id": str(occupied.id), "csrf_token": csrf_from(page.text)},
        follow_redirects=True,
    )
    assert "仍有其他记录引用此记录" in refused.text  # people live there
    assert db_session.get(Unit, occupied.id) is not None
    unit_id = make.unit(occupied.building, number="1999").id
    response = admin.post(
        "/admin/unit/delete/", data={"id": str(unit_id), "csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(Unit, unit_id) is None
    entry = db_session.scalar(
        select(AuditLog).where(AuditLog.entity == "Unit", AuditLog.action == "delete")
    )
    assert entry.actor_name == "admin" and entry.changes["number"] == "1999"


@pytest.mark.parametrize(
    "url",
    [
        "/admin/unit/details/?id=99999999999999999999",
        "/admin/unit/edit/?id=99999999999999999999",
        "/admin/unit/details/?id=-1",
        "/admin/unit/details/?id=abc",
        "/admin/unit/?page=-1",
    ],
)
def test_odd_query_strings_get_an_ordinary_answer(login_as, url):
    response = login_as("admin").get(url)
    assert response.status_code in (200, 302), response.status_code


@pytest.mark.parametrize(
    "url", ["/admin/unit/?search=%00", "/admin/unit/ajax/lookup/?name=building&query=a%00"]
)
def test_nul_characters_are_refused_plainly(login_as, url):
    response = login_as("admin").get(url)
    assert response.status_code == 400 and "无法处理该请求" in response.text


def test_finance_sees_what_is_owed_on_the_dashboard_and_repair_does_not(
    login_as, db_session, demo, count_queries
):
    """The money on the home page: the demo's open bills' total and how many are overdue,
    each opening the arrears; one more query, and only for those who may see bills."""
    from datetime import date

    from sqlalchemy import func, select

    from models import OPEN_STATUSES, Bill
    from propadmin.services.bill_explain import yuan

    open_bills = select(Bill).where(Bill.estate_id == demo, Bill.status.in_(OPEN_STATUSES))
    bills = db_session.scalars(open_bills).all()
    owed = sum((b.owed for b in bills), start=Decimal("0.00"))
    overdue = sum(1 for b in bills if b.due_date < date.today())
    assert owed > 0 and db_session.scalar(select(func.count()).select_from(open_bills.subquery()))

    finance = login_as("finance")
    page = finance.get("/admin/")
    assert f'<span class="n">{yuan(owed)}</span><span class="l">未结清账单欠费</span>' in page.text
    assert f'<span class="n">{overdue}</span><span class="l">逾期账单数</span>' in page.text
    assert 'href="/admin/arrears/"' in page.text
    repair = login_as("repair").get("/admin/").text
    assert "未结清账单欠费" not in repair and "¥" not in repair
