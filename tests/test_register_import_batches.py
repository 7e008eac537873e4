"""The register import at scale: rows checked and written in batches, set-based, with
one audit entry per created record, and still all or nothing."""

import pytest
from sqlalchemy import func, select

from models import AuditLog, Occupancy, Resident, Unit, Vehicle
from propadmin.services import register_import

from .helpers import id_number
from .test_register_io import count, good_rows, sheet, upload


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of two rows, so a short sheet spans several."""
    monkeypatch.setattr(register_import, "BATCH_ROWS", 2)


def test_every_imported_record_has_its_create_entry_in_the_log(login_as, db_session, demo):
    admin = login_as("admin")
    response = upload(admin, sheet(good_rows()), estate=demo)
    assert response.status_code == 302, response.text[-2000:]
    zhao = db_session.scalar(select(Resident).where(Resident.name == "赵一"))
    entries = db_session.scalars(
        select(AuditLog).where(AuditLog.action == "create", AuditLog.entity_id != "")
    ).all()
    created = {(e.entity, e.entity_id) for e in entries}
    assert ("Resident", str(zhao.id)) in created
    unit = db_session.scalar(select(Unit).where(Unit.number == "1201"))
    assert ("Unit", str(unit.id)) in created
    for model, made in ((Occupancy, 3), (Vehicle, 1), (Resident, 3)):
        new = db_session.scalars(select(model.id).order_by(model.id.desc()).limit(made)).all()
        assert {(model.__name__, str(i)) for i in new} <= created, model
    (entry,) = [e for e in entries if (e.entity, e.entity_id) == ("Resident", str(zhao.id))]
    assert entry.actor_name == "admin" and entry.estate_id == demo
    assert entry.changes["name"] == "赵一" and entry.changes["id_number"] == "***"
    history = " ".join(admin.get(f"/admin/audit/?record=Resident:{zhao.id}").text.split())
    assert "物业管理员 陈静 新建了住户 赵一" in history
    assert zhao.id_number not in history and zhao.mobile not in history


def test_a_bad_row_in_a_later_batch_leaves_nothing_written(
    login_as, db_session, demo, small_batches
):
    rows = good_rows() + [
        {"楼栋": "2", "房号": "101", "姓名": "孙四", "关系": "业主"},
        {"楼栋": "2", "房号": "101", "姓名": "李五", "关系": "房东"},
    ]
    before = [count(db_session, m) for m in (Resident, Unit, Occupancy, Vehicle)]
    entries = db_session.scalar(select(func.count()).where(AuditLog.action == "create"))
    response = upload(login_as("admin"), sheet(rows), estate=demo)
    assert response.status_code == 200
    assert "未导入任何数据" in response.text
    assert "<td>6</td><td>关系</td>" in response.text
    after = [count(db_session, m) for m in (Resident, Unit, Occupancy, Vehicle)]
    assert after == before
    assert db_session.scalar(select(func.count()).where(AuditLog.action == "create")) == entries


def test_one_persons_rows_in_two_batches_are_one_resident(
    login_as, db_session, demo, small_batches
):
    person = id_number("31011519850101099")
    rows = [
        {
            "楼栋": "5",
            "房号": "501",
            "面积": "90",
            "姓名": "周六",
            "身份证号": person,
            "关系": "业主",
        },
        {"楼栋": "5", "房号": "502", "面积": "90", "姓名": "吴七", "关系": "业主"},
        {
            "楼栋": "5",
            "房号": "503",
            "面积": "90",
            "姓名": "周六",
            "身份证号": person,
            "关系": "业主",
        },
    ]
    response = upload(login_as("admin"), sheet(rows), estate=demo)
    assert response.status_code == 302, response.text[-2000:]
    (zhou,) = db_session.scalars(select(Resident).where(Resident.name == "周六")).all()
    units = db_session.scalars(
        select(Unit.number).join(Occupancy).where(Occupancy.resident_id == zhou.id)
    ).all()
    assert sorted(units) == ["501", "503"]


def test_duplicates_across_batches_are_refused_as_within_one(
    login_as, db_session, demo, small_batches
):
    known = db_session.scalar(select(Resident).where(Resident.name == "张伟"))
    rows = good_rows() + [
        {"楼栋": "1", "房号": "1201", "姓名": "孙四", "关系": "家属", "身份证号": known.id_number},
        {
            "楼栋": "1",
            "房号": "1201",
            "姓名": "钱四",
            "关系": "家属",
            "身份证号": good_rows()[2]["身份证号"],
        },
        {"楼栋": "1", "房号": "1201", "姓名": "李五", "关系": "家属", "车牌号": "沪A11111"},
    ]
    response = upload(login_as("admin"), sheet(rows), estate=demo)
    text = response.text
    assert "<td>5</td><td>身份证号</td>" in text and "已有住户使用此身份证号登记" in text
    assert "<td>6</td><td>身份证号</td>" in text and "第 4 行的同一身份证号对应另一个姓名" in text
    assert "<td>7</td><td>车牌号</td>" in text and "第 2 行的车牌相同" in text
    assert db_session.scalar(select(func.count()).where(Resident.name == "赵一")) == 0


def test_queries_grow_with_batches_not_rows(login_as, demo, count_queries):
    admin = login_as("admin")

    def statements(n: int, first: int) -> int:
        rows = [
            {
                "楼栋": str(first),
                "房号": str(first + i),
                "面积": "80",
                "姓名": f"住户{i}",
                "身份证号": id_number(f"3101151990010{first + i:04d}"),
                "关系": "业主",
            }
            for i in range(n)
        ]
        with count_queries() as queries:
            assert upload(admin, sheet(rows), estate=demo).status_code == 302
        return len(queries)

    assert statements(3, 1000) == statements(30, 2000)
