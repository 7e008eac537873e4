"""Real-browser tests: Debian's Chromium driven through Playwright against a live server.

They sign in and out through the real forms and check that the key pages (login, admin
home, portal home) and the estate register's pages (resident list and page, unit page,
import, the portal's contact details) work and fit a phone (375 px) and a desktop
(1280 px) without sideways scrolling or English words left on the Chinese pages.
Full-page screenshots land in ``test-artifacts/screenshots/<page>-<width>.png`` for a
human to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from models import Occupancy, Relation, Resident, User

from .helpers import DEMO_PASSWORD, id_number

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture (conftest), which every test uses, reports it
    expect = None

from .browser_kit import Tab

pytestmark = [
    pytest.mark.browser,
    # The live server answers from threads of its own, over connections of its own.
    pytest.mark.committed,
    # What a browser shows does not depend on the database: once, on SQLite, is enough.
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
WIDTHS = (375, 1280)

# Register data: licence plates (沪A12345, 沪AD12345, 沪B7XK2Q), masked and full numbers.
PLATE = re.compile(r"[\u4e00-\u9fff][A-Z][A-Z0-9]{5,6}")
MASKED_MOBILE = re.compile(r"\d{3}\*{4}\d{4}")
MASKED_ID = re.compile(r"\d{3}\*{11}[\dX]{4}")
FULL_ID = re.compile(r"\d{17}[\dX]")

# What may stay in Latin letters on a Chinese page.
ALLOWED_LATIN = [
    re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),  # e-mail addresses
    re.compile(r"PropAdmin"),  # the product name
    re.compile(r"English"),  # the language switch offers English in English
    re.compile(r"\d+\s*室\s*\d+\s*厅(\s*\d+\s*卫)?"),  # unit layouts
    re.compile(r"m²"),
    PLATE,  # licence plates are data, not UI
    re.compile(r"\.(xlsx|csv)\b"),  # file types, written the same in Chinese
    re.compile(r"\d+"),
]
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


# -- helpers ---------------------------------------------------------------------------
def sign_in(tab: Tab, username: str, password: str = DEMO_PASSWORD) -> None:
    """Fill the real login form and press its submit button, like a person would."""
    page = tab.page
    tab.goto("/login")
    form = page.locator("form[action$='/login']")
    form.locator("[name=username]").fill(username)
    form.locator("[name=password]").fill(password)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def owner_unit_label(app, username: str) -> str:
    """How the portal names the user's owned unit: ``<building> <number>``."""
    from propadmin.extensions import db

    with app.app_context():
        user = db.session.scalars(select(User).where(User.username == username)).one()
        occupancy = db.session.scalars(
            select(Occupancy).where(
                Occupancy.resident_id == user.resident.id, Occupancy.relation == Relation.owner
            )
        ).first()
        label = f"{occupancy.unit.building.name} {occupancy.unit.number}"
        db.session.remove()
    return label


def latin_leftovers(text: str) -> list[str]:
    for pattern in ALLOWED_LATIN:
        text = pattern.sub(" ", text)
    return sorted(set(LATIN_WORD.findall(text)))


def resident_id(app, name: str) -> int | None:
    """A resident's id by name (the demo estate has one 张伟, one 李娜, one 王芳)."""
    from propadmin.extensions import db

    with app.app_context():
        found = db.session.scalars(select(Resident.id).where(Resident.name == name)).all()
        db.session.remove()
    assert len(found) <= 1, f"{len(found)} residents are called {name}"
    return found[0] if found else None


def current_unit_id(app, name: str) -> int:
    """The unit the named resident lives in now."""
    from propadmin.extensions import db

    with app.app_context():
        resident = db.session.scalars(select(Resident).where(Resident.name == name)).one()
        unit_id = next(o.unit_id for o in resident.occupancies if o.is_current)
        db.session.remove()
    return unit_id


