"""记录维护: the small form on a facility's page, made for a phone — the day (today in
the estate by default), what was done, parts and cost. Saved by
``services/facilities.py::record_maintenance``, which also moves the plan on."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField

from models import MaintenancePlan
from propadmin.extensions import db
from propadmin.services.facilities import (
    FacilityError,
    Maintenance,
    due_state,
    record_maintenance,
    warranty_of,
)
from propadmin.services.repair_labels import MAINTENANCE_KIND_LABELS
from propadmin.services.today import estate_today

from .fields import typed_ids

KIND_CHOICES = [(k.value, label) for k, label in MAINTENANCE_KIND_LABELS.items()]


class MaintainForm(FlaskForm):
    done_on = DateField(_l("Done on"))
    kind = SelectField(_l("Kind of work"), choices=KIND_CHOICES, validate_choice=False)
    work = TextAreaField(_l("Work done"))
    parts = StringField(_l("Parts replaced"), description=_l("Leave empty if none."))
    cost = StringField(_l("Cost in yuan"), default="0", description=_l("0 if nothing was paid."))
    staff_name = StringField(
        _l("Done by"),
        description=_l("Leave empty if you did it yourself; or the outside engineer's name."),
    )


def _plan_of(facility, raw) -> MaintenancePlan | None | bool:
    """The facility's plan named in the address; None without one; False for an id
    that is not one of this facility's plans."""
    if not raw:
        return None
    _pk, ids = typed_ids(MaintenancePlan, [raw])
    plan = next((p for p in facility.plans if ids and p.id == ids[0]), None)
    return plan if plan is not None else False


def maintain_page(view, facility):
    plan = _plan_of(facility, request.args.get("plan", ""))
    if plan is False:
        abort(404)
    today = estate_today(facility.estate)
    form = MaintainForm()
    if request.method == "GET":
        form.done_on.data = today
        if plan is not None:
            form.kind.data = plan.kind.value
            form.work.data = plan.title
    if form.validate_on_submit():
        done = Maintenance(
            done_on=form.done_on.data,
            work=form.work.data or "",
            parts=form.parts.data or "",
            cost=form.cost.data or "0",
            kind=(form.kind.data or None) if plan is None else None,
            staff_name=form.staff_name.data or "",
        )
        try:
            record_maintenance(
                db.session, facility, done, today=today, plan=plan,
                by=current_user._get_current_object(),
            )
        except FacilityError as exc:
            db.session.rollback()
            for name, message in exc.errors.items():
                field = getattr(form, name, None) if name else None
                target = field if field is not None else form.work
                target.errors = [*target.errors, message]
        else:
            db.session.commit()
            if plan is not None:
                flash(
                    _("Recorded. %(plan)s is next due on %(day)s.",
                      plan=plan.title, day=plan.next_due.isoformat()),
                    "success",
                )
            else:
                flash(_("Recorded."), "success")
            return redirect(url_for(".details_view", id=facility.id))
    return view.render(
        "admin/maintenance_record_form.html",
        facility=facility,
        plan=plan,
        due=due_state(plan, today) if plan is not None else None,
        warranty=warranty_of(facility, today),
        form=form,
        today=today,
        back=url_for(".details_view", id=facility.id),
    )
