"""Admin screen of who lives where: a resident's occupancy of a unit."""

from flask_babel import lazy_gettext as _l

from models import Relation
from propadmin.services.dashboard import lease_window_text, leases_ending
from propadmin.services.residents import RegisterError, check_occupancy

from .base import SecureModelView
from .fields import UNIT_PLACEHOLDER
from .register import RELATION_LABELS
from .worklist import Filter, Tile, register_tile


class OccupancyView(SecureModelView):
    permission_module = "residents"
    export_permission = "residents.export"
    column_list = ("unit", "resident", "relation", "start_date", "end_date", "is_payer")
    column_default_sort = [("unit_id", False), ("id", False)]
    column_filters = ("relation", "is_payer", "end_date")
    form_columns = ("unit", "resident", "relation", "start_date", "end_date", "is_payer")
    form_ajax_refs = {
        "unit": {"fields": ("number",), "page_size": 20, "placeholder": UNIT_PLACEHOLDER},
        "resident": {"fields": ("name",), "page_size": 20},
    }
    form_choices = {"relation": [(r.value, RELATION_LABELS[r]) for r in Relation]}
    column_labels = {
        "unit": _l("Unit"),
        "resident": _l("Resident"),
        "relation": _l("Relation"),
        "start_date": _l("From"),
        "end_date": _l("Until"),
        "is_payer": _l("Pays the bills"),
        "shares_bills": _l("Household sees the bills"),  # set by the payer in the portal
    }
    column_formatters = {"relation": lambda v, c, m, n: RELATION_LABELS.get(m.relation, "")}
    column_formatters_export = column_formatters

    def validate_form(self, form):
        valid = super().validate_form(form)
        if not valid or not hasattr(form, "relation"):
            return valid
        try:
            check_occupancy(
                form.unit.data, form.resident.data, form.start_date.data, form.end_date.data
            )
        except RegisterError as exc:
            for field, message in exc.errors.items():
                form[field].errors.append(message)
            return False
        return valid


register_tile(
    Tile(
        key="leases_ending",
        label=_l("Leases ending within 30 days"),
        endpoint="occupancy",
        count=leases_ending,
        filters=(
            Filter("relation", "equals", Relation.tenant.value),
            Filter("end_date", "between", lambda: lease_window_text()),
        ),
    )
)
