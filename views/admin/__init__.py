"""The staff admin (Flask-Admin), built inside the app factory."""

from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

from models import (
    AuditLog,
    Building,
    Estate,
    Occupancy,
    OutboxMessage,
    ParkingSpace,
    Resident,
    Role,
    Unit,
    User,
    Vehicle,
)
from propadmin.extensions import db
from propadmin.security_headers import csp_nonce

from .accounts import UserView
from .base import SecureModelView
from .billing_menu import add_billing_views
from .dashboard import DashboardView
from .facilities_menu import add_facility_views
from .list_links import admin_static_url
from .menu_cache import CachedMenuAdmin, init_menu_cache
from .notices_menu import add_notice_views
from .occupancy import OccupancyView
from .page_forms import hidden_input
from .parking import ParkingSpaceView
from .property import BuildingView, EstateView, UnitView
from .register_import import RegisterImportView
from .repairs_menu import add_repair_views
from .residents import ResidentView
from .roles import RoleView
from .system import AuditLogView, OutboxView
from .vehicles import VehicleView

__all__ = ["SecureModelView", "init_admin"]


def init_admin(app) -> CachedMenuAdmin:
    admin = CachedMenuAdmin(
        app,
        name=_l("PropAdmin"),
        index_view=DashboardView(name=_l("Dashboard"), url="/admin"),
        theme=Bootstrap4Theme(base_template="admin/propadmin_base.html", fluid=True),
        # Flask-Admin's own <script> tags carry this request's CSP nonce.
        csp_nonce_generator=csp_nonce,
    )
    place, people, system = _l("Property"), _l("Residents"), _l("System")
    admin.add_view(EstateView(Estate, db, name=_l("Estates"), category=place, endpoint="estate"))
    admin.add_view(
        BuildingView(Building, db, name=_l("Buildings"), category=place, endpoint="building")
    )
    admin.add_view(UnitView(Unit, db, name=_l("Units"), category=place, endpoint="unit"))
    admin.add_view(
        ParkingSpaceView(ParkingSpace, db, name=_l("Parking"), category=place, endpoint="parking")
    )
    admin.add_view(
        ResidentView(Resident, db, name=_l("Residents"), category=people, endpoint="resident")
    )
    admin.add_view(
        OccupancyView(
            Occupancy, db, name=_l("Who lives where"), category=people, endpoint="occupancy"
        )
    )
    admin.add_view(
        VehicleView(Vehicle, db, name=_l("Vehicles"), category=people, endpoint="vehicle")
    )
    admin.add_view(
        RegisterImportView(
            name=_l("Import residents"),
            category=people,
            endpoint="register_import",
            url="/admin/register-import",
        )
    )
    add_billing_views(admin)
    add_repair_views(admin)
    add_facility_views(admin)
    add_notice_views(admin)
    admin.add_view(UserView(User, db, name=_l("Accounts"), category=system, endpoint="user"))
    admin.add_view(RoleView(Role, db, name=_l("Roles"), category=system, endpoint="role"))
    admin.add_view(
        AuditLogView(AuditLog, db, name=_l("Audit log"), category=system, endpoint="audit")
    )
    admin.add_view(
        OutboxView(OutboxMessage, db, name=_l("Mail outbox"), category=system, endpoint="outbox")
    )
    init_menu_cache(app)
    app.jinja_env.globals.update(hidden_input=hidden_input, admin_static_url=admin_static_url)
    app.extensions["propadmin.admin"] = admin
    return admin
