"""The facility ledger (设施设备台账) and a facility's page: its plans with what is due,
its maintenance and repair history, open repair requests and its warranty — the page
repair staff open on their phone to record the work they just did."""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from models import Building, Facility, FacilityStatus
from propadmin.extensions import db
from propadmin.permissions import can, estate_scope
from propadmin.services.facilities import (
    WARRANTY_WINDOW_DAYS,
    due_state,
    has_history,
    history,
    open_repairs,
    warranty_of,
)
from propadmin.services.fields import text_problem
from propadmin.services.repair_labels import FACILITY_CATEGORY_LABELS, FACILITY_STATUS_LABELS
from propadmin.services.today import estate_today, estate_todays

from .base import SecureModelView
from .fields import typed_ids
from .maintenance_form import maintain_page
from .presentation import ChoiceFilter, ScopedChoiceFilter


def todays() -> dict[int, date]:
    """Today in each of the user's estates, read once per request."""
    if "facility_todays" not in g:
        g.facility_todays = estate_todays(db.session, estate_scope(current_user))
    return g.facility_todays


def text_problems(form, model) -> bool:
    """Every text field of a model form checked as the column stores it (length, and no
    control characters); False when any was refused."""
    columns = model.__table__.c
    valid = True
    for name in columns.keys():
        field = getattr(form, name, None)
        if field is None or not isinstance(field.data, str):
            continue
        problem = text_problem(columns[name], field.data)
        if problem:
            field.errors = [*field.errors, problem]
            valid = False
    return valid


def labelled(labels):
    return lambda v, c, m, n: str(labels.get(getattr(m, n), getattr(m, n) or ""))


def choices(labels):
    return [(member.value, label) for member, label in labels.items()]


class FacilitiesView(SecureModelView):
    """facilities.view reads; facilities.edit changes the ledger and plans. The ledger
    holds no personal data, so those who read it may also export it (an asset list for
    the annual inspection)."""

    permission_module = "facilities"
    export_permission = "facilities.view"


# -- filters -------------------------------------------------------------------------------
class BuildingFilter(ScopedChoiceFilter):
    def apply(self, query, value, alias=None):
        return query.filter(Facility.building_id == int(value))


class WarrantyFilter(FilterEqual):
    """Under warranty, ending within 30 days, or ended, by each estate's today."""

    def validate(self, value):
        return value in ("ending", "valid", "expired", "none")

    def apply(self, query, value, alias=None):
        if value == "none":
            return query.filter(Facility.warranty_end.is_(None))
        clauses = []
        for estate_id, day in todays().items():
            soon = day + timedelta(days=WARRANTY_WINDOW_DAYS)
            if value == "ending":
                window = Facility.warranty_end.between(day, soon)
            elif value == "valid":
                window = Facility.warranty_end >= day
            else:
                window = Facility.warranty_end < day
            clauses.append((Facility.estate_id == estate_id) & window)
        if not clauses:
            return query.filter(Facility.id.is_(None))
        condition = clauses[0]
        for clause in clauses[1:]:
            condition = condition | clause
        if value == "ending":
            condition = condition & (Facility.status != FacilityStatus.retired)
        return query.filter(condition)


WARRANTY_CHOICES = [
    ("ending", _l("Ends within 30 days")),
    ("valid", _l("Under warranty")),
    ("expired", _l("Warranty ended")),
    ("none", _l("No warranty recorded")),
]


def _warranty_cell(view, context, model, name):
    """The warranty's end, with a badge when it ends within 30 days or has ended."""
    if model.warranty_end is None:
        return ""
    day = model.warranty_end.isoformat()
    state = warranty_of(model, todays().get(model.estate_id) or estate_today(None))
    if state.state == "ending":
        label = _("Warranty ends in %(n)d days", n=state.days)
        return Markup('{} <span class="badge badge-warning">{}</span>').format(day, label)
    if state.state == "expired":
        return Markup('{} <span class="badge badge-secondary">{}</span>').format(
            day, _("Warranty ended")
        )
    return day


