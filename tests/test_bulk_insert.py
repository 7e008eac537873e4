"""The import's set-based insert hands back the ids its rows really got (SQLite)."""

import pytest
import sqlalchemy as sa

from models import Occupancy, Resident

from .test_register_io import good_rows, sheet, upload

# SQLite's largest rowid: past it, new rows get random ids instead of the highest plus one.
# (PostgreSQL draws the ids from the sequence, and its integer ids stop far below this.)
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
LARGEST = 2**63 - 1


def test_an_import_after_the_largest_id_links_its_own_residents(login_as, db_session, demo, make):
    other = make.estate()
    stranger = make.resident(other, name="别人家")
    db_session.execute(sa.update(Resident).where(Resident.id == stranger.id).values(id=LARGEST))
    db_session.commit()
    assert upload(login_as("admin"), sheet(good_rows()), estate=demo).status_code == 302
    db_session.expire_all()
    assert not db_session.scalars(select_occupancies(LARGEST)).all()
    for name in ("赵一", "赵二", "钱三"):
        resident = db_session.scalar(sa.select(Resident).where(Resident.name == name))
        assert resident.estate_id == demo
        assert db_session.scalars(select_occupancies(resident.id)).all(), name


def test_an_import_takes_the_ids_after_the_highest(login_as, db_session, demo):
    highest = db_session.scalar(sa.select(sa.func.max(Resident.id)))
    assert upload(login_as("admin"), sheet(good_rows()), estate=demo).status_code == 302
    new = db_session.scalars(
        sa.select(Resident.id).where(Resident.id > highest).order_by(Resident.id)
    ).all()
    assert new == list(range(highest + 1, highest + 1 + len(new))) and new
    for resident_id in new:
        assert db_session.scalars(select_occupancies(resident_id)).all()


def select_occupancies(resident_id):
    return sa.select(Occupancy).where(Occupancy.resident_id == resident_id)
