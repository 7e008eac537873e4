"""Portal accounts for the people who live there: the office invites a resident from
their page (a printed one-time code, or a link by mail), the resident activates the
account with it and signs in with their mobile number; the office hands out one-time
reset codes to people without mail; accounts need no e-mail address."""

import itertools
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from models import (
    UNUSABLE_PASSWORD,
    AccessCode,
    Estate,
    OutboxMessage,
    Relation,
    Resident,
    User,
    utcnow,
)

from .helpers import DEMO_PASSWORD, Mailbox, csrf_from, login, post_form

CODE = re.compile(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}\b")
NEW_PASSWORD = "Lantern-orchid-58"


# -- helpers ---------------------------------------------------------------------------
BUILDINGS = itertools.count(1)


def demo_unit(make, db_session, demo):
    """A new unit in a new building of the demo estate."""
    estate = db_session.get(Estate, demo)
    return make.unit(building=make.building(estate=estate, name=f"邀{next(BUILDINGS)}栋"))


def resident_in_demo(make, db_session, demo, relation=Relation.owner, **details):
    return make.resident(unit=demo_unit(make, db_session, demo), relation=relation, **details)


def portal_action(client, resident_id: int, action: str):
    """What the office's button on the resident page does."""
    page = client.get(f"/admin/resident/details/?id={resident_id}")
    return client.post(
        f"/admin/resident/portal-access/?id={resident_id}",
        data={"action": action, "csrf_token": csrf_from(page.text)},
    )


def printed_code(response) -> str:
    assert response.status_code == 200, response.status_code
    match = CODE.search(response.text.split('class="code"', 1)[1])
    assert match, "no code on the printed page"
    return match.group(0)


def enter_code(client, code: str, page: str = "/activate"):
    return post_form(client, page, {"code": code})


def choose_password(client, password: str, confirm: str | None = None):
    return post_form(
        client, "/set-password", {"password": password, "confirm": confirm or password}
    )


def reread(db_session, model, row_id):
    db_session.expire_all()
    return db_session.get(model, row_id)


# -- inviting --------------------------------------------------------------------------
def test_admin_invites_resident_and_gets_a_printable_code(login_as, make, db_session, demo):
    resident = resident_in_demo(make, db_session, demo, name="赵一鸣")
    admin = login_as("admin")
    page = admin.get(f"/admin/resident/details/?id={resident.id}")
    assert "邀请开通业主服务" in page.text

    sheet = portal_action(admin, resident.id, "invite_code")
    code = printed_code(sheet)
    assert "示范小区" in sheet.text and "赵一鸣" in sheet.text
    assert "https://estate.example.test/activate" in sheet.text
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", sheet.text), "no expiry on the sheet"

    resident = reread(db_session, Resident, resident.id)
    user = resident.user
    assert user is not None and user.role_names == {"owner"}
    assert user.password_hash == UNUSABLE_PASSWORD and user.email is None
    stored = db_session.scalars(select(AccessCode).where(AccessCode.user_id == user.id)).all()
    assert len(stored) == 1
    # Only a hash is kept: the code is nowhere in the row.
    row = stored[0]
    values = [str(getattr(row, c.key)) for c in AccessCode.__table__.columns]
    assert not any(code.replace("-", "") in v or code in v for v in values)
    # The page with the code is shown once and never kept by a cache.
    assert sheet.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("relation", "rented", "role"),
    [
        (Relation.owner, False, "owner"),
        (Relation.tenant, False, "tenant"),
        (Relation.family, False, "owner"),  # lives in the owner's household
        (Relation.family, True, "tenant"),  # lives in a tenant's household
    ],
)
def test_the_account_gets_the_role_of_the_relation(
    login_as, make, db_session, demo, relation, rented, role
):
    unit = demo_unit(make, db_session, demo)
    make.resident(unit=unit, relation=Relation.owner, name="房东")
    if rented:
        make.resident(unit=unit, relation=Relation.tenant, name="租客")
    person = make.resident(unit=unit, relation=relation, name="被邀请人")
    if relation is Relation.owner:
        person = make.resident(unit=unit, relation=Relation.owner, name="被邀请人")
    printed_code(portal_action(login_as("admin"), person.id, "invite_code"))
    assert reread(db_session, Resident, person.id).user.role_names == {role}


