"""Admin screens for estates, buildings and units."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DecimalField
from wtforms.validators import InputRequired, ValidationError

from models import StaffEstate, UnitUse
from propadmin.permissions import forget_estate_scope
from propadmin.services import ServiceError
from propadmin.services.fields import clean_area
from propadmin.services.naming import unit_label_clause

from .base import SecureModelView
from .moves import MovesMixin
from .register import unit_page_context


def _area(field) -> None:
    """The unit's area follows the same rule as in the import."""
    if field.data is not None:
        try:
            clean_area(field.data)
        except ServiceError as exc:
            raise ValidationError(exc.message) from exc


UNIT_USE_LABELS = {
    UnitUse.residential: _l("Residential"),
    UnitUse.commercial: _l("Commercial"),
    UnitUse.parking: _l("Parking"),
}


class EstateView(SecureModelView):
    permission_module = "property"
    create_permission = "estates.edit"
    edit_permission = "estates.edit"
    delete_permission = None  # an estate with history is never deleted from a screen
    column_list = ("name", "address", "phone", "timezone")
    column_searchable_list = ("name", "address")
    form_columns = ("name", "address", "phone", "timezone")
    column_labels = {
        "name": _l("Name"),
        "address": _l("Address"),
        "phone": _l("Office phone"),
        "timezone": _l("Time zone"),
    }

    def on_model_change(self, form, model, is_created):
        if is_created and not current_user.is_superuser:
            # The creator manages the estate they made; otherwise it would vanish for them.
            current_user.memberships.append(StaffEstate(estate=model))
            forget_estate_scope()
        super().on_model_change(form, model, is_created)


class BuildingView(SecureModelView):
    permission_module = "property"
    column_list = ("estate", "name", "floors")
    column_sortable_list = (("estate", "estate.name"), "name", "floors")
    column_searchable_list = ("name",)
    column_filters = ("estate.name",)
    form_columns = ("estate", "name", "floors")
    column_labels = {
        "estate": _l("Estate"),
        "estate.name": _l("Estate"),
        "name": _l("Building"),
        "floors": _l("Floors"),
    }


class UnitView(MovesMixin, SecureModelView):
    permission_module = "property"
    export_permission = "view"
    details_template = "admin/unit_details.html"
    column_list = ("building.estate", "building", "number", "floor", "area", "layout", "use")
    column_sortable_list = (("building", "building.name"), "number", "floor", "area")
    column_searchable_list = ("number", "layout")
    column_filters = ("building.name", "use", "floor")
    column_default_sort = [("building_id", False), ("number", False)]
    form_columns = ("building", "number", "floor", "area", "layout", "use")
    form_ajax_refs = {"building": {"fields": ("name",), "page_size": 20}}
    column_labels = {
        "building.estate": _l("Estate"),
        "building": _l("Building"),
        "building.name": _l("Building"),
        "number": _l("Unit number"),
        "floor": _l("Floor"),
        "area": _l("Area (m²)"),
        "layout": _l("Layout"),
        "use": _l("Use"),
    }
    column_formatters = {"use": lambda v, c, m, n: UNIT_USE_LABELS.get(m.use, m.use)}
    column_formatters_detail = column_formatters
    form_choices = {"use": [(u.value, UNIT_USE_LABELS[u]) for u in UnitUse]}
    column_formatters_export = {
        "use": lambda v, c, m, n: UNIT_USE_LABELS.get(m.use, m.use),
        "building.estate": lambda v, c, m, n: m.building.estate.name,
    }
    form_overrides = {"area": DecimalField}

    def search_placeholder(self):
        return _("Unit (2-202 or 2栋202), number or layout")

    def _apply_search(self, query, count_query, joins, count_joins, search):
        """A unit as the office names it (see services/naming.py); anything else is
        looked for in the number and layout."""
        clause = unit_label_clause(search)
        if clause is None:
            return super()._apply_search(query, count_query, joins, count_joins, search)
        query = query.filter(clause)
        if count_query is not None:
            count_query = count_query.filter(clause)
        return query, count_query, joins, count_joins

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            unit = kwargs["model"]
            kwargs.update(unit_page_context(unit), use_label=UNIT_USE_LABELS.get(unit.use, ""))
        return super().render(template, **kwargs)

    form_args = {
        "layout": {"description": _l("For example 3室2厅")},
        "area": {"places": 2, "validators": [InputRequired(), lambda f, field: _area(field)]},
    }
