"""Admin screen of the estate's parking spaces."""

from flask_babel import lazy_gettext as _l

from models import ParkingKind

from .base import SecureModelView
from .fields import UNIT_PLACEHOLDER
from .register import PARKING_LABELS


class ParkingSpaceView(SecureModelView):
    permission_module = "property"
    export_permission = "view"
    column_list = ("code", "kind", "unit", "resident", "rented_until", "estate")
    column_searchable_list = ("code",)
    column_filters = ("kind",)
    column_default_sort = "code"
    form_columns = ("estate", "code", "kind", "unit", "resident", "rented_until")
    form_ajax_refs = {
        "unit": {"fields": ("number",), "page_size": 20, "placeholder": UNIT_PLACEHOLDER},
        "resident": {"fields": ("name",), "page_size": 20},
    }
    form_choices = {"kind": [(k.value, PARKING_LABELS[k]) for k in ParkingKind]}
    column_labels = {
        "code": _l("Space"),
        "kind": _l("Owned or rented"),
        "unit": _l("Unit"),
        "resident": _l("Resident"),
        "rented_until": _l("Rented until"),
        "estate": _l("Estate"),
    }
    column_formatters = {
        "kind": lambda v, c, m, n: PARKING_LABELS.get(m.kind, ""),
        "rented_until": lambda v, c, m, n: m.rented_until.date() if m.rented_until else "",
    }
    column_formatters_export = column_formatters
