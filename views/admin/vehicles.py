"""Admin screen of the residents' vehicles."""

from flask import request
from flask_babel import lazy_gettext as _l

from models import Vehicle
from propadmin.extensions import db
from propadmin.services.residents import RegisterError, check_vehicle

from .base import SecureModelView, typed_ids


class VehicleView(SecureModelView):
    permission_module = "residents"
    export_permission = "residents.export"
    column_list = ("plate", "brand", "colour", "owner", "estate")
    column_searchable_list = ("plate", "brand")
    column_default_sort = "plate"
    form_columns = ("estate", "plate", "brand", "colour", "owner")
    form_ajax_refs = {"owner": {"fields": ("name",), "page_size": 20}}
    column_labels = {
        "plate": _l("Licence plate"),
        "brand": _l("Brand"),
        "colour": _l("Colour"),
        "owner": _l("Owner"),
        "estate": _l("Estate"),
    }

    def validate_form(self, form):
        valid = super().validate_form(form)
        if not valid or not hasattr(form, "plate") or form.estate.data is None:
            return valid
        _pk, current = typed_ids(Vehicle, [request.args.get("id", "")])
        try:
            form.plate.data = check_vehicle(
                db.session,
                form.estate.data.id,
                form.plate.data,
                form.owner.data,
                brand=form.brand.data or "",
                colour=form.colour.data or "",
                vehicle_id=current[0] if current else None,
            )
        except RegisterError as exc:
            for field, message in exc.errors.items():
                form[field].errors.append(message)
            return False
        return valid