def assert_looks_finished(
    tab: Tab, name: str, width: int, *, data: tuple[str, ...] = (), tap_targets: bool = False
) -> None:
    """Screenshot the page, then check it: no sideways scrolling of the page itself (wide
    admin tables may scroll in their own box), no English words, no errors, nothing
    loaded from outside; with ``tap_targets`` at phone width, buttons a thumb can hit.
    ``data``: selectors of elements that show data typed by people (a user name), left
    out of the English check."""
    page = tab.page
    page.evaluate("document.fonts.ready.then(() => true)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)

    scroll_width, inner_width = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width, (
        f"{name} at {width}px scrolls sideways: content is {scroll_width}px wide"
    )
    for selector in data:  # hidden now (after the screenshot): innerText skips them
        hidden = page.locator(selector).evaluate_all(
            "els => els.map(el => el.style.visibility = 'hidden').length"
        )
        assert hidden, f"{name}: nothing matches the data selector {selector!r}"
    text = page.evaluate("document.body.innerText")
    leftovers = latin_leftovers(text)
    assert leftovers == [], f"{name} at {width}px shows English words: {leftovers}"
    assert tab.problems == [], tab.problems
    assert tab.outside == [], f"{name} loads from outside: {tab.outside}"

    if tap_targets and width == 375:
        # Buttons a thumb has to hit are at least 40 px high.
        small = page.evaluate(
            """() => [...document.querySelectorAll('button, .button, .tabbar a, .navbar-toggler')]
                .filter(el => el.offsetParent !== null)
                .map(el => [el.innerText.trim() || el.getAttribute('aria-label'),
                            Math.round(el.getBoundingClientRect().height)])
                .filter(([, h]) => h < 40)"""
        )
        assert small == [], f"{name} at {width}px has buttons too small to tap: {small}"


# -- signing in and out ----------------------------------------------------------------
def test_admin_signs_in_to_dashboard_and_out_via_user_menu(new_tab):
    tab = new_tab()
    page = tab.page
    sign_in(tab, "admin")
    expect(page).to_have_url(tab.base + "/admin/")
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    expect(page.locator(".estate-card").first).to_contain_text("示范小区")

    page.locator("#user-menu").click()
    sign_out = page.get_by_role("button", name="退出登录")
    expect(sign_out).to_be_visible()
    sign_out.click()
    expect(page).to_have_url(tab.base + "/login")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    expect(page.locator(".flash")).to_contain_text("退出")

    # The session really ended: the admin is closed again.
    tab.goto("/admin/")
    expect(page).to_have_url(re.compile(re.escape(tab.base) + r"/login\?next="))
    assert tab.problems == [] and tab.outside == []


def test_owner_signs_in_to_portal_and_out_via_top_bar(app, new_tab):
    unit = owner_unit_label(app, "owner")
    tab = new_tab(width=375)
    page = tab.page
    sign_in(tab, "owner")
    expect(page).to_have_url(tab.base + "/portal/")
    expect(page.get_by_role("heading", name="我的房屋")).to_be_visible()
    expect(page.locator(".tile .unit-label").first).to_have_text(unit)

    page.locator(".topbar").get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(tab.base + "/login")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()

    tab.goto("/portal/")
    expect(page).to_have_url(re.compile(re.escape(tab.base) + r"/login\?next="))
    assert tab.problems == [] and tab.outside == []


def test_wrong_password_keeps_user_on_login_page_with_message(new_tab):
    tab = new_tab(width=375)
    sign_in(tab, "owner", "not-the-password")
    expect(tab.page).to_have_url(tab.base + "/login")
    expect(tab.page.locator(".field .error")).to_contain_text("密码")


# -- the key pages at phone and desktop width ------------------------------------------
KEY_PAGES = {
    # page name → (who signs in, path, something the page must show)
    "login": (None, "/login", "登录"),
    "admin-home": ("admin", "/admin/", "工作台"),
    "portal-home": ("owner", "/portal/", "我的房屋"),
}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(KEY_PAGES))
def test_key_page_fits_width_and_is_all_chinese(new_tab, name, width):
    username, path, heading = KEY_PAGES[name]
    tab = new_tab(width=width)
    page = tab.page
    if username:
        sign_in(tab, username)
    tab.goto(path)
    expect(page).to_have_url(tab.base + path)
    expect(page.get_by_role("heading", name=heading).first).to_be_visible()
    assert_looks_finished(tab, name, width, tap_targets=True)