def test_resident_living_nowhere_cannot_be_invited(login_as, make, db_session, demo):
    estate = db_session.get(Estate, demo)
    nowhere = make.resident(estate=estate, name="无房户")
    admin = login_as("admin")
    response = portal_action(admin, nowhere.id, "invite_code")
    assert response.status_code == 302
    page = admin.get(response.location)
    assert "无房户 目前不住在任何房屋" in page.text
    assert reread(db_session, Resident, nowhere.id).user is None


def test_resident_already_using_the_portal_gets_a_reset_code_instead(login_as, db_session):
    zhang = db_session.scalar(select(Resident).where(Resident.name == "张伟"))
    admin = login_as("admin")
    page = admin.get(f"/admin/resident/details/?id={zhang.id}")
    assert "重置密码的一次性验证码" in page.text or "发放重置验证码" in page.text
    response = portal_action(admin, zhang.id, "invite_code")
    assert response.status_code == 302
    assert "已在使用业主服务" in admin.get(response.location).text


def test_a_new_code_ends_the_earlier_one(login_as, make, db_session, demo, app):
    resident = resident_in_demo(make, db_session, demo)
    admin = login_as("admin")
    first = printed_code(portal_action(admin, resident.id, "invite_code"))
    second = printed_code(portal_action(admin, resident.id, "invite_code"))
    assert first != second
    response = enter_code(app.test_client(), first)
    assert response.status_code == 400 and "已使用或已被新的验证码取代" in response.text
    assert enter_code(app.test_client(), second).status_code == 302


# -- activating ------------------------------------------------------------------------
def test_resident_activates_with_the_code_and_signs_in_with_the_mobile(
    login_as, make, db_session, demo, app
):
    resident = resident_in_demo(make, db_session, demo, name="钱多多", mobile="17700009901")
    code = printed_code(portal_action(login_as("admin"), resident.id, "invite_code"))

    person = app.test_client()
    # Typed as people type: lower case, without the dash, with spaces around.
    entered = enter_code(person, f"  {code.replace('-', '').lower()} ")
    assert entered.status_code == 302 and entered.location == "/set-password"
    form = person.get("/set-password")
    username = reread(db_session, Resident, resident.id).user.username
    assert username in form.text
    assert "手机号" in form.text and "至少 10 个字符" in form.text  # rules before the first try

    weak = choose_password(person, "qianduoduo")
    assert weak.status_code == 200
    assert "不能由您的姓名" in weak.text.split("<form", 1)[1] or "太常见" in weak.text
    differ = choose_password(person, NEW_PASSWORD, "Lantern-orchid-59")
    assert "两次输入的密码不一致" in differ.text

    done = choose_password(person, NEW_PASSWORD)
    assert done.status_code == 302 and done.location == "/portal/"
    assert "钱多多" in person.get("/portal/").text

    by_mobile = login(app.test_client(), "+86 177-0000-9901", NEW_PASSWORD)
    assert by_mobile.status_code == 302 and by_mobile.location == "/portal/"
    assert login(app.test_client(), username, NEW_PASSWORD).status_code == 302

    again = enter_code(app.test_client(), code)
    assert again.status_code == 400 and "已使用" in again.text


def test_expired_code_is_refused(login_as, make, db_session, demo, app):
    resident = resident_in_demo(make, db_session, demo)
    code = printed_code(portal_action(login_as("admin"), resident.id, "invite_code"))
    row = db_session.scalar(select(AccessCode).order_by(AccessCode.id.desc()))
    row.expires_at = utcnow() - timedelta(minutes=1)
    db_session.commit()
    response = enter_code(app.test_client(), code)
    assert response.status_code == 400 and "已过期" in response.text


