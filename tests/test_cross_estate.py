"""Two estates, each with its own administrator: nothing of one reaches the other's staff —
not by list, by id, by lookup, by export or by mass action; roles included."""

from datetime import date
from decimal import Decimal

import pytest
from flask_admin.model import BaseModelView
from sqlalchemy import select

from models import (
    AdjustmentKind,
    AuditLog,
    Bill,
    BillAdjustment,
    BillingMethod,
    BillLine,
    BillReminder,
    BillStatus,
    Building,
    Estate,
    FeeItem,
    FeeKind,
    FeeRate,
    LateFeePolicy,
    MailStatus,
    Meter,
    MeterReading,
    Occupancy,
    OutboxMessage,
    ParkingSpace,
    Payment,
    PaymentMethod,
    PrepaidAccount,
    Relation,
    Resident,
    Role,
    StaffEstate,
    Unit,
    User,
    Vehicle,
)

from .estate_b_notices import estate_b_notices
from .estate_b_repairs import estate_b_repairs
from .helpers import csrf_from, id_number, login

# Words that only estate B's records contain: none may appear on estate A's pages.
B_WORDS = (
    "翠湖花园", "翠9栋", "7788", "欧阳翠湖", "浙A7T788", "翠湖前台", "cuihu_admin", "翠湖通知",
)


@pytest.fixture
def estate_b(app, demo, db_session):
    """A second estate with one of everything, and its own administrator."""
    admin_role = db_session.scalar(select(Role).where(Role.name == "admin"))
    estate = Estate(name="翠湖花园", address="杭州市西湖区翠湖路 1 号")
    building = Building(estate=estate, name="翠9栋", floors=20)
    unit = Unit(building=building, number="7788", floor=7, area=Decimal("99.99"))
    resident = Resident(estate=estate, name="欧阳翠湖", id_number=id_number("33010619850101001"))
    occupancy = Occupancy(
        unit=unit, resident=resident, relation=Relation.owner, start_date=date(2020, 1, 1)
    )
    vehicle = Vehicle(estate=estate, plate="浙A7T788", owner=resident)
    space = ParkingSpace(estate=estate, code="C-7788", unit=unit)
    role = Role(name="cuihu_desk", label="翠湖前台", estate=estate)
    role.set_permissions({"dashboard.view", "property.view"})
    admin = User(
        username="cuihu_admin",
        email="cuihu_admin@example.com",
        display_name="翠湖管理员",
        password_hash="!",
        roles=[admin_role],
        memberships=[StaffEstate(estate=estate)],
    )
    db_session.add_all([estate, building, unit, resident, occupancy, vehicle, space, role, admin])
    db_session.flush()
    mail = OutboxMessage(
        recipient=admin.email,
        user_id=admin.id,
        subject="翠湖通知",
        body_text="x",
        status=MailStatus.failed,
    )
    db_session.add(mail)
    db_session.commit()
    with app.app_context():
        from propadmin.services.accounts import hash_password

        admin.password_hash = hash_password("Cuihu-admin-2026!")
    db_session.commit()
    money = _estate_b_money(db_session, estate, unit, resident)
    repairs = estate_b_repairs(db_session, estate, unit, resident, admin)
    notices = estate_b_notices(db_session, estate, unit, resident, admin)
    audit = db_session.scalar(
        select(AuditLog.id).where(AuditLog.estate_id == estate.id).order_by(AuditLog.id)
    )
    return {
        "estate": estate.id,
        "building": building.id,
        "unit": unit.id,
        "parking": space.id,
        "resident": resident.id,
        "occupancy": occupancy.id,
        "vehicle": vehicle.id,
        "role": role.id,
        "user": admin.id,
        "outbox": mail.id,
        "audit": audit,
        **money,
        **repairs,
        **notices,
    }


