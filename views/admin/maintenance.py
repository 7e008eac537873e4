"""Maintenance plans (保养计划) and maintenance records (维护记录) as lists and forms.

Plans are the ledger's (facilities.edit); records are written by whoever does the work
(facilities.maintain), usually from the facility's page. A record a repair wrote links
to the repair and cannot be deleted here: it is part of that repair's history."""

from __future__ import annotations

from datetime import timedelta

from flask import request
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import IntegerField, StringField

from models import Facility, MaintenancePlan, MaintenanceRecord
from propadmin.services.facilities import (
    DUE_AHEAD_DAYS,
    Maintenance,
    advance,
    due_clause,
    due_state,
    interval_problem,
    maintenance_due_count,
    maintenance_problems,
    warranties_ending_count,
)
from propadmin.services.money import parse_amount
from propadmin.services.repair_labels import INTERVAL_UNIT_LABELS, MAINTENANCE_KIND_LABELS
from propadmin.services.today import estate_today

from .facilities import ChoiceFilter, FacilitiesView, choices, labelled, text_problems, todays
from .fields import scoped_row
from .worklist import Filter, Tile, register_tile


def _every_text(v, c, m, n) -> str:
    return _("every %(n)d %(unit)s", n=m.every, unit=INTERVAL_UNIT_LABELS[m.every_unit])


def _due_text(v, c, m, n):
    state, days = due_state(m, todays().get(m.facility.estate_id) or estate_today(None))
    day = m.next_due.isoformat()
    if not m.active:
        return day
    if state == "overdue":
        label = _("%(n)d days overdue", n=days)
        return Markup('{} <span class="badge badge-danger">{}</span>').format(day, label)
    if state == "due":
        label = _("due today") if days == 0 else _("due in %(n)d days", n=days)
        return Markup('{} <span class="badge badge-warning">{}</span>').format(day, label)
    return day


class DueFilter(FilterEqual):
    """Due within DUE_AHEAD_DAYS or overdue, by each estate's today."""

    def validate(self, value):
        return value in ("due", "overdue")

    def apply(self, query, value, alias=None):
        days = todays()
        if value == "overdue":  # due on or before yesterday
            shift = timedelta(days=1 + DUE_AHEAD_DAYS)
            days = {estate: day - shift for estate, day in days.items()}
        due = select(MaintenancePlan.id).join(MaintenancePlan.facility).where(due_clause(days))
        return query.filter(MaintenancePlan.id.in_(due))


class MaintenancePlanView(FacilitiesView):
    column_list = ("facility", "title", "kind", "every", "next_due", "last_done", "active")
    column_sortable_list = ("title", "next_due", "last_done")
    column_searchable_list = ("title",)
    column_default_sort = "next_due"
    column_filters = (
        "active",
        ChoiceFilter(
            MaintenancePlan.kind, _l("Kind of work"), options=choices(MAINTENANCE_KIND_LABELS)
        ),
        DueFilter(
            MaintenancePlan.next_due,
            _l("Due"),
            options=[
                ("due", _l("Due within %(n)d days or overdue", n=DUE_AHEAD_DAYS)),
                ("overdue", _l("Overdue")),
            ],
        ),
    )
    form_columns = (
        "facility", "title", "kind", "every", "every_unit", "next_due", "active", "notes",
    )
    column_details_list = (*form_columns, "last_done", "created_at", "updated_at")
    form_overrides = {"every": IntegerField}
    form_choices = {
        "kind": choices(MAINTENANCE_KIND_LABELS),
        "every_unit": choices(INTERVAL_UNIT_LABELS),
    }
    column_formatters = {
        "kind": labelled(MAINTENANCE_KIND_LABELS),
        "every": _every_text,
        "every_unit": labelled(INTERVAL_UNIT_LABELS),
        "next_due": _due_text,
    }
    column_formatters_detail = column_formatters
    column_formatters_export = {**column_formatters, "next_due": lambda v, c, m, n: m.next_due}
    column_labels = {
        "facility": _l("Equipment"),
        "title": _l("Plan"),
        "kind": _l("Kind of work"),
        "every": _l("Every"),
        "every_unit": _l("Days or months"),
        "next_due": _l("Next due"),
        "last_done": _l("Last done"),
        "active": _l("Active"),
        "notes": _l("Notes"),
    }
    form_args = {
        "title": {"description": _l("e.g. 电梯半月保养, 消防泵月度试运行")},
        "every": {"description": _l("How often: a number of days or months.")},
        "next_due": {"description": _l("When it is due next; recording the work moves it on.")},
    }

    def get_query(self):
        return super().get_query().options(joinedload(MaintenancePlan.facility))

    def prepare_form(self, form, obj=None):
        """From a facility's page (?facility=id) the new plan is for that facility."""
        raw = request.args.get("facility", "")
        if obj is None and request.method == "GET" and raw:
            facility = scoped_row(Facility, raw)
            if facility is not None:
                form.facility.data = facility
        return form

    def validate_form(self, form):
        valid = super().validate_form(form)
        if not hasattr(form, "every"):
            return valid
        valid = text_problems(form, MaintenancePlan) and valid
        if not form.every.errors:
            problem = interval_problem(form.every.data, form.every_unit.data)
            if problem:
                form.every.errors = [*form.every.errors, problem]
                valid = False
        title = (form.title.data or "").strip()
        if hasattr(form, "title") and not title:
            form.title.errors = [*form.title.errors, _("Name the plan.")]
            valid = False
        return valid


