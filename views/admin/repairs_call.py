"""Logging a call (/admin/repairs/new, repairs.report): a resident phones, walks in, or a
patrol finds a problem; the office types it in and it joins the queue like a portal
report. The unit is typed as the office names it (2-202, 2栋202, see naming.py)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from models import Facility, RepairCategory, RepairSource, RepairUrgency, Unit
from propadmin.extensions import db
from propadmin.permissions import can, scoped, visible_estates
from propadmin.services import repairs as flow
from propadmin.services.naming import normalize_query, unit_label_clause
from propadmin.services.repair_queue import buildings_for
from propadmin.services.repairs import NewRepair, RepairError

from .fields import scoped_row

SOURCES = {
    RepairSource.office: _l("By phone or at the office"),
    RepairSource.patrol: _l("Found on patrol"),
}


def _unit(text: str) -> Unit | None:
    """The unit a typed label names in the user's estates; RepairError if none or many."""
    clause = unit_label_clause(normalize_query(text[:32]))
    if clause is None:
        raise RepairError({"unit": _("Type the unit as building-number, such as 2-202.")})
    units = db.session.scalars(scoped(select(Unit).where(clause), Unit).limit(2)).all()
    if not units:
        raise RepairError({"unit": _("No such unit in the estates you manage.")})
    if len(units) > 1:
        raise RepairError({"unit": _("Several estates have this unit: choose the estate.")})
    return units[0]


def _choice(form, name, enum, default):
    raw = (form.get(name) or default.value)[:16]
    if raw not in enum.__members__:
        raise RepairError({name: _("Choose one of the list.")})
    return enum(raw)


def read_call(form) -> NewRepair:
    """The form as a NewRepair, every row looked up inside the user's estates."""
    errors: dict[str, str] = {}
    found: dict = {}
    for name, reader in (
        ("urgency", lambda: _choice(form, "urgency", RepairUrgency, RepairUrgency.normal)),
        ("category", lambda: _choice(form, "category", RepairCategory, RepairCategory.other)),
        ("source", lambda: _choice(form, "source", RepairSource, RepairSource.office)),
        ("unit", lambda: _unit(form["unit"]) if form.get("unit", "").strip() else None),
    ):
        try:
            found[name] = reader()
        except RepairError as exc:
            errors.update(exc.errors)
    if found.get("source") is RepairSource.portal:
        errors["source"] = _("Choose one of the list.")
    rows = {}
    for name, model in (("building", None), ("facility", Facility), ("estate", None)):
        raw = (form.get(name) or "").strip()[:12]
        if not raw:
            rows[name] = None
            continue
        if name == "building":
            row = next((b for b in buildings_for(db.session, current_user) if str(b.id) == raw),
                       None)
        elif name == "estate":
            row = next((e for e in visible_estates(db.session) if str(e.id) == raw), None)
        else:
            row = scoped_row(model, raw)
        if row is None:
            errors[name] = _("No such record in the estates you manage: choose one from the list.")
        rows[name] = row
    unit, building, facility = found.get("unit"), rows["building"], rows["facility"]
    estate_id = next(
        (x for x in (
            unit.building.estate_id if unit else None,
            facility.estate_id if facility else None,
            building.estate_id if building else None,
            rows["estate"].id if rows["estate"] else None,
        ) if x is not None),
        None,
    )
    if estate_id is None:
        estates = visible_estates(db.session)
        if len(estates) == 1:
            estate_id = estates[0].id
        elif not errors:
            errors["estate"] = _("Choose the estate.")
    if building is not None and estate_id is not None and building.estate_id != estate_id:
        errors["building"] = _("This belongs to another estate.")
    if errors:
        raise RepairError(errors)
    location = (form.get("location") or "").strip()
    if not location and unit is not None:
        location = unit.label
    return NewRepair(
        estate_id=estate_id,
        location=location[:1000],
        description=(form.get("description") or "")[:5000],
        urgency=found["urgency"],
        category=found["category"],
        source=found["source"],
        unit=unit,
        building_id=building.id if building else None,
        facility=facility,
        contact_name=(form.get("contact_name") or "")[:1000],
        contact_phone=(form.get("contact_phone") or "")[:64],
    )


class CallPages:
    """The log-a-call page of the repairs view."""

    @expose("/new", methods=("GET", "POST"))
    def new(self):
        if not can("repairs.report"):
            abort(403)
        errors: dict[str, str] = {}
        if request.method == "POST":
            try:
                repair = flow.submit(db.session, read_call(request.form), by=current_user)
            except RepairError as exc:
                db.session.rollback()
                errors = exc.errors
            else:
                db.session.commit()
                flash(_("Request #%(id)d is in the queue.", id=repair.id), "success")
                return redirect(url_for(".details", repair_id=repair.id))
        estates = visible_estates(db.session)
        facilities = db.session.scalars(
            scoped(select(Facility), Facility).order_by(Facility.code)
        ).all()
        return self.render(
            "admin/repair_new.html",
            errors=errors,
            values=request.form,
            estates=estates if len(estates) > 1 else [],
            buildings=buildings_for(db.session, current_user),
            facilities=facilities,
            sources=SOURCES,
        ), (400 if errors else 200)
