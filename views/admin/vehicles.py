"""Admin screen of the residents' vehicles."""

from flask import flash, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_

from models import Resident, Vehicle
from propadmin.extensions import db
from propadmin.services.naming import MIN_PLATE_PART, normalize_query, plate_clause
from propadmin.services.residents import RegisterError, check_vehicle

from .base import SecureModelView, typed_ids
from .fields import scoped_row


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

    def prepare_form(self, form, obj=None):
        """添加车辆 from a resident's page: ``?owner=<id>`` fills in the owner and estate."""
        if obj is None and request.method == "GET" and request.args.get("owner"):
            owner = scoped_row(Resident, request.args["owner"])
            if owner is not None:
                form.owner.data, form.estate.data = owner, owner.estate
        return form

    def search_placeholder(self):
        return _("Plate (A12345 or 12345) or brand")

    def _apply_search(self, query, count_query, joins, count_joins, search):
        """The plate as a guard types it (see services/naming.py), or the brand."""
        text = normalize_query(search)
        conditions = [Vehicle.brand.contains(text, autoescape=True)]
        plate = plate_clause(Vehicle.plate, text)
        if plate is not None:
            conditions.append(plate)
        elif text.isascii() and text.isalnum():
            flash(
                _(
                    "Type at least %(n)d characters of a plate to search by plate.",
                    n=MIN_PLATE_PART,
                ),
                "info",
            )
        query = query.filter(or_(*conditions))
        if count_query is not None:
            count_query = count_query.filter(or_(*conditions))
        return query, count_query, joins, count_joins

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