def test_code_that_expires_between_entering_and_choosing_is_refused(
    login_as, make, db_session, demo, app
):
    resident = resident_in_demo(make, db_session, demo)
    code = printed_code(portal_action(login_as("admin"), resident.id, "invite_code"))
    person = app.test_client()
    assert enter_code(person, code).status_code == 302
    token = csrf_from(person.get("/set-password").text)
    row = db_session.scalar(select(AccessCode).order_by(AccessCode.id.desc()))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db_session.commit()
    response = person.post(
        "/set-password",
        data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302 and response.location == "/activate"
    assert reread(db_session, Resident, resident.id).user.password_hash == UNUSABLE_PASSWORD


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("ABCD-EFGH", "验证码不正确"),
        ("", "请输入您拿到的验证码"),
        ("X" * 5000, "这不是验证码"),
        ("'; DROP TABLE user; --", "验证码不正确"),
        ("码码码码-码码码码", "验证码不正确"),
    ],
)
def test_wrong_codes_get_a_clear_error(app, demo, typed, message):
    response = enter_code(app.test_client(), typed)
    assert response.status_code in (200, 400)
    assert message in response.text


def test_set_password_page_without_a_code_sends_to_the_code_page(app, demo):
    response = app.test_client().get("/set-password")
    assert response.status_code == 302 and response.location == "/activate"


@pytest.mark.config(ACCESS_CODE_LIMIT_PER_ADDRESS="3 per minute")
def test_guessing_codes_is_throttled(login_as, make, db_session, demo, app):
    resident = resident_in_demo(make, db_session, demo)
    code = printed_code(portal_action(login_as("admin"), resident.id, "invite_code"))
    guesser = app.test_client()
    for guess in ("AAAA-AAAA", "CCCC-CCCC", "DDDD-DDDD"):
        assert enter_code(guesser, guess).status_code == 400
    # Over the limit even the right code waits: the limit is not a hint.
    blocked = enter_code(guesser, code)
    assert blocked.status_code == 429 and "尝试次数过多" in blocked.text
    assert blocked.text.count("尝试次数过多") == 1


def test_activation_code_is_not_a_reset_code(login_as, make, db_session, demo, app):
    resident = resident_in_demo(make, db_session, demo)
    code = printed_code(portal_action(login_as("admin"), resident.id, "invite_code"))
    response = enter_code(app.test_client(), code, page="/reset-code")
    assert response.status_code == 400 and "验证码不正确" in response.text


# -- by mail ---------------------------------------------------------------------------
def test_invitation_by_mail_activates_once_and_leaves_no_link_behind(
    app, demo, smtp, make, db_session
):
    resident = resident_in_demo(make, db_session, demo, name="孙邮件", email="sun@example.org")
    admin = app.test_client()
    login(admin, "admin")
    sent = portal_action(admin, resident.id, "invite_mail")
    assert sent.status_code == 302
    assert "sun@example.org" in admin.get(sent.location).text

    message = smtp.mailbox.wait(1)[0]
    assert message["To"] == "sun@example.org"
    link = re.search(r"https://estate\.example\.test/activate/\S+", Mailbox.text(message))[0]
    stored = db_session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
    assert link not in stored.body_text and link not in (stored.body_html or "")

    person = app.test_client()
    opened = person.get(link.removeprefix("https://estate.example.test"))
    assert opened.status_code == 302 and opened.location == "/set-password"
    form = person.get("/set-password")
    assert form.status_code == 200 and link.rsplit("/", 1)[1] not in form.text
    assert choose_password(person, NEW_PASSWORD).location == "/portal/"
    assert login(app.test_client(), "sun@example.org", NEW_PASSWORD).status_code == 302

    reused = app.test_client()
    reused.get(link.removeprefix("https://estate.example.test"))
    assert reused.get("/set-password").location == "/activate"


def test_mail_invitation_needs_an_address(login_as, make, db_session, demo):
    resident = resident_in_demo(make, db_session, demo)
    admin = login_as("admin")
    assert "发送链接到" not in admin.get(f"/admin/resident/details/?id={resident.id}").text
    response = portal_action(admin, resident.id, "invite_mail")
    assert response.status_code == 302
    assert "没有电子邮箱" in admin.get(response.location).text
    assert reread(db_session, Resident, resident.id).user is None  # nothing half-made