def test_portal_tab_bar_does_not_cover_content_on_phone(new_tab):
    # The profile page is longer than a phone screen; its last form must clear the bar.
    tab = new_tab(width=375)
    sign_in(tab, "owner")
    tab.goto("/portal/profile")
    page = tab.page
    assert page.evaluate("document.documentElement.scrollHeight > window.innerHeight")
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    bar_top, content_bottom = page.evaluate(
        """() => {
            const bar = document.querySelector('.tabbar').getBoundingClientRect();
            const blocks = [...document.querySelectorAll(
                'main > *:not(.tabbar), .footer .lang-switch')];
            return [bar.top, Math.max(...blocks.map(b => b.getBoundingClientRect().bottom))];
        }"""
    )
    assert content_bottom <= bar_top + 1, (
        f"the tab bar (top {bar_top}px) hides content reaching down to {content_bottom}px"
    )


# -- the estate register --------------------------------------------------------------
# Where pages show a sign-in name (demo names are English words such as "owner").
PORTAL_ACCOUNT = "table.resident-facts tr:has(th:text-is('业主服务账号')) td"
USER_NAME = "dl.facts dt:text-is('用户名') + dd"
PORTAL_USER_NAME = ".pa-portal-access .username"  # the portal card on a resident's page


@pytest.mark.parametrize("width", WIDTHS)
def test_admin_finds_resident_by_unit_and_sees_masked_numbers(new_tab, width):
    tab = new_tab(width=width)
    page = tab.page
    sign_in(tab, "admin")
    tab.goto("/admin/resident/")
    search = page.locator("form[role=search] input[name=search]")
    search.fill("1-101")
    with page.expect_navigation():
        page.locator("form[role=search]").get_by_role("button", name="搜索").click()
    expect(page).to_have_url(re.compile(r"/admin/resident/\?search=1-101"))

    row = page.locator("table.model-list tbody tr", has_text="张伟")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(MASKED_MOBILE)
    expect(row).to_contain_text(MASKED_ID)
    assert not FULL_ID.search(page.locator("table.model-list").inner_text())
    assert_looks_finished(tab, "admin-resident-list", width)


@pytest.mark.parametrize("width", WIDTHS)
def test_admin_reveals_id_number_once_on_resident_page(app, new_tab, width):
    zhang_wei = resident_id(app, "张伟")
    tab = new_tab(width=width)
    page = tab.page
    sign_in(tab, "admin")
    tab.goto(f"/admin/resident/details/?id={zhang_wei}")
    id_row = page.locator("table.resident-facts tr", has=page.locator("th", has_text="身份证号"))
    expect(id_row).to_contain_text(MASKED_ID)
    with page.expect_navigation():
        id_row.get_by_role("button", name="查看完整号码").click()

    id_row = page.locator("table.resident-facts tr", has=page.locator("th", has_text="身份证号"))
    expect(id_row.locator(".revealed")).to_have_text(FULL_ID)
    expect(id_row).to_contain_text("本次查看已记入审计日志")
    text = page.evaluate("document.body.innerText")
    assert len(FULL_ID.findall(text)) == 1, "the full ID-card number must appear exactly once"
    # Only the one field was revealed: the mobile stays masked.
    mobile_row = page.locator("table.resident-facts tr", has=page.locator("th", has_text="手机号"))
    expect(mobile_row).to_contain_text(MASKED_MOBILE)
    assert_looks_finished(
        tab, "admin-resident-revealed", width, data=(PORTAL_ACCOUNT, PORTAL_USER_NAME)
    )


def test_finance_sees_resident_page_without_reveal_button(app, new_tab):
    zhang_wei = resident_id(app, "张伟")
    tab = new_tab(width=375)
    page = tab.page
    sign_in(tab, "finance")
    tab.goto(f"/admin/resident/details/?id={zhang_wei}")
    facts = page.locator("table.resident-facts")
    expect(facts).to_contain_text(MASKED_ID)
    expect(facts).to_contain_text(MASKED_MOBILE)
    expect(page.get_by_role("button", name="查看完整号码")).to_have_count(0)
    assert not FULL_ID.search(page.evaluate("document.body.innerText"))
    assert tab.problems == [] and tab.outside == []