def _estate_b_money(db_session, estate, unit, resident) -> dict:
    """Estate B's fee item, rate, meter, reading, bill, payment, prepaid balance,
    late-fee policy, adjustment and reminder (endpoint → id)."""
    item = FeeItem(
        estate=estate, name="翠湖物业费", kind=FeeKind.property, method=BillingMethod.per_area
    )
    rate = FeeRate(fee_item=item, effective_from=date(2020, 1, 1), unit_price=Decimal("3.3"))
    meter = Meter(estate=estate, fee_item=item, unit=unit, code="CH7788M")
    reading = MeterReading(
        meter=meter, period="2026-10", read_on=date(2026, 10, 31), value=Decimal(7788)
    )
    bill = Bill(
        estate=estate, building_id=unit.building_id, unit=unit, period="2026-10",
        payer=resident, payer_name=resident.name, amount=Decimal("329.97"),
        paid=Decimal("100.00"), status=BillStatus.partial, due_date=date(2026, 11, 15),
    )
    bill.lines.append(
        BillLine(
            fee_item=item, rate=rate, method=BillingMethod.per_area, quantity=Decimal("99.99"),
            unit_price=Decimal("3.3"), amount=Decimal("329.97"),
        )
    )
    payment = Payment(
        estate=estate, unit=unit, bill=bill, payer=resident, amount=Decimal("100.00"),
        method=PaymentMethod.cash, receipt_no=1,
    )
    prepaid = PrepaidAccount(estate=estate, unit=unit, balance=Decimal("77.88"))
    policy = LateFeePolicy(estate=estate, grace_days=7, daily_percent=Decimal("0.03"))
    adjustment = BillAdjustment(
        bill=bill, kind=AdjustmentKind.discount, amount=Decimal("1.00"), reason="翠湖减免"
    )
    reminder = BillReminder(
        estate=estate, payer=resident, sent_on=date(2026, 11, 20), bills=1,
        amount=Decimal("229.97"),
    )
    rows = (item, rate, meter, reading, bill, payment, prepaid, policy, adjustment, reminder)
    db_session.add_all(rows)
    db_session.commit()
    return {
        "fee_item": item.id, "fee_rate": rate.id, "meter": meter.id, "meter_reading": reading.id,
        "bill": bill.id, "payment": payment.id, "prepaid": prepaid.id,
        "late_fee_policy": policy.id, "bill_adjustment": adjustment.id,
        "bill_reminder": reminder.id,
    }


def model_views(app):
    return [
        v for v in app.extensions["propadmin.admin"]._views if isinstance(v, BaseModelView)
    ]


def assert_none_of_b(text, where):
    leaked = [w for w in B_WORDS if w in text]
    assert not leaked, f"{where} shows {leaked}"


def test_every_model_view_has_a_row_of_estate_b(app, estate_b):
    """The walk below covers every model view of the admin (a new one must be added)."""
    assert {v.endpoint for v in model_views(app)} <= set(estate_b)


def test_lists_show_nothing_of_another_estate(app, login_as, estate_b):
    admin = login_as("admin")
    for view in model_views(app):
        page = admin.get(f"/admin/{view.endpoint}/")
        assert page.status_code == 200, view.endpoint
        assert_none_of_b(page.text, f"/admin/{view.endpoint}/")


@pytest.mark.parametrize("page", ["details", "edit"])
def test_no_row_of_another_estate_opens_by_id(app, login_as, estate_b, page):
    admin = login_as("admin")
    for view in model_views(app):
        url = f"/admin/{view.endpoint}/{page}/?id={estate_b[view.endpoint]}"
        response = admin.get(url, follow_redirects=True)
        assert response.status_code in (200, 403, 404), (url, response.status_code)
        assert_none_of_b(response.text, url)
        if response.status_code == 200:
            # "no such record", or (a screen without that page) back to the list
            shown_list = response.request.path == f"/admin/{view.endpoint}/"
            assert "记录不存在" in response.text or shown_list, url


def test_no_row_of_another_estate_is_deleted_by_id_or_mass_action(
    app, login_as, estate_b, db_session
):
    admin = login_as("admin")
    for view in model_views(app):
        row_id = str(estate_b[view.endpoint])
        page = admin.get(f"/admin/{view.endpoint}/")
        token = csrf_from(page.text)
        admin.post(f"/admin/{view.endpoint}/delete/", data={"id": row_id, "csrf_token": token})
        for action in ("delete", "requeue"):
            admin.post(
                f"/admin/{view.endpoint}/action/",
                data={"action": action, "rowid": row_id, "csrf_token": token},
            )
    db_session.expire_all()
    for model, key in [
        (Estate, "estate"),
        (Building, "building"),
        (Unit, "unit"),
        (ParkingSpace, "parking"),
        (Resident, "resident"),
        (Occupancy, "occupancy"),
        (Vehicle, "vehicle"),
        (Role, "role"),
        (User, "user"),
        (AuditLog, "audit"),
    ]:
        assert db_session.get(model, estate_b[key]) is not None, key
    assert db_session.get(OutboxMessage, estate_b["outbox"]).status == MailStatus.failed


