"""The import's fast paths read a sheet exactly as the full checks do: RowReader's quick
checks accept only what read_row accepts and read it alike, and an import leaves the
connection and the cycle collector as it found them."""

import gc
import random

import pytest
from sqlalchemy import select

from models import Building, Estate, Resident, Vehicle
from propadmin.services import register_import
from propadmin.services.register_import import import_sheet
from propadmin.services.register_row_reader import RowReader
from propadmin.services.register_rows import read_row

from .helpers import id_number, id_number_with_x, wrong_check_digit

GOOD = id_number("31011519850101001")
# Per column: values read_row accepts and values it refuses or reads differently (spaces,
# case, full-width digits, Excel's numbers, control characters, lengths past the column).
VALUES = {
    "building": ["1", "1栋", "1号楼", "2", "9号楼", "A座", "", " 3 ", "x" * 70, "1\x00", "１"],
    "unit": ["101", "1201", "", "9" * 40, "10\x01"],
    "area": ["", "88.5", "0", "0.004", "0.005", "99999.99", "99999.995", "abc", "1e3", "-1",
             "NaN", " 90 ", "８８"],
    "layout": ["", "3室2厅", "y" * 65, "a\x7fb"],
    "name": ["张三", " 王五 ", "", "n" * 70, "赵\x00六", "\u3000张三", "x\x1f"],
    "id_number": ["", GOOD, id_number_with_x(), id_number_with_x().lower(),
                  GOOD[:9] + " " + GOOD[9:], wrong_check_digit(GOOD), "110105194912310000",
                  "1.10105E+17", "12345",
                  id_number("31011521000101001"), id_number("31011518991231001"),
                  id_number("31011519850230001"),
                  "３１０１１５１９８５０１０１００１Ｘ"],
    "mobile": ["", "13812345678", "+8613812345678", "138-1234-5678", "12812345678",
               "13812345678.0", "1.38123E+10", "１３８１２３４５６７８", "13812345678\n"],
    "relation": ["业主", "owner", "OWNER", "租户", "家庭成员", "家属", "房东", "", "Tenant "],
    "start_date": ["", "2021-01-01", "2021/1/1", "2021.03.04", "20210101", "2021-02-30",
                   "2021-W01-1", "2021-1-1", "2030-12-31", " 2021-01-01"],
    "end_date": ["", "2020-12-31", "2022-01-01", "bad"],
    "is_payer": ["", "是", "否", "Y", "TRUE", "0", "√", "maybe", "Yes "],
    "email": ["", "a@b.cn", "A@B.CN", " a@b.cn ", "bad", "a@b", "e" * 250 + "@b.cn"],
    "emergency_contact": ["", "李四", "c" * 70, "x\x1f", "bad\x0b"],
    "emergency_phone": ["", "13987654321", "139 8765 4321", "123"],
    "plate": ["", "沪A12345", "沪a·12345", "沪AD12345", "京B1234学", "bad", "沪A 1234"],
    "brand": ["", "大众", "b" * 70, "x\x00"],
    "colour": ["", "白色", "c" * 70],
    "notes": ["", "备注", "n" * 3000, "line\nbreak", "tab\there", "bad\x0b"],
}
PLAIN = {  # a row read_row accepts
    "building": "1", "unit": "101", "area": "88.5", "name": "张三", "id_number": GOOD,
    "mobile": "13812345678", "relation": "业主", "start_date": "2021-01-01", "is_payer": "是",
    "plate": "沪B54321", "brand": "大众",
}  # fmt: skip


def test_quick_reads_accept_only_what_read_row_accepts_and_read_it_alike(
    app, db_session, demo
):
    buildings = set(db_session.scalars(select(Building.name).where(Building.estate_id == demo)))
    plates = set(db_session.scalars(select(Vehicle.plate).where(Vehicle.estate_id == demo)))
    registered = next(iter(plates))
    rng = random.Random(12)
    quick = 0
    with app.app_context():
        reader = RowReader(db_session, demo, buildings)
        reader.new_batch()
        for number in range(2, 3000):
            rec = dict(PLAIN)
            for key in rng.sample(sorted(VALUES), rng.choice([0, 1, 1, 2, 3])):
                rec[key] = rng.choice([*VALUES[key], registered] if key == "plate" else VALUES[key])
            expected = read_row(db_session, demo, number, rec, buildings, plates)
            row = reader._quick(number, rec, plates)
            if row is not None:
                quick += 1
                assert not expected.problems, rec
                assert row == expected, rec
            assert reader.read(number, rec, plates) == expected, rec
    assert quick > 300  # the plain rows do take the quick path


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(register_import, "BATCH_ROWS", 2)


def _rows(first: int, bad: bool = False):
    rows = [
        {
            "building": "7",
            "unit": str(first + i),
            "area": "80",
            "name": f"住户{i}",
            "id_number": id_number(f"3101151990010{first + i:04d}"),
            "relation": "业主",
        }
        for i in range(5)
    ]
    if bad:
        rows[-1]["relation"] = "房东"
    return list(enumerate(rows, start=2))


@pytest.mark.parametrize("bad", [False, True])
def test_an_import_leaves_the_connection_and_the_collector_as_they_were(
    app, db_session, demo, small_batches, bad
):
    conn = db_session.connection()
    sqlite = conn.dialect.name == "sqlite"
    cache = conn.exec_driver_sql("PRAGMA cache_size").scalar() if sqlite else None
    seen = []
    writer_write = register_import.RegisterWriter.write

    def write(self, rows):
        seen.append(gc.isenabled())
        if sqlite:
            seen.append(conn.exec_driver_sql("PRAGMA cache_size").scalar())
        return writer_write(self, rows)

    estate = db_session.get(Estate, demo)
    before = len(db_session.scalars(select(Resident.id)).all())
    with app.app_context(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(register_import.RegisterWriter, "write", write)
        plan = import_sheet(db_session, estate, _rows(4000, bad))
    assert plan.imported is not bad
    assert len(db_session.scalars(select(Resident.id)).all()) == before + (0 if bad else 5)
    assert gc.isenabled()
    assert seen and seen[0] is False  # paused while writing
    if sqlite:
        assert seen[1] == -64 * 1024
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == cache
