"""办理入住 / 办理退房 from the unit page: one form each, saved in one transaction by
``propadmin/services/moves.py``. The unit view mixes these pages in."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, HiddenField, RadioField, SelectField, StringField
from wtforms.validators import Length, Optional

from models import Occupancy, ParkingSpace, Relation, Resident
from propadmin.extensions import db
from propadmin.permissions import can
from propadmin.services.moves import MoveIn, assign_space, free_spaces, move_in, move_out
from propadmin.services.number_search import check_typed_id_number
from propadmin.services.residents import RegisterError, ResidentDetails

from .fields import scoped_row, typed_ids
from .register import RELATION_LABELS


class MoveInForm(FlaskForm):
    who = RadioField(
        _l("Who moves in"),
        choices=[("new", _l("Someone new")), ("existing", _l("Someone on the register"))],
        default="new",
    )
    resident = HiddenField(_l("Resident"))
    name = StringField(_l("Name"), validators=[Optional(), Length(max=64)])
    id_number = StringField(_l("ID-card number"), validators=[Optional(), Length(max=32)])
    mobile = StringField(_l("Mobile"), validators=[Optional(), Length(max=32)])
    relation = SelectField(
        _l("Relation"), choices=[(r.value, RELATION_LABELS[r]) for r in Relation], default="tenant"
    )
    start_date = DateField(_l("From"), validators=[Optional()], default=date.today)
    end_date = DateField(_l("Until (lease end)"), validators=[Optional()])
    is_payer = BooleanField(_l("Pays the bills"))
    plates = StringField(
        _l("Licence plates"),
        validators=[Optional(), Length(max=200)],
        description=_l("Several plates: separate them with commas."),
    )
    space = SelectField(_l("Parking space"), choices=[], validate_choice=False)


class AssignSpaceForm(FlaskForm):
    space = SelectField(_l("Parking space"), choices=[], validate_choice=False)
    resident = SelectField(_l("For"), choices=[], validate_choice=False)


class MoveOutForm(FlaskForm):
    last_day = DateField(_l("Last day"), default=date.today)


def _plates(text: str) -> list[str]:
    return [p.strip() for p in text.replace("，", ",").replace("、", ",").split(",") if p.strip()]


class MovesMixin:
    """Pages of the unit view: ``move_in_view`` and ``move_out_view``."""

    extra_permissions = {
        "move_in_view": "residents.edit",
        "move_out_view": "residents.edit",
        "assign_space_view": "property.edit",
    }

    def _unit_or_404(self):
        unit = self.get_one(request.args.get("id", ""), action="edit")
        if unit is None:
            abort(404)
        return unit

    @expose("/move-in/", methods=("GET", "POST"))
    def move_in_view(self):
        unit = self._unit_or_404()
        form = MoveInForm()
        spaces = free_spaces(db.session, unit.building.estate_id)
        form.space.choices = [("", _("No parking space"))] + [(str(s.id), s.code) for s in spaces]
        if form.validate_on_submit():
            chosen = form.space.data
            space = next((s for s in spaces if str(s.id) == chosen), None)
            existing = form.who.data == "existing"
            resident = scoped_row(Resident, form.resident.data) if existing else None
            move = MoveIn(
                unit=unit,
                relation=Relation(form.relation.data),
                resident=resident,
                details=None
                if existing
                else ResidentDetails(
                    name=form.name.data or "",
                    id_number=form.id_number.data or None,
                    mobile=form.mobile.data or None,
                ),
                start_date=form.start_date.data,
                end_date=form.end_date.data,
                is_payer=form.is_payer.data,
                plates=_plates(form.plates.data or ""),
                space=space,
            )
            errors: dict[str, str] = {}
            if not existing:
                # A duplicate refused tells whether a full number is registered: the same
                # limited, audited check as the resident form.
                problem = check_typed_id_number(
                    db.session,
                    unit.building.estate_id,
                    form.id_number.data,
                    None,
                    may_reveal=can("residents.reveal"),
                    account_id=current_user.id,
                )
                if problem:
                    db.session.commit()  # the audit entry of a duplicate found
                    errors["id_number"] = problem
            if existing and resident is None:
                errors["resident"] = _("Choose the resident from the list.")
            if chosen and space is None:
                errors["space"] = _("That parking space is not free any more.")
            if not errors:
                try:
                    occupancy = move_in(db.session, move)
                except RegisterError as exc:
                    errors = exc.errors
            if not errors:
                db.session.commit()
                name, start = occupancy.resident.name, occupancy.start_date
                if start and start > date.today():
                    message = _(
                        "%(name)s will move into %(unit)s on %(day)s.",
                        name=name, unit=unit.label, day=start.isoformat(),
                    )
                else:
                    message = _("%(name)s has moved into %(unit)s.", name=name, unit=unit.label)
                flash(message, "success")
                return redirect(self.get_url(".details_view", id=unit.id))
            db.session.rollback()
            for name, message in errors.items():
                target = {"owner": "resident", "plate": "plates"}.get(name, name)
                getattr(form, target, form.name).errors.append(message)
        return self.render(
            "admin/move_in.html",
            unit=unit,
            form=form,
            lookup_url=url_for("occupancy.ajax_lookup", name="resident"),
        )

    @expose("/move-out/", methods=("GET", "POST"))
    def move_out_view(self):
        unit = self._unit_or_404()
        _pk, ids = typed_ids(Occupancy, [request.args.get("occupancy", "")])
        occupancy = next((o for o in unit.occupancies if ids and o.id == ids[0]), None)
        if occupancy is None:
            abort(404)
        form = MoveOutForm()
        if form.validate_on_submit():
            try:
                result = move_out(db.session, occupancy, form.last_day.data)
            except RegisterError as exc:
                db.session.rollback()
                form.last_day.errors.append(next(iter(exc.errors.values())))
            else:
                db.session.commit()
                flash(
                    _("%(name)s has moved out of %(unit)s.", name=occupancy.resident.name,
                      unit=unit.label),
                    "success",
                )
                if result.account_closed:
                    flash(_("Their portal account is closed."), "info")
                return redirect(self.get_url(".details_view", id=unit.id))
        held = db.session.scalars(
            select(ParkingSpace).where(
                ParkingSpace.unit_id == unit.id, ParkingSpace.resident_id == occupancy.resident_id
            )
        ).all()
        return self.render(
            "admin/move_out.html",
            unit=unit,
            occupancy=occupancy,
            form=form,
            spaces=held,
            relation_labels=RELATION_LABELS,
        )

    @expose("/assign-space/", methods=("GET", "POST"))
    def assign_space_view(self):
        unit = self._unit_or_404()
        form = AssignSpaceForm()
        spaces = free_spaces(db.session, unit.building.estate_id)
        people = [o.resident for o in unit.occupancies if o.is_current]
        form.space.choices = [(str(s.id), s.code) for s in spaces]
        form.resident.choices = [("", _("The unit"))] + [(str(p.id), p.name) for p in people]
        if form.validate_on_submit():
            space = next((s for s in spaces if str(s.id) == form.space.data), None)
            person = next((p for p in people if str(p.id) == form.resident.data), None)
            if space is None:
                form.space.errors.append(_("That parking space is not free any more."))
            else:
                try:
                    assign_space(db.session, unit, space, person)
                except RegisterError as exc:
                    db.session.rollback()
                    for name, message in exc.errors.items():
                        getattr(form, name, form.space).errors.append(message)
                else:
                    db.session.commit()
                    flash(
                        _("Parking space %(code)s now belongs to %(unit)s.", code=space.code,
                          unit=unit.label),
                        "success",
                    )
                    return redirect(self.get_url(".details_view", id=unit.id))
        return self.render("admin/assign_space.html", unit=unit, form=form, spaces=spaces)
