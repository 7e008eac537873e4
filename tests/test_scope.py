"""Access control fails closed: scope is declared per model, permission names are checked
when the app starts, and one per-row hook guards every way of acting on a row."""

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import request
from flask_admin import expose
from flask_admin.model import BaseModelView
from sqlalchemy import select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from models import (
    AuditLog,
    Building,
    Estate,
    Occupancy,
    Relation,
    Resident,
    Role,
    UndeclaredScope,
    Unit,
)
from propadmin.extensions import db
from propadmin.permissions import UnknownPermission, scoped
from views.admin.base import PermissionView, SecureModelView

from .helpers import csrf_from

ROOT = Path(__file__).resolve().parent.parent


class _Elsewhere(DeclarativeBase):
    """A registry of its own, so the throwaway model does not join the app's models."""


class Noticeboard(_Elsewhere):
    __tablename__ = "noticeboard"
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int]


def test_a_view_on_a_model_without_a_scope_is_refused(app):
    class NoticeboardView(SecureModelView):
        permission_module = "property"

    with pytest.raises(UndeclaredScope, match="Noticeboard"):
        NoticeboardView(Noticeboard, db, endpoint="noticeboard")


def test_the_scoping_helper_raises_rather_than_returning_everything(app, demo, db_session):
    from models import User

    admin = db_session.scalar(select(User).where(User.username == "admin"))
    with app.test_request_context(), pytest.raises(UndeclaredScope, match="Noticeboard"):
        scoped(select(Noticeboard), Noticeboard, admin)