def _who(v, c, m, n) -> str:
    if m.staff_name:
        return m.staff_name
    return (m.staff.display_name or m.staff.username) if m.staff is not None else ""


def _repair_link(v, c, m, n):
    if m.repair_id is None:
        return ""
    return Markup('<a href="/admin/repairs/{0}">#{0}</a>').format(m.repair_id)


class MaintenanceRecordView(FacilitiesView):
    create_permission = "facilities.maintain"
    edit_permission = "facilities.maintain"
    delete_permission = "facilities.maintain"
    action_permission = "facilities.maintain"
    column_list = (
        "done_on", "facility", "kind", "staff", "work", "cost", "under_warranty", "repair",
    )
    column_sortable_list = ("done_on", "cost")
    column_searchable_list = ("work", "parts", "staff_name")
    column_default_sort = ("done_on", True)
    column_filters = (
        "done_on",
        ChoiceFilter(
            MaintenanceRecord.kind, _l("Kind of work"), options=choices(MAINTENANCE_KIND_LABELS)
        ),
        "under_warranty",
    )
    form_columns = (
        "facility", "plan", "done_on", "kind", "staff_name", "work", "parts", "cost",
    )
    column_details_list = (
        "facility", "plan", "done_on", "kind", "staff", "staff_name", "work", "parts", "cost",
        "under_warranty", "repair", "created_at",
    )
    column_export_list = (
        "done_on", "facility", "kind", "staff", "work", "parts", "cost", "under_warranty",
        "repair",
    )
    form_overrides = {"cost": StringField}
    form_choices = {"kind": choices(MAINTENANCE_KIND_LABELS)}
    column_formatters = {
        "kind": labelled(MAINTENANCE_KIND_LABELS),
        "staff": _who,
        "repair": _repair_link,
    }
    column_formatters_detail = {**column_formatters, "staff": lambda v, c, m, n: (
        (m.staff.display_name or m.staff.username) if m.staff is not None else ""
    )}
    column_formatters_export = {
        **column_formatters, "repair": lambda v, c, m, n: m.repair_id or "",
    }
    column_labels = {
        "facility": _l("Equipment"),
        "plan": _l("Plan"),
        "done_on": _l("Done on"),
        "kind": _l("Kind of work"),
        "staff": _l("Done by"),
        "staff_name": _l("Outside engineer"),
        "work": _l("Work done"),
        "parts": _l("Parts replaced"),
        "cost": _l("Cost in yuan"),
        "under_warranty": _l("Under warranty"),
        "repair": _l("Repair request"),
    }
    form_args = {
        "staff_name": {
            "description": _l("Someone from outside, e.g. the lift company's engineer.")
        },
        "plan": {"description": _l("The plan this work carries out, if any: it then moves on.")},
    }

    def may(self, action, row):
        # A repair's record belongs to that repair's history.
        return action != "delete" or row.repair_id is None

    def get_query(self):
        return super().get_query().options(
            joinedload(MaintenanceRecord.facility), joinedload(MaintenanceRecord.staff)
        )

    def prepare_form(self, form, obj=None):
        form.plan.blank_text = "—"
        return form

    def validate_form(self, form):
        valid = super().validate_form(form)
        if not hasattr(form, "work") or form.facility.data is None:
            return valid
        facility = form.facility.data
        plan = form.plan.data
        if plan is not None and plan.facility_id != facility.id:
            form.plan.errors = [*form.plan.errors, _("This plan is for another facility.")]
            valid = False
        if form.done_on.errors:
            return False
        done = Maintenance(
            done_on=form.done_on.data, work=form.work.data or "", parts=form.parts.data or "",
            cost=form.cost.data if form.cost.data not in (None, "") else "0",
            kind=form.kind.data or None, staff_name=form.staff_name.data or "",
        )
        for name, message in maintenance_problems(done, estate_today(facility.estate)).items():
            field = form[name]
            field.errors = [*field.errors, message]
            valid = False
        if valid:
            form.cost.data = parse_amount(done.cost, allow_zero=True)
        return valid

    def on_model_change(self, form, model, is_created):
        if is_created:
            model.staff = current_user._get_current_object()
            if model.plan is not None:
                advance(model.plan, model.done_on)
        if model.repair_id is None:  # a repair's record says what the repair found
            model.under_warranty = model.facility.under_warranty(model.done_on)
        super().on_model_change(form, model, is_created)


register_tile(
    Tile(
        key="warranties_ending",
        label=_l("Warranties ending within 30 days"),
        endpoint="facility",
        count=warranties_ending_count,
        filters=(Filter("warranty_end", "equals", "ending"),),
    )
)
register_tile(
    Tile(
        key="maintenance_due",
        label=_l("Maintenance due or overdue"),
        endpoint="maintenance_plan",
        count=maintenance_due_count,
        filters=(Filter("next_due", "equals", "due"),),
        urgent=True,
    )
)