def test_notice_pages_show_nothing_of_another_estate(login_as, estate_b):
    """The notices are pages of their own, not a model view: the list, the page by id,
    the editor and the moves."""
    admin = login_as("admin")
    for url in ("/admin/notices/", "/admin/notices/?status=published", "/admin/notices/new"):
        page = admin.get(url)
        assert page.status_code == 200, url
        assert_none_of_b(page.text, url)
    b_id = estate_b["notice"]
    assert admin.get(f"/admin/notices/{b_id}").status_code == 404
    assert admin.get(f"/admin/notices/{b_id}/edit").status_code == 404
    token = csrf_from(admin.get("/admin/notices/").text)
    moved = admin.post(f"/admin/notices/{b_id}/move",
                       data={"action": "withdraw", "version": "1", "csrf_token": token})
    assert moved.status_code == 404


def test_lookups_offer_nothing_of_another_estate(app, login_as, estate_b):
    admin = login_as("admin")
    checked = 0
    for view in model_views(app):
        for name in getattr(view, "_form_ajax_refs", None) or {}:
            for query in ("翠", "7788", "欧阳"):
                url = f"/admin/{view.endpoint}/ajax/lookup/?name={name}&query={query}"
                found = admin.get(url)
                assert found.status_code == 200, url
                assert_none_of_b(found.text.encode().decode("unicode_escape"), url)
                checked += 1
    assert checked >= 15


def test_exports_hold_nothing_of_another_estate(app, login_as, estate_b):
    admin = login_as("admin")
    exported = 0
    for view in model_views(app):
        if view.export_permission is None:
            continue
        response = admin.get(f"/admin/{view.endpoint}/export/csv/")
        assert response.status_code == 200, view.endpoint
        assert_none_of_b(response.get_data(as_text=True), f"{view.endpoint} export")
        exported += 1
    assert exported >= 5


def test_the_other_admin_sees_their_estate_and_not_ours(app, estate_b, db_session):
    other = app.test_client()
    assert login(other, "cuihu_admin", "Cuihu-admin-2026!").status_code == 302
    residents = other.get("/admin/resident/").text
    assert "欧阳翠湖" in residents and "张伟" not in residents
    assert "示范小区" not in other.get("/admin/estate/").text
    audit = other.get("/admin/audit/").text
    owner = db_session.scalar(select(User).where(User.username == "owner"))
    assert f">{owner.username}<" not in audit