class FacilityView(FacilitiesView):
    details_template = "admin/facility_details.html"
    extra_permissions = {"maintain_view": "facilities.maintain"}
    column_list = (
        "code", "name", "category", "building", "location", "status", "warranty_end", "estate",
    )
    column_sortable_list = ("code", "name", "category", "status", "warranty_end")
    column_searchable_list = ("code", "name", "serial_no")
    column_default_sort = "code"
    column_filters = (
        ChoiceFilter(
            Facility.category, _l("Facility category"), options=choices(FACILITY_CATEGORY_LABELS)
        ),
        ChoiceFilter(Facility.status, _l("Status"), options=choices(FACILITY_STATUS_LABELS)),
        BuildingFilter(Facility.building_id, _l("Building"), Building, Building.name),
        WarrantyFilter(Facility.warranty_end, _l("Warranty"), options=WARRANTY_CHOICES),
    )
    form_columns = (
        "estate", "code", "name", "category", "building", "location", "model", "serial_no",
        "supplier", "supplier_phone", "purchase_date", "warranty_end", "status", "notes",
    )
    column_details_list = (*form_columns, "created_at", "updated_at")
    column_export_list = form_columns
    form_choices = {
        "category": choices(FACILITY_CATEGORY_LABELS),
        "status": choices(FACILITY_STATUS_LABELS),
    }
    column_formatters = {
        "category": labelled(FACILITY_CATEGORY_LABELS),
        "status": labelled(FACILITY_STATUS_LABELS),
    }
    column_formatters_export = column_formatters
    column_formatters = {**column_formatters, "warranty_end": _warranty_cell}
    column_labels = {
        "estate": _l("Estate"),
        "code": _l("Asset number"),
        "name": _l("Facility name"),
        "category": _l("Facility category"),
        "building": _l("Building"),
        "location": _l("Location"),
        "model": _l("Model"),
        "serial_no": _l("Serial number"),
        "supplier": _l("Supplier"),
        "supplier_phone": _l("Supplier's phone"),
        "purchase_date": _l("Purchased on"),
        "warranty_end": _l("Warranty ends"),
        "status": _l("Status"),
        "notes": _l("Notes"),
    }
    form_args = {
        "building": {"description": _l("The building it is in, if any.")},
        "location": {"description": _l("Where exactly, e.g. 地下车库泵房 or 2栋电梯1号")},
        "code": {"description": _l("The office's own asset number, e.g. DT-01")},
    }

    def search_placeholder(self):
        return _("Asset number, name or serial number")

    def delete_model(self, model):
        # Deleting would take its maintenance history (and its place on repair requests)
        # with it: equipment that is gone is marked retired instead.
        if has_history(db.session, model):
            flash(_("This facility has maintenance or repair history: mark it as retired "
                    "instead of deleting it."), "error")
            return False
        return super().delete_model(model)

    def get_query(self):
        return super().get_query().options(
            joinedload(Facility.building), joinedload(Facility.estate)
        )

    def prepare_form(self, form, obj=None):
        form.building.blank_text = "—"
        return form

    def validate_form(self, form):
        valid = super().validate_form(form)
        if not hasattr(form, "code"):
            return valid
        valid = text_problems(form, Facility) and valid
        if form.estate.data is None:
            return valid
        form.code.data = (form.code.data or "").strip()
        form.name.data = (form.name.data or "").strip()
        estate = form.estate.data
        building = form.building.data
        if building is not None and building.estate_id != estate.id:
            form.building.errors = [
                *form.building.errors, _("This building is in another estate."),
            ]
            valid = False
        if form.code.data:
            _pk, ids = typed_ids(Facility, [request.args.get("id", "")])
            taken = select(Facility.id).where(
                Facility.estate_id == estate.id, Facility.code == form.code.data
            )
            if ids:
                taken = taken.where(Facility.id != ids[0])
            if db.session.scalar(taken.limit(1)) is not None:
                form.code.errors = [
                    *form.code.errors, _("Another facility of this estate has this number."),
                ]
                valid = False
        purchased, ends = form.purchase_date.data, form.warranty_end.data
        if purchased and ends and ends < purchased:
            form.warranty_end.errors = [
                *form.warranty_end.errors, _("The warranty cannot end before the purchase."),
            ]
            valid = False
        return valid

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            kwargs.update(hub_context(kwargs["model"]))
        return super().render(template, **kwargs)

    @expose("/maintain/", methods=("GET", "POST"))
    def maintain_view(self):
        """记录维护: one small form for the facility (and one of its plans)."""
        raw = request.args.get("id", "")
        if not raw:
            flash(_("Choose the facility first, then record its maintenance."), "info")
            return redirect(url_for(".index_view"))
        facility = self.get_one(raw, action="view")
        if facility is None:
            abort(404)
        return maintain_page(self, facility)


def hub_context(facility: Facility) -> dict:
    """What the facility's page shows beside its facts."""
    today = estate_today(facility.estate)
    plans = [(p, *due_state(p, today)) for p in facility.plans]
    return {
        "today": today,
        "warranty": warranty_of(facility, today),
        "plans": plans,
        "records": history(db.session, facility),
        "repairs": open_repairs(db.session, facility),
        "can_maintain": can("facilities.maintain"),
        "can_edit_facility": can("facilities.edit"),
        "category_label": FACILITY_CATEGORY_LABELS.get(facility.category, ""),
        "status_label": FACILITY_STATUS_LABELS.get(facility.status, ""),
    }