def test_the_app_refuses_to_start_with_an_undeclared_model(tmp_path):
    script = textwrap.dedent(
        """
        from sqlalchemy.orm import Mapped, mapped_column
        from models import Base

        class Parcel(Base):
            __tablename__ = "parcel"
            id: Mapped[int] = mapped_column(primary_key=True)

        from propadmin import create_app
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
        print("started")
        """
    )
    env = {**os.environ, "PROPADMIN_INSTANCE_PATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert "Parcel does not declare how its rows belong to an estate" in result.stderr


@pytest.mark.parametrize(
    "attrs",
    [
        {"permission_module": "property", "edit_permission": "property.edti"},
        {"permission_module": "propery"},
        {"permission_module": "property", "extra_permissions": {"x": "residents.revael"}},
    ],
)
def test_a_misspelt_permission_stops_the_view_from_being_built(app, attrs):
    view = type("TypoView", (SecureModelView,), attrs)
    with pytest.raises(UnknownPermission, match="TypoView"):
        view(Building, db, endpoint="typo")


def test_a_page_with_a_misspelt_permission_is_refused_too(app):
    from flask_admin import BaseView

    page = type("TypoPage", (PermissionView, BaseView), {"required_permission": "mail.veiw"})
    with pytest.raises(UnknownPermission, match="mail.veiw"):
        page(name="x", endpoint="typo_page")


def test_a_rows_estate_comes_from_the_same_declaration(app, demo, db_session):
    """An occupancy belongs to its unit's building's estate: its audit entry says so."""
    unit = db_session.scalar(select(Unit).order_by(Unit.id.desc()))
    resident = db_session.scalar(select(Resident).order_by(Resident.id))
    occupancy = Occupancy(unit_id=unit.id, resident_id=resident.id, relation=Relation.family)
    db_session.add(occupancy)
    db_session.commit()
    entry = db_session.scalar(
        select(AuditLog).where(
            AuditLog.entity == "Occupancy", AuditLog.entity_id == str(occupancy.id)
        )
    )
    assert entry.estate_id == demo


# -- one per-row hook ----------------------------------------------------------------
class SealedBuildingView(SecureModelView):
    """A view with a row rule: buildings named 封存… are sealed (seen, never changed)."""

    permission_module = "property"
    column_list = ("name", "floors")
    column_editable_list = ("floors",)
    extra_permissions = {"bump_view": "property.edit"}

    def may(self, action, row):
        return action == "view" or not row.name.startswith("封存")

    @expose("/bump/", methods=("POST",))
    def bump_view(self):
        """A page of the view's own that changes a row (a bill's "void" will be one)."""
        row = self.get_one(request.args.get("id", ""))
        row.floors = 77
        db.session.commit()
        return "ok"


@pytest.fixture
def sealed(app, login_as, make, demo, db_session):
    app.extensions["propadmin.admin"].add_view(
        SealedBuildingView(Building, db, endpoint="sealed", url="/admin/sealed")
    )
    # No units: deleting it would work, were it not sealed.
    building = make.building(estate=db_session.get(Estate, demo), name="封存楼", floors=5)
    return login_as("admin"), building


def test_the_row_rule_guards_opening_for_edit_and_saving(sealed, db_session):
    admin, building = sealed
    assert admin.get(f"/admin/sealed/details/?id={building.id}").status_code == 200
    assert admin.get(f"/admin/sealed/edit/?id={building.id}").status_code == 403
    token = csrf_from(admin.get("/admin/sealed/").text)
    saved = admin.post(
        f"/admin/sealed/edit/?id={building.id}",
        data={
            "estate": str(building.estate_id), "name": "封存楼", "floors": "99",
            "csrf_token": token,
        },
    )
    assert saved.status_code == 403
    db_session.expire_all()
    assert db_session.get(Building, building.id).floors != 99


def test_the_row_rule_guards_delete_mass_actions_and_inline_edits(sealed, db_session):
    admin, building = sealed
    page = admin.get("/admin/sealed/")
    token = csrf_from(page.text)
    assert (
        admin.post("/admin/sealed/delete/", data={"id": building.id, "csrf_token": token})
    ).status_code == 403
    mass = admin.post(
        "/admin/sealed/action/",
        data={"action": "delete", "rowid": str(building.id), "csrf_token": token},
        follow_redirects=True,
    )
    assert "1 条所选记录您无权修改，已保持原样" in mass.text
    inline = admin.post(
        "/admin/sealed/ajax/update/",
        data={"list_form_pk": str(building.id), "floors": "77", "csrf_token": token},
    )
    assert inline.status_code == 403
    bump = admin.post(f"/admin/sealed/bump/?id={building.id}", data={"csrf_token": token})
    assert bump.status_code == 403
    db_session.expire_all()
    assert db_session.get(Building, building.id) is not None
    assert db_session.get(Building, building.id).floors == 5


def test_an_unsealed_row_goes_through_the_same_pages(sealed, make, db_session):
    """The rule refuses what it should and nothing more: another building can be bumped."""
    admin, sealed_building = sealed
    open_building = make.building(estate=sealed_building.estate, name="开放楼", floors=5)
    token = csrf_from(admin.get("/admin/sealed/").text)
    bump = admin.post(f"/admin/sealed/bump/?id={open_building.id}", data={"csrf_token": token})
    assert bump.status_code == 200
    db_session.expire_all()
    assert db_session.get(Building, open_building.id).floors == 77


# -- bad input, plain answers --------------------------------------------------------
def test_an_absurd_page_number_is_a_normal_page(app, login_as):
    admin = login_as("admin")
    for view in app.extensions["propadmin.admin"]._views:
        if not isinstance(view, BaseModelView):
            continue
        for page in ("99999999999999999999", "-99999999999999999999", "abc"):
            response = admin.get(f"/admin/{view.endpoint}/?page={page}")
            assert response.status_code == 200, (view.endpoint, page, response.status_code)


@pytest.mark.config(PROPAGATE_EXCEPTIONS=False)
def test_the_error_page_renders_after_a_database_error(app, login_as, caplog):
    def broken():
        # A view that saved something (which expires the signed-in user's row), then
        # hit an error: PostgreSQL refuses every statement until the rollback.
        db.session.commit()
        db.session.execute(sa.text("SELECT no_such_column FROM estate"))
        return "unreachable"

    broken.required_permission = "dashboard.view"
    app.add_url_rule("/broken", "broken", broken)
    admin = login_as("admin")
    response = admin.get("/broken")
    assert response.status_code == 500
    assert "出错" in response.text or "错误" in response.text
    # A mistake in a statement is a failure with its trace in the log, not "unavailable".
    assert "no_such_column" in caplog.text and "Traceback" in caplog.text
    # ...and the next request of the same person works.
    assert admin.get("/admin/").status_code == 200


# -- built-in roles come with the schema ----------------------------------------------
def test_a_production_install_can_create_its_first_admin_without_the_demo(
    database_url, tmp_path, backend
):
    """`db upgrade` then `users create --role admin`, on an empty database."""
    from flask_migrate import upgrade

    from propadmin import create_app

    from .conftest import PG_SERVER, _config

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
        server = None
    else:
        name = f"propadmin_fresh_{uuid.uuid4().hex[:8]}"
        server = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = server.url.set(database=name).render_as_string(hide_password=False)
    try:
        app = create_app(_config(url, tmp_path / "instance"))
        with app.app_context():
            upgrade()
            roles = {r.name: r.permissions for r in db.session.scalars(select(Role))}
            db.session.remove()
        from propadmin.permissions import BUILTIN_ROLES

        assert roles == {name: perms for name, (_label, perms) in BUILTIN_ROLES.items()}
        result = app.test_cli_runner().invoke(
            args=[
                "users", "create", "--username", "boss", "--email", "boss@example.com",
                "--password", "Harbour-lights-2026", "--role", "admin",
            ]
        )
        assert result.exit_code == 0, result.output
        with app.app_context():
            from models import User

            boss = db.session.scalar(select(User).where(User.username == "boss"))
            assert boss.role_names == {"admin"}
            db.session.remove()
            db.engine.dispose()
    finally:
        if server is not None:
            with server.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            server.dispose()


def test_a_database_refusal_reads_as_a_sentence_not_the_databases_english(
    app, login_as, db_session, demo, monkeypatch
):
    from sqlalchemy.exc import DataError

    from views.admin.property import BuildingView

    def refuse(self, form, model, is_created):
        raise DataError("INSERT ...", {}, Exception("value too long for type varchar(32)"))

    monkeypatch.setattr(BuildingView, "on_model_change", refuse)
    admin = login_as("admin")
    page = admin.get("/admin/building/new/")
    response = admin.post(
        "/admin/building/new/",
        data={
            "estate": str(demo), "name": "9栋", "floors": "9", "csrf_token": csrf_from(page.text)
        },
        follow_redirects=True,
    )
    assert "无法保存此记录" in response.text
    assert "varchar" not in response.text and "INSERT" not in response.text


def test_a_views_own_mass_action_only_gets_rows_it_may_act_on(
    app, login_as, make, demo, db_session
):
    """An @action that forgets scoped_rows() still cannot touch a sealed or foreign row."""
    from flask_admin.actions import action

    touched = []

    class Stamping(SealedBuildingView):
        @action("stamp", "Stamp")
        def action_stamp(self, ids):
            touched.extend(ids)

    app.extensions["propadmin.admin"].add_view(
        Stamping(Building, db, endpoint="stamping", url="/admin/stamping")
    )
    estate = db_session.get(Estate, demo)
    sealed = make.building(estate=estate, name="封存楼2")
    open_one = make.building(estate=estate, name="开放楼2")
    foreign = make.building()  # another estate's
    admin = login_as("admin")
    token = csrf_from(admin.get("/admin/stamping/").text)
    admin.post(
        "/admin/stamping/action/",
        data={"action": "stamp", "rowid": [str(sealed.id), str(open_one.id), str(foreign.id)],
              "csrf_token": token},
    )
    assert touched == [str(open_one.id)]