@pytest.mark.parametrize("width", WIDTHS)
def test_unit_page_shows_tenant_vehicle_and_parking(app, new_tab, width):
    unit_id = current_unit_id(app, "王芳")
    tab = new_tab(width=width)
    page = tab.page
    sign_in(tab, "admin")
    tab.goto(f"/admin/unit/details/?id={unit_id}")
    expect(page.locator(".list-group-item", has_text="王芳").first).to_contain_text("王芳 · 租户")
    vehicles = page.locator("h5:text-is('车辆') + ul")
    expect(vehicles).to_contain_text(PLATE)
    parking = page.locator("h5:text-is('车位') + ul")
    expect(parking).to_be_visible()
    expect(parking.locator(".list-group-item").first).to_contain_text(re.compile(r"B1-\d{3}"))
    assert_looks_finished(tab, "admin-unit", width)


def import_sheet(tmp_path: Path) -> Path:
    """A small .xlsx with the template's Chinese headers: one good row, one bad row."""
    from openpyxl import Workbook

    from propadmin.services.register_sheet import COLUMNS

    keys = [key for key, _zh, _en, _required in COLUMNS]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([zh for _key, zh, _en, _required in COLUMNS])
    good = {"building": "1栋", "unit": "101", "name": "甄试导", "relation": "家庭成员"}
    bad = {
        "building": "1栋",
        "unit": "102",
        "name": "甄试错",
        "relation": "房东",
    }  # no such relation
    for row in (good, bad):
        sheet.append([row.get(key, "") for key in keys])
    path = tmp_path / "住户登记.xlsx"
    workbook.save(path)
    return path


@pytest.mark.parametrize("width", WIDTHS)
def test_import_with_a_bad_row_lists_problems_and_imports_nothing(app, new_tab, tmp_path, width):
    sheet = import_sheet(tmp_path)
    tab = new_tab(width=width)
    page = tab.page
    sign_in(tab, "admin")
    tab.goto("/admin/register-import/")
    page.locator("input[type=file][name=sheet]").set_input_files(sheet)
    with page.expect_navigation():
        page.get_by_role("button", name="检查并导入").click()

    expect(page.locator(".alert-danger")).to_contain_text("未导入任何数据")
    table = page.locator("table.import-errors")
    expect(table.locator("thead th")).to_have_text(["行", "列", "值", "问题"])
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("tbody tr td").nth(0)).to_have_text("3")
    expect(table.locator("tbody tr td").nth(2)).to_have_text("房东")
    assert resident_id(app, "甄试导") is None, "the good row was imported despite the bad one"
    assert_looks_finished(tab, "admin-register-import", width)


@pytest.mark.parametrize("width", WIDTHS)
def test_owner_corrects_mobile_in_portal(new_tab, width):
    tab = new_tab(width=width)
    page = tab.page
    sign_in(tab, "owner")
    tab.goto("/portal/profile")
    page.locator("summary", has_text="修改联系方式").click()
    form = page.locator("form[action$='/portal/profile/contact']")
    form.locator("[name=mobile]").fill("12345")
    with page.expect_navigation():
        form.get_by_role("button", name="保存联系方式").click()

    field = page.locator(".field", has=page.locator("[name=mobile]"))
    expect(field.locator(".error")).to_contain_text("手机号为 11 位数字")
    expect(field.locator("[name=mobile]")).to_have_attribute("aria-invalid", "true")
    expect(field.locator("[name=mobile]")).to_be_in_viewport()
    expect(page.locator(".tabbar a.active")).to_have_text(re.compile("我的住户信息"))
    assert_looks_finished(tab, "portal-contact-error", width, data=(USER_NAME,), tap_targets=True)

    form = page.locator("form[action$='/portal/profile/contact']")
    form.locator("[name=mobile]").fill("13900001111")
    with page.expect_navigation():
        form.get_by_role("button", name="保存联系方式").click()
    # Back at the contact panel, with the confirmation and the new number in view.
    expect(page.locator(".flash-success")).to_be_in_viewport()
    expect(page.locator("dl.facts dt:text-is('手机号') + dd")).to_have_text("139****1111")
    expect(page.locator("dl.facts dt:text-is('手机号') + dd")).to_be_in_viewport()
    expect(page.locator(".tabbar a.active")).to_have_text(re.compile("我的住户信息"))
    assert "13900001111" not in page.content()
    assert_looks_finished(tab, "portal-contact-saved", width, data=(USER_NAME,), tap_targets=True)


