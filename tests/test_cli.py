"""Command line: seed-demo and users create, as the public contract describes them."""

import re
from datetime import date

from sqlalchemy import func, select, text

from models import Building, Occupancy, Relation, Resident, Unit, User
from propadmin.services.identifiers import id_number_problem

from .helpers import login


def test_seed_demo_builds_the_contracted_demo_estate(app, db_session, runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "Seeded 示范小区" in result.output
    for username in ("admin", "finance", "repair", "owner", "owner2", "tenant"):
        assert re.search(rf"^\s+{username}\s+demo1234", result.output, re.M), username
        user = db_session.scalar(select(User).where(User.username == username))
        assert user.email == f"{username}@example.com"
    assert db_session.scalar(select(func.count()).select_from(Building)) >= 2
    assert db_session.scalar(select(func.count()).select_from(Unit)) >= 20

    def unit_of(username, relation):
        return db_session.scalar(
            select(Unit)
            .join(Occupancy)
            .join(Resident)
            .join(User, User.id == Resident.user_id)
            .where(User.username == username, Occupancy.relation == relation)
        )

    first, second = db_session.scalars(select(Building).order_by(Building.name)).all()[:2]
    assert unit_of("owner", Relation.owner).building_id == first.id
    assert unit_of("owner2", Relation.owner).building_id == second.id
    assert unit_of("tenant", Relation.tenant).building_id == first.id

    residents = db_session.scalars(select(Resident)).all()
    assert len(residents) > 20
    assert all(id_number_problem(r.id_number) is None for r in residents)
    assert all(re.fullmatch(r"1[3-9]\d{9}", r.mobile) for r in residents)
    for username in ("admin", "owner"):
        assert login(app.test_client(), username).status_code == 302


def test_seed_demo_password_option(app, runner):
    result = runner.invoke(args=["seed-demo", "--password", "Another-pw-2", "--units", "8"])
    assert result.exit_code == 0, result.output
    assert login(app.test_client(), "finance", "Another-pw-2").status_code == 302


def test_seed_demo_refuses_bad_input_with_a_clear_message(db_session, runner):
    result = runner.invoke(args=["seed-demo", "--units", "3"])
    assert result.exit_code != 0
    assert "--units must be at least 6 (got 3)" in result.output
    assert db_session.scalar(select(func.count()).select_from(Unit)) == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code != 0 and "already exists" in again.output
    if_empty = runner.invoke(args=["seed-demo", "--if-empty"])
    assert if_empty.exit_code == 0 and "not seeding" in if_empty.output


def test_users_create(app, demo, db_session, runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--username",
            "chen.kf",
            "--email",
            "Chen@Example.com",
            "--password",
            "Desk-pass-77",
            "--role",
            "finance",
            "--estate",
            "示范小区",
            "--display-name",
            "陈客服",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db_session.scalar(select(User).where(User.username == "chen.kf"))
    assert user.email == "chen@example.com" and user.role_names == {"finance"}
    assert login(app.test_client(), "chen.kf", "Desk-pass-77").location == "/admin/"


def test_users_create_names_the_bad_value_and_exits_non_zero(demo, db_session, runner):
    cases = [
        (["--username", "x1", "--email", "a@example.com"], "username"),
        (["--username", "okname", "--email", "not-an-email"], "not-an-email"),
        (["--username", "okname", "--email", "ok@example.com", "--role", "boss"], "boss"),
        (["--username", "admin", "--email", "ok@example.com"], "admin"),
        (["--username", "okname", "--email", "ok@example.com", "--estate", "无此小区"], "无此小区"),
    ]
    for args, named in cases:
        result = runner.invoke(args=["users", "create", *args, "--password", "Good-pass-1"])
        assert result.exit_code == 1, (args, result.output)
        assert named in result.output, (named, result.output)
        assert "Traceback" not in result.output
    weak = runner.invoke(
        args=[
            "users",
            "create",
            "--username",
            "okname",
            "--email",
            "ok@example.com",
            "--password",
            "short",
        ]
    )
    assert weak.exit_code == 1 and "password" in weak.output
    assert db_session.scalar(select(User).where(User.username == "okname")) is None


def test_id_and_mobile_numbers_are_not_stored_in_plain_text(app, demo, db_session):
    resident = db_session.scalar(select(Resident).where(Resident.name == "张伟"))
    raw = db_session.execute(
        text("SELECT id_number, mobile FROM resident WHERE id = :id"), {"id": resident.id}
    ).one()
    assert resident.id_number not in raw.id_number and resident.mobile not in raw.mobile
    assert raw.id_number.startswith("gAAAA")  # a Fernet token
    assert int(resident.id_number[6:10]) < date.today().year