def test_a_lookup_given_another_estates_id_is_a_form_error(login_as, estate_b, db_session):
    """Linking our vehicle to their resident by typing the id is refused by the field."""
    admin = login_as("admin")
    vehicle = db_session.scalar(select(Vehicle).where(Vehicle.plate.like("沪%")))
    url = f"/admin/vehicle/edit/?id={vehicle.id}"
    page = admin.get(url)
    response = admin.post(
        url,
        data={
            "estate": str(vehicle.estate_id),
            "plate": vehicle.plate,
            "brand": "",
            "colour": "",
            "owner": str(estate_b["resident"]),
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 200
    assert "您管理的小区中没有这条记录" in response.text
    db_session.expire_all()
    assert db_session.get(Vehicle, vehicle.id).owner_id != estate_b["resident"]


# -- roles -------------------------------------------------------------------------
def new_role(client, **fields):
    """Submit the role form as a person would: its own token, one permission by default."""
    page = client.get("/admin/role/new/")
    data = {"permissions": ["dashboard.view"], **fields, "csrf_token": csrf_from(page.text)}
    return client.post("/admin/role/new/", data=data)

def test_role_list_shows_shared_roles_and_our_own_only(login_as, estate_b):
    page = login_as("admin").get("/admin/role/").text
    assert "物业管理员" in page and "财务人员" in page
    assert "翠湖前台" not in page and "cuihu_desk" not in page


def test_an_estate_admin_cannot_change_another_estates_role(login_as, estate_b, db_session):
    admin = login_as("admin")
    url = f"/admin/role/edit/?id={estate_b['role']}"
    page = admin.get("/admin/role/")
    response = admin.post(
        url,
        data={
            "name": "cuihu_desk",
            "label": "翠湖前台",
            "permissions": ["dashboard.view", "residents.reveal"],
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code in (302, 404) or "记录不存在" in response.text
    db_session.expire_all()
    assert "residents.reveal" not in db_session.get(Role, estate_b["role"]).permissions


@pytest.mark.parametrize("name", ["admin", "finance", "owner"])
def test_built_in_roles_are_read_only_to_an_estate_admin(login_as, demo, db_session, name):
    admin = login_as("admin")
    role = db_session.scalar(select(Role).where(Role.name == name))
    before = set(role.permissions)
    assert admin.get(f"/admin/role/details/?id={role.id}").status_code == 200
    assert admin.get(f"/admin/role/edit/?id={role.id}").status_code == 403
    page = admin.get("/admin/role/")
    token = csrf_from(page.text)
    edit = admin.post(
        f"/admin/role/edit/?id={role.id}",
        data={"name": name, "label": "x", "permissions": ["dashboard.view"], "csrf_token": token},
    )
    assert edit.status_code == 403
    deleted = admin.post("/admin/role/delete/", data={"id": role.id, "csrf_token": token})
    assert deleted.status_code == 403
    admin.post(
        "/admin/role/action/", data={"action": "delete", "rowid": str(role.id), "csrf_token": token}
    )
    db_session.expire_all()
    role = db_session.scalar(select(Role).where(Role.name == name))
    assert role is not None and role.permissions == before


def test_an_estate_admins_new_role_belongs_to_their_estate_and_stays_editable(
    login_as, demo, estate_b, db_session
):
    admin = login_as("admin")
    assert new_role(admin, name="frontdesk", label="客服").status_code == 302
    role = db_session.scalar(select(Role).where(Role.name == "frontdesk"))
    assert role.estate_id == demo
    assert admin.get(f"/admin/role/edit/?id={role.id}").status_code == 200
    # ...and the other estate's admin does not even see it.
    other = admin.application.test_client()
    login(other, "cuihu_admin", "Cuihu-admin-2026!")
    assert "客服" not in other.get("/admin/role/").text
    response = other.get(f"/admin/role/edit/?id={role.id}", follow_redirects=True)
    assert "记录不存在" in response.text


def test_an_estate_admin_cannot_make_a_role_for_every_estate(login_as, db_session, estate_b):
    """With two estates there is no default: the role must name one of theirs."""
    admin_user = db_session.scalar(select(User).where(User.username == "admin"))
    admin_user.memberships.append(StaffEstate(estate_id=estate_b["estate"]))
    db_session.commit()
    response = new_role(login_as("admin"), name="everywhere", label="全局")
    assert response.status_code == 200
    assert "请选择此角色所属的小区" in response.text
    assert db_session.scalar(select(Role).where(Role.name == "everywhere")) is None


def test_roles_of_other_estates_are_not_offered_on_the_account_form(login_as, estate_b):
    form = login_as("admin").get("/admin/user/new/").text
    assert "财务人员" in form
    assert "翠湖前台" not in form


def test_a_role_made_without_a_code_gets_one(login_as, db_session):
    assert new_role(login_as("admin"), label="客服", name="").status_code == 302
    role = db_session.scalar(select(Role).where(Role.label == "客服"))
    assert role.name.startswith("role-") and len(role.name) > 5


def test_the_role_form_groups_permissions_by_module(login_as):
    form = login_as("admin").get("/admin/role/new/").text
    assert "<legend>住户</legend>" in form
    assert "导出住户登记" in form
    assert 'class="form-control" id="permissions"' not in form


def test_an_estate_admin_creates_an_estate_and_manages_it(login_as, db_session):
    admin = login_as("admin")
    page = admin.get("/admin/estate/new/")
    response = admin.post(
        "/admin/estate/new/",
        data={"name": "新小区甲", "address": "杭州", "phone": "0571-1234", "timezone":
              "Asia/Shanghai", "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 302
    estate = db_session.scalar(select(Estate).where(Estate.name == "新小区甲"))
    assert estate is not None
    assert "新小区甲" in admin.get("/admin/estate/").text


def test_a_colleague_of_both_estates_does_not_carry_the_others_accounts_into_our_log(
    app, login_as, estate_b, db_session, make
):
    """An admin of both estates edits an account of estate B: estate A's own admin does
    not see that account's name or changes in A's audit log."""
    both = make.user(roles=["admin"], estates=[
        db_session.get(Estate, estate_b["estate"]),
        db_session.scalar(select(Estate).where(Estate.name == "示范小区")),
    ])
    colleague = app.test_client()
    from .factories import FACTORY_PASSWORD

    assert login(colleague, both.username, FACTORY_PASSWORD).status_code == 302
    url = f"/admin/user/edit/?id={estate_b['user']}"
    page = colleague.get(url)
    assert page.status_code == 200
    saved = colleague.post(
        url,
        data={"username": "cuihu_admin", "display_name": "翠湖新名字", "email":
              "cuihu_admin@example.com", "active": "y", "locale": "",
              "estates": str(estate_b["estate"]),
              "roles": str(db_session.scalar(select(Role.id).where(Role.name == "admin"))),
              "csrf_token": csrf_from(page.text, "model_form") if 'id="model_form"' in page.text
              else csrf_from(page.text)},
    )
    assert saved.status_code == 302
    db_session.expire_all()
    assert db_session.get(User, estate_b["user"]).display_name == "翠湖新名字"
    ours = login_as("admin").get("/admin/audit/").text
    assert "翠湖新名字" not in ours and "翠湖管理员" not in ours