# -- English ---------------------------------------------------------------------------
def test_english_browser_gets_english_login_page(new_tab):
    tab = new_tab(locale="en-US", width=375)
    tab.goto("/login")
    expect(tab.page.locator("h1")).to_have_text("Sign in")
    expect(tab.page.locator("html")).to_have_attribute("lang", "en")
    expect(tab.page.locator("form[action$='/login'] button[type=submit]")).to_have_text("Sign in")


# -- the admin's widgets and the audit log speak Chinese ----------------------------------
@pytest.mark.parametrize("width", WIDTHS)
def test_pickers_and_date_picker_are_in_chinese(new_tab, width):
    tab = new_tab(width=width)
    page = tab.page
    sign_in(tab, "admin")
    tab.goto("/admin/occupancy/new/")
    unit_picker = page.locator("#s2id_unit")
    expect(unit_picker).to_contain_text("输入房屋，如 2-202 或 2栋202")
    unit_picker.locator("a.select2-choice").click()
    expect(page.locator(".select2-drop-active")).to_contain_text("请再输入 1 个字")
    page.keyboard.press("Escape")
    page.locator("#start_date").click()
    calendar = page.locator(".daterangepicker:visible").first
    expect(calendar).to_be_visible()
    weekdays = calendar.locator("thead tr").nth(1).locator("th").all_inner_texts()
    assert weekdays[:2] == ["一", "二"] and weekdays[-1] == "日", weekdays
    expect(calendar.locator("select.monthselect").first).to_contain_text("十一月")
    page.screenshot(path=str(SCREENSHOTS / f"occupancy-form-datepicker-{width}.png"))
    assert tab.problems == [], tab.problems


@pytest.mark.parametrize("width", WIDTHS)
def test_audit_log_reads_as_sentences(app, new_tab, width):
    tab = new_tab(width=width)
    page = tab.page
    sign_in(tab, "admin")
    zhang = resident_id(app, "张伟")
    tab.goto(f"/admin/resident/details/?id={zhang}")
    with page.expect_navigation():
        page.locator("form[action*='reveal'] button").nth(1).click()  # the mobile number
    page.get_by_role("link", name="谁修改或查看过此记录").click()
    notable = page.locator(".audit-notable").first
    expect(notable).to_contain_text("物业管理员 陈静 查看了 张伟 的手机号")
    assert_looks_finished(tab, "audit-log", width, data=("td.col-ip",))


@pytest.mark.parametrize("width", WIDTHS)
def test_role_form_saves_exactly_the_ticked_permissions(app, new_tab, width):
    """A click on a permission's words ticks that permission and nothing else."""
    from models import Role
    from propadmin.extensions import db

    tab = new_tab(width=width)
    page = tab.page
    sign_in(tab, "admin")
    tab.goto("/admin/role/new/")
    page.locator("#label").fill(f"前台{width}")
    for words in ("查看工作台", "查看楼栋、房屋和车位", "查看住户"):
        page.get_by_text(words, exact=True).click()
    assert_looks_finished(tab, "role-form", width)
    with page.expect_navigation():
        page.locator("input[type=submit]").first.click()
    with app.app_context():
        role = db.session.scalars(select(Role).where(Role.label == f"前台{width}")).one()
        assert role.permissions == {"dashboard.view", "property.view", "residents.view"}
        db.session.remove()


class Clicks:
    """Counts what a clerk does with the mouse or a tap: clicks, choices, fields filled."""

    def __init__(self, page) -> None:
        self.page, self.count = page, 0

    def click(self, locator) -> None:
        self.count += 1
        locator.click()

    def fill(self, locator, text: str) -> None:
        self.count += 1
        locator.fill(text)

    def choose(self, locator, label: str) -> None:
        self.count += 1
        locator.select_option(label=label)