# -- reset codes from the office -------------------------------------------------------
def test_office_reset_code_lets_the_owner_choose_a_new_password(login_as, db_session, app):
    zhang = db_session.scalar(select(Resident).where(Resident.name == "张伟"))
    code = printed_code(portal_action(login_as("admin"), zhang.id, "reset_code"))
    person = app.test_client()
    assert "没有电子邮箱" in person.get("/forgot-password").text
    assert enter_code(person, code, page="/reset-code").location == "/set-password"
    assert choose_password(person, NEW_PASSWORD).location == "/portal/"
    assert login(app.test_client(), "owner", NEW_PASSWORD).status_code == 302
    assert login(app.test_client(), "owner", DEMO_PASSWORD).status_code == 200
    assert enter_code(app.test_client(), code, page="/reset-code").status_code == 400


def test_staff_without_mail_gets_a_reset_code_from_their_account_page(
    login_as, make, db_session, demo, app
):
    estate = db_session.get(Estate, demo)
    clerk = make.user(username="clerk_nomail", email=None, roles=["finance"], estates=[estate])
    admin = login_as("admin")
    page = admin.get(f"/admin/user/details/?id={clerk.id}")
    assert "发放重置验证码" in page.text
    sheet = admin.post(
        f"/admin/user/reset-code/?id={clerk.id}", data={"csrf_token": csrf_from(page.text)}
    )
    code = printed_code(sheet)
    person = app.test_client()
    assert enter_code(person, code, page="/reset-code").status_code == 302
    assert choose_password(person, NEW_PASSWORD).location == "/admin/"
    assert login(app.test_client(), "clerk_nomail", NEW_PASSWORD).status_code == 302


def test_forgot_password_page_names_the_offices_and_the_code_page(app, demo, make):
    make.estate(name="第二小区", phone="0571-8888 0000")
    page = app.test_client().get("/forgot-password")
    assert "示范小区" in page.text and "021-5888 8888" in page.text
    assert "第二小区" in page.text and "0571-8888 0000" in page.text
    assert 'href="/reset-code"' in page.text
    assert "上海市浦东新区" not in page.text  # public page: names and phones only


# -- other estates ---------------------------------------------------------------------
@pytest.fixture
def other_admin(app, demo, make):
    """The administrator of another estate, signed in."""
    estate = make.estate(name="翠湖花园")
    make.user(username="cuihu_admin", roles=["admin"], estates=[estate], password=NEW_PASSWORD)
    client = app.test_client()
    assert login(client, "cuihu_admin", NEW_PASSWORD).status_code == 302
    return client


def test_another_estates_admin_cannot_invite_our_residents(
    other_admin, make, db_session, demo
):
    resident = resident_in_demo(make, db_session, demo)
    token = csrf_from(other_admin.get("/admin/").text)
    for action in ("invite_code", "invite_mail", "reset_code"):
        response = other_admin.post(
            f"/admin/resident/portal-access/?id={resident.id}",
            data={"action": action, "csrf_token": token},
        )
        assert response.status_code == 404
    assert reread(db_session, Resident, resident.id).user is None


def test_another_estates_admin_cannot_issue_codes_for_our_accounts(other_admin, db_session):
    owner = db_session.scalar(select(User).where(User.username == "owner"))
    token = csrf_from(other_admin.get("/admin/").text)
    response = other_admin.post(
        f"/admin/user/reset-code/?id={owner.id}", data={"csrf_token": token}
    )
    assert response.status_code == 404
    assert db_session.scalar(select(AccessCode.id)) is None


@pytest.mark.parametrize("bad_id", ["", "abc", "99999999", "1 OR 1=1", "9" * 40])
def test_portal_access_with_a_bad_id_is_not_found(login_as, bad_id):
    admin = login_as("admin")
    token = csrf_from(admin.get("/admin/").text)
    response = admin.post(
        f"/admin/resident/portal-access/?id={bad_id}",
        data={"action": "invite_code", "csrf_token": token},
    )
    assert response.status_code == 404


def test_unknown_portal_action_is_a_bad_request(login_as, db_session):
    zhang = db_session.scalar(select(Resident).where(Resident.name == "张伟"))
    assert portal_action(login_as("admin"), zhang.id, "make_superuser").status_code == 400


