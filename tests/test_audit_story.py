"""The audit log reads as sentences: who (name and role) did what to which record, which
fields changed from what to what, when — and who looked at a resident's number."""

import json
import re
from collections import Counter
from decimal import Decimal

from sqlalchemy import select

from models import Resident, Role, Unit

from .helpers import csrf_from, login


def test_a_reveal_reads_as_who_looked_at_whose_number(app, login_as, db_session):
    admin = login_as("admin")
    zhang = db_session.scalar(select(Resident).where(Resident.name == "张伟"))
    page = admin.get(f"/admin/resident/details/?id={zhang.id}")
    admin.post(
        f"/admin/resident/reveal/?id={zhang.id}",
        data={"field": "mobile", "csrf_token": csrf_from(page.text)},
    )
    log = admin.get("/admin/audit/").text
    assert "物业管理员 陈静 查看了 张伟 的手机号" in log
    assert "个人信息" in log  # reveals stand out
    assert zhang.mobile not in log


def test_a_manager_finds_who_looked_at_one_residents_number(app, demo, db_session):
    """Finance given the reveal permission looks; the resident's page leads to the answer."""
    finance_role = db_session.scalar(select(Role).where(Role.name == "finance"))
    finance_role.set_permissions(finance_role.permissions | {"residents.reveal"})
    db_session.commit()
    finance = app.test_client()
    login(finance, "finance")
    li = db_session.scalar(select(Resident).where(Resident.name == "李娜"))
    page = finance.get(f"/admin/resident/details/?id={li.id}")
    finance.post(
        f"/admin/resident/reveal/?id={li.id}",
        data={"field": "id_number", "csrf_token": csrf_from(page.text)},
    )
    admin = app.test_client()
    login(admin, "admin")
    resident_page = admin.get(f"/admin/resident/details/?id={li.id}").text
    link = f"/admin/audit/?record=Resident:{li.id}"
    assert link in resident_page.replace("%3A", ":")
    history = admin.get(link).text
    assert "财务人员 刘洋 查看了 李娜 的身份证号" in history
    assert "张伟" not in history  # only this resident's history


def test_a_change_shows_fields_by_label_from_old_to_new(login_as, db_session):
    admin = login_as("admin")
    unit = db_session.scalar(select(Unit).where(Unit.number == "101").order_by(Unit.id))
    page = admin.get(f"/admin/unit/edit/?id={unit.id}")
    response = admin.post(
        f"/admin/unit/edit/?id={unit.id}",
        data={
            "building": str(unit.building_id),
            "number": unit.number,
            "floor": str(unit.floor),
            "area": "123.45",
            "layout": unit.layout,
            "use": unit.use.value,
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 302
    log = admin.get("/admin/audit/?flt0_1=update").text  # kind: changed
    assert f"物业管理员 陈静 修改了房屋 {unit.label}" in log
    text = " ".join(log.split())
    assert f"面积（m²）：</span> {unit.area} → {Decimal('123.45')}" in text


def test_links_and_role_grants_are_named_not_numbered(login_as, db_session):
    """The demo's own history: a resident linked to an account, roles granted."""
    log = " ".join(login_as("admin").get("/admin/audit/?flt0_1=update").text.split())
    assert "user_id" not in log
    assert "用户账号：</span> — → 李娜" in log
    assert "角色：</span> — → 业主" in log


def test_sign_ins_and_failures_read_plainly(app, demo):
    client = app.test_client()
    login(client, "finance", "wrong-password-1")
    admin = app.test_client()
    login(admin, "admin")
    log = admin.get("/admin/audit/").text
    assert "以 刘洋 的身份登录失败" in log
    assert "物业管理员 陈静 登录了系统" in log


def test_the_audit_filters_are_in_chinese(login_as):
    page = login_as("admin").get("/admin/audit/").text
    start = page.index('id="filter-groups-data"')
    groups = json.loads(page[page.index(">", start) + 1 : page.index("</div>", start)])
    assert set(groups) == {"操作人（用户名）", "类别", "记录类型", "记录编号"}
    kinds = dict(groups["类别"][0]["options"])
    assert kinds["read"] == "查看个人信息" and kinds["update"] == "修改记录"
    records = dict(groups["记录类型"][0]["options"])
    assert records["Resident"] == "住户" and records["Unit"] == "房屋"



def test_the_log_page_reads_each_kind_of_record_once(login_as, count_queries):
    """A full page of entries (the demo's history) reads each table a bounded number of
    times — once per kind of record named, not once per entry."""
    admin = login_as("admin")
    with count_queries() as queries:
        page = admin.get("/admin/audit/")
    assert page.status_code == 200
    assert page.text.count('class="audit-sentence"') == 20
    tables = Counter(
        re.search(r"\bFROM\s+\"?(\w+)", q).group(1) for q in queries if q.startswith("SELECT")
    )
    # user, role and staff_estate: the signed-in user, the actors and account labels
    assert max(tables.values()) <= 3, tables


def test_a_search_by_full_number_reads_as_who_found_whom(login_as, db_session):
    zhang = db_session.scalar(select(Resident).where(Resident.name == "张伟"))
    admin = login_as("admin")
    admin.get("/admin/resident/", query_string={"search": zhang.mobile})
    admin.get("/admin/resident/", query_string={"search": "13912345678"})
    log = admin.get("/admin/audit/?flt0_1=read").text
    assert "物业管理员 陈静 按完整手机号查找到 张伟" in log
    assert "物业管理员 陈静 按完整手机号查找，未找到任何人" in log
    assert zhang.mobile not in log


def test_an_export_stands_out_in_the_log(login_as):
    admin = login_as("admin")
    admin.get("/admin/resident/export/csv/").close()
    log = " ".join(admin.get("/admin/audit/?flt0_1=export").text.split())
    assert "物业管理员 陈静 导出了住户列表" in log
    assert "audit-notable" in log