@pytest.mark.parametrize("width", WIDTHS)
def test_clerk_moves_a_tenant_in_with_a_car_and_parking_in_one_form(app, new_tab, width):
    from models import ParkingSpace, Unit
    from propadmin.extensions import db

    with app.app_context():
        building = db.session.scalars(select(Unit).order_by(Unit.id)).first().building
        unit = Unit(building=building, number=f"88{width % 100:02d}", floor=8, area=90)
        space = ParkingSpace(estate_id=building.estate_id, code=f"B-{width}")
        db.session.add_all([unit, space])
        db.session.commit()
        unit_id, label = unit.id, unit.label
        db.session.remove()
    tab = new_tab(width=width)
    page = tab.page
    sign_in(tab, "admin")
    tab.goto(f"/admin/unit/details/?id={unit_id}")
    clicks = Clicks(page)
    clicks.click(page.get_by_role("link", name="办理入住"))
    page.wait_for_url("**/move-in/**")
    clicks.fill(page.locator("#name"), "钱小敏")
    clicks.fill(page.locator("#id_number"), id_number("31011519920707002"))
    clicks.fill(page.locator("#mobile"), "13912340088")
    clicks.fill(page.locator("#end_date"), "2027-11-30")
    clicks.click(page.get_by_text("缴费人", exact=True))
    clicks.fill(page.locator("#plates"), f"沪A7K{width % 1000:03d}")
    clicks.choose(page.locator("#space"), f"B-{width}")
    page.screenshot(path=str(SCREENSHOTS / f"move-in-form-{width}.png"), full_page=True)
    with page.expect_navigation():
        clicks.click(page.get_by_role("button", name="办理入住"))
    assert clicks.count <= 12, clicks.count
    expect(page.locator(".alert-success")).to_contain_text(f"钱小敏 已入住 {label}")
    people = page.locator(".list-group").first
    expect(people).to_contain_text("钱小敏")
    expect(page.locator("body")).to_contain_text(f"B-{width}")
    assert_looks_finished(tab, "unit-hub", width, data=(".list-group a",))
    # The clerk finds the new tenant again as a guard or a neighbour would name them:
    # by the unit written 栋-style, and by the digits of the plate.
    building, number = label.split("-")
    for query in (f"{building}栋{number}", f"{width % 1000:03d}"):
        tab.goto(f"/admin/resident/?search={query}")
        expect(page.locator("table")).to_contain_text("钱小敏")

# -- portal accounts for residents -----------------------------------------------------
@pytest.mark.parametrize("width", WIDTHS)
def test_resident_activates_with_printed_code_and_signs_in_with_mobile(app, new_tab, width):
    """The office invites 张伟 from his page and prints the code; he activates the
    account with it, chooses a password, and signs in with his mobile number."""
    from propadmin.extensions import db

    with app.app_context():
        # As in an estate that has just started with the portal: 张伟 has no account yet.
        zhang = db.session.scalars(select(Resident).where(Resident.name == "张伟")).one()
        zhang.user = None
        mobile = zhang.mobile
        db.session.commit()
        db.session.remove()
    zid = resident_id(app, "张伟")

    office = new_tab(width=width)
    sign_in(office, "admin")
    office.goto(f"/admin/resident/details/?id={zid}")
    invite = office.page.get_by_role("button", name=re.compile("邀请开通业主服务"))
    expect(invite).to_be_visible()
    assert_looks_finished(office, "resident-portal-invite", width, data=(".masked",))
    with office.page.expect_navigation():
        invite.click()
    code = office.page.locator(".code").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code), code
    expect(office.page.locator(".person")).to_have_text("张伟")
    expect(office.page.locator(".estate")).to_have_text("示范小区")
    assert office.page.locator(".address").inner_text().endswith("/activate")
    assert_looks_finished(
        office, "activation-code-sheet", width, data=(".code", ".username", ".address")
    )

    resident = new_tab(width=width)
    resident.goto("/activate")
    assert_looks_finished(resident, "activate", width, data=(".example",), tap_targets=True)
    resident.page.locator("[name=code]").fill(code.lower().replace("-", " "))
    with resident.page.expect_navigation():
        resident.page.get_by_role("button", name="继续").click()
    expect(resident.page.locator(".password-rules")).to_contain_text("至少 10 个字符")
    assert_looks_finished(resident, "activate-password", width, data=(".username",))
    resident.page.locator("[name=password]").fill("Lantern-orchid-58")
    resident.page.locator("[name=confirm]").fill("Lantern-orchid-58")
    with resident.page.expect_navigation():
        resident.page.get_by_role("button", name="开通并登录").click()
    assert resident.page.url.endswith("/portal/")
    expect(resident.page.locator("body")).to_contain_text("账号已开通")

    again = new_tab(width=width)
    sign_in(again, f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}", "Lantern-orchid-58")
    assert again.page.url.endswith("/portal/")
    expect(again.page.locator(".who")).to_contain_text("张伟")