# -- signing in by mobile, accounts without e-mail ---------------------------------------
def test_owner_signs_in_with_the_mobile_number(app, demo, db_session):
    zhang = db_session.scalar(select(Resident).where(Resident.name == "张伟"))
    mobile = zhang.mobile
    spaced = f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}"
    response = login(app.test_client(), spaced)
    assert response.status_code == 302 and response.location == "/portal/"
    wrong = login(app.test_client(), mobile, "wrong-password")
    unknown = login(app.test_client(), "13000000000", "wrong-password")
    assert wrong.status_code == unknown.status_code == 200
    assert "用户名或密码错误" in wrong.text and "用户名或密码错误" in unknown.text


def test_a_mobile_two_accounts_share_signs_in_neither(app, demo, make, db_session):
    from propadmin.services.accounts import find_user

    estate = make.estate()
    unit = make.unit(building=make.building(estate=estate))
    a = make.resident(unit=unit, name="甲", mobile="17700009911")
    b = make.resident(estate=make.estate(), name="乙", mobile="17700009911")
    for resident in (a, b):
        resident.user = make.user(email=None)
    db_session.commit()
    with app.app_context():
        assert find_user(db_session, "17700009911") is None


@pytest.mark.config(LOGIN_LIMIT_PER_ACCOUNT="3 per minute")
def test_mobile_and_user_name_share_one_throttle(app, demo, db_session):
    zhang = db_session.scalar(select(Resident).where(Resident.name == "张伟"))
    client = app.test_client()
    login(client, zhang.mobile, "wrong-1")
    login(client, "owner", "wrong-2")
    login(client, "owner@example.com", "wrong-3")
    assert login(client, zhang.mobile).status_code == 429


def test_user_form_does_not_require_an_email(login_as, db_session, demo):
    admin = login_as("admin")
    for name in ("frontdesk1", "frontdesk2"):
        response = post_form(
            admin,
            "/admin/user/new/",
            {
                "username": name,
                "display_name": "前台",
                "email": "",
                "estates": str(demo),
                "new_password": NEW_PASSWORD,
            },
        )
        assert response.status_code == 302, response.text[:2000]
        user = db_session.scalar(select(User).where(User.username == name))
        assert user is not None and user.email is None
    taken = post_form(
        admin,
        "/admin/user/new/",
        {
            "username": "frontdesk3",
            "email": "OWNER@example.com",
            "estates": str(demo),
            "new_password": NEW_PASSWORD,
        },
    )
    assert "电子邮箱 owner@example.com 已被使用" in taken.text
    assert db_session.scalar(select(User).where(User.username == "frontdesk3")) is None


def test_staff_member_without_mail_sees_no_blank_address(login_as, make, db_session, demo):
    make.user(
        username="nomail_admin",
        email=None,
        roles=["admin"],
        estates=[db_session.get(Estate, demo)],
        password=NEW_PASSWORD,
    )
    admin = login_as("nomail_admin", NEW_PASSWORD)
    assert ">None<" not in admin.get("/admin/").text


def test_nothing_is_mailed_to_an_account_without_address(app, demo, make, db_session):
    from propadmin.extensions import db
    from propadmin.services.accounts import set_password

    user = make.user(email=None)
    with app.test_request_context():
        account = db.session.get(User, user.id)
        set_password(db.session, account, NEW_PASSWORD)
        db.session.commit()
    assert db_session.scalar(select(OutboxMessage.id)) is None


def test_tenant_invited_after_the_lease_ended_is_refused(login_as, make, db_session, demo):
    unit = demo_unit(make, db_session, demo)
    gone = make.resident(unit=unit, relation=Relation.tenant, name="前租客")
    gone.occupancies[0].end_date = date.today() - timedelta(days=1)
    db_session.commit()
    response = portal_action(login_as("admin"), gone.id, "invite_code")
    assert response.status_code == 302
    assert reread(db_session, Resident, gone.id).user is None


def test_no_link_is_offered_to_an_address_another_account_uses(login_as, make, db_session, demo):
    resident = resident_in_demo(make, db_session, demo, email="owner@example.com")
    page = login_as("admin").get(f"/admin/resident/details/?id={resident.id}")
    assert "邀请开通业主服务" in page.text
    assert "发送链接到" not in page.text
