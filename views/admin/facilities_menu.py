"""The admin's 设施设备 menu: the ledger, maintenance plans and records."""

from flask_babel import lazy_gettext as _l

from models import Facility, MaintenancePlan, MaintenanceRecord
from propadmin.extensions import db

from .facilities import FacilityView
from .maintenance import MaintenancePlanView, MaintenanceRecordView


def add_facility_views(admin) -> None:
    menu = _l("Facilities")
    admin.add_view(
        FacilityView(Facility, db, name=_l("Facility ledger"), category=menu, endpoint="facility")
    )
    admin.add_view(
        MaintenancePlanView(
            MaintenancePlan, db, name=_l("Maintenance plans"), category=menu,
            endpoint="maintenance_plan",
        )
    )
    admin.add_view(
        MaintenanceRecordView(
            MaintenanceRecord, db, name=_l("Maintenance records"), category=menu,
            endpoint="maintenance_record",
        )
    )
