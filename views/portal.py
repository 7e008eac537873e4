"""The owner and tenant portal: a light, phone-first self-service site."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.security import check_password_hash

from models import Occupancy, ParkingSpace, Resident, Unit, Vehicle
from propadmin.crypto import mask_mobile
from propadmin.extensions import db
from propadmin.permissions import requires
from propadmin.security import start_session
from propadmin.services import ServiceError
from propadmin.services.accounts import set_password

from .forms import ChangePasswordForm

bp = Blueprint("portal", __name__, url_prefix="/portal")


def _household():
    """The signed-in resident's current occupancies, with units and buildings loaded."""
    resident = current_user.resident
    if resident is None:
        return None, []
    occupancies = db.session.scalars(
        select(Occupancy)
        .where(Occupancy.resident_id == resident.id)
        .options(
            selectinload(Occupancy.unit)
            .selectinload(Unit.occupancies)
            .selectinload(Occupancy.resident)
        )
        .order_by(Occupancy.id)
    ).all()
    return resident, [o for o in occupancies if o.is_current]


@bp.route("/")
@requires("portal.use")
def home():
    resident, occupancies = _household()
    return render_template("portal/home.html", resident=resident, occupancies=occupancies)


@bp.route("/profile", methods=["GET", "POST"])
@requires("portal.use")
def profile():
    resident, occupancies = _household()
    unit_ids = [o.unit_id for o in occupancies]
    vehicles, spaces = [], []
    if resident is not None:
        vehicles = db.session.scalars(
            select(Vehicle).where(Vehicle.owner_id == resident.id).order_by(Vehicle.plate)
        ).all()
        spaces = db.session.scalars(
            select(ParkingSpace)
            .where((ParkingSpace.resident_id == resident.id) | ParkingSpace.unit_id.in_(unit_ids))
            .order_by(ParkingSpace.code)
        ).all()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not check_password_hash(current_user.password_hash, form.current.data):
            form.current.errors.append(_("The current password is not right."))
        else:
            try:
                set_password(db.session, current_user, form.password.data)
            except ServiceError as exc:
                getattr(form, exc.field or "password").errors.append(exc.message)
            else:
                db.session.commit()
                # Every other session has ended; this one continues under the new token.
                start_session(current_user)
                flash(_("Your password has been changed."), "success")
                return redirect(url_for("portal.profile"))
    return render_template(
        "portal/profile.html",
        resident=resident,
        occupancies=occupancies,
        vehicles=vehicles,
        spaces=spaces,
        form=form,
        masked_mobile=mask_mobile(resident.mobile) if resident else "",
        Resident=Resident,
    )
