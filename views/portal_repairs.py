"""The portal's repairs (报修): report a problem with photos, follow its timeline, then
confirm, reopen or rate the job.

Who sees which request is ``services.repairs.may_see``: in the portal, the resident who
reported it, and nobody else of the household — a tenant's report is not the owner's
business, nor a family member's the payer's. Anything else is a 404. Owners, tenants and
family members alike may report for a unit they live in now. Every move is a service call
with the version the page showed, so a stale page cannot undo someone else's move.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import case, select
from wtforms import (
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import Optional

from models import OPEN_REPAIR_STATUSES, RepairCategory, RepairRequest, RepairUrgency
from propadmin.extensions import db
from propadmin.permissions import requires
from propadmin.services import repairs
from propadmin.services.households import current_homes
from propadmin.services.repair_labels import CATEGORY_LABELS, URGENCY_LABELS
from propadmin.services.repair_photos import (
    MAX_BYTES,
    MAX_ID,
    MAX_PHOTOS,
    MAX_REQUEST_BYTES,
    add_photos,
    photo_for,
    photo_response,
)
from propadmin.services.repairs import NewRepair, RepairError

from .portal import add_entry, bp

add_entry("portal.repairs", _l("Report a repair"), "⚒")

URGENCY_ORDER = (RepairUrgency.low, RepairUrgency.normal, RepairUrgency.urgent)
MOVES = ("cancel", "close", "reopen", "rate")


class ReportForm(FlaskForm):
    unit = SelectField(_l("Where"), coerce=int, validate_choice=True)
    location = StringField(
        _l("Where exactly"), render_kw={"maxlength": 128, "placeholder": _l("e.g. kitchen sink")}
    )
    category = SelectField(_l("What kind of problem"), default=RepairCategory.other.value)
    description = TextAreaField(_l("What is wrong"), render_kw={"maxlength": 2000, "rows": 5})
    urgency = RadioField(_l("How urgent"), default=RepairUrgency.normal.value)
    photos = MultipleFileField(_l("Photos"), render_kw={"accept": "image/*", "multiple": True})
    contact_phone = TelField(
        _l("Contact phone"),
        validators=[Optional()],
        render_kw={"inputmode": "tel", "autocomplete": "tel", "maxlength": 32},
    )

    def __init__(self, homes, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.unit.choices = [(o.unit_id, f"{o.unit.building.name} {o.unit.number}") for o in homes]
        self.category.choices = [(c.value, label) for c, label in CATEGORY_LABELS.items()]
        self.urgency.choices = [(u.value, URGENCY_LABELS[u]) for u in URGENCY_ORDER]
        self.photos.description = _(
            "Up to %(n)d photos, %(mb)d MB each. Location data is removed.",
            n=MAX_PHOTOS,
            mb=MAX_BYTES // (1024 * 1024),
        )


class MoveForm(FlaskForm):
    """One move on a request: the button's ``action``, the version the page showed."""

    action = HiddenField()
    expected_version = HiddenField()
    note = TextAreaField(_l("Reason"), render_kw={"maxlength": 500, "rows": 3})
    rating = RadioField(
        _l("Stars"), choices=[(str(n), str(n)) for n in range(5, 0, -1)], validate_choice=False
    )
    comment = TextAreaField(_l("Comment (optional)"), render_kw={"maxlength": 500, "rows": 3})


def _resident_or_404():
    resident = current_user.resident
    if resident is None:
        abort(404)
    return resident


@bp.url_value_preprocessor
def _room_for_photos(endpoint, _values):
    """The report form carries photos: it may weigh more than the app's usual limit. This
    runs before the CSRF check reads the form (url value preprocessors come first)."""
    if endpoint == "portal.repair_new":
        request.max_content_length = MAX_REQUEST_BYTES


@bp.route("/repairs", endpoint="repairs")
@requires("portal.use")
def repairs_list():
    """The resident's own requests: open ones first, then the newest."""
    resident = current_user.resident
    found = []
    if resident is not None:
        still_open = case((RepairRequest.status.in_(OPEN_REPAIR_STATUSES), 0), else_=1)
        found = db.session.scalars(
            select(RepairRequest)
            .where(RepairRequest.reporter_id == resident.id)
            .order_by(still_open, RepairRequest.submitted_at.desc(), RepairRequest.id.desc())
            .limit(200)
        ).all()
    return render_template("portal/repairs.html", repairs=found, resident=resident)


@bp.route("/repairs/new", methods=["GET", "POST"])
@requires("portal.use")
def repair_new():
    """Report a problem: where, what, how urgent, and up to a few photos."""
    resident = _resident_or_404()
    homes = current_homes(db.session, resident, household=False)
    # The first home is chosen unless the form says otherwise (a script posting only the
    # contract's fields reports for it).
    form = ReportForm(homes, unit=homes[0].unit_id if homes else None)
    if not homes:
        del form.unit
    if form.validate_on_submit():
        unit = None
        if homes:
            unit = next(o.unit for o in homes if o.unit_id == form.unit.data)
        new = NewRepair(
            estate_id=resident.estate_id,
            location=form.location.data or "",
            description=form.description.data or "",
            urgency=RepairUrgency(form.urgency.data),
            category=RepairCategory(form.category.data),
            unit=unit,
            reporter=resident,
            contact_name=resident.name,
            contact_phone=(form.contact_phone.data or "").strip() or resident.mobile or "",
        )
        try:
            repair = repairs.submit(db.session, new, by=current_user)
            add_photos(db.session, repair, request.files.getlist("photos"), by=current_user)
        except RepairError as exc:
            db.session.rollback()
            for field, message in exc.errors.items():
                target = form[field] if field in form else form.description
                target.errors = [*target.errors, message]
        else:
            db.session.commit()
            flash(_("Your request has been sent to the estate office."), "success")
            return redirect(url_for("portal.repair", repair_id=repair.id))
    return render_template(
        "portal/repair_new.html",
        form=form,
        homes=homes,
        masked_mobile=resident.mobile_masked,
    )


def _repair_or_404(repair_id: int) -> RepairRequest:
    repair = db.session.get(RepairRequest, repair_id) if 0 < repair_id <= MAX_ID else None
    if repair is None or not repairs.may_see(current_user, repair):
        abort(404)
    return repair


def _render_repair(repair, move=None, failed: str = ""):
    tz = repair.estate.timezone
    return render_template(
        "portal/repair.html",
        repair=repair,
        tz=tz,
        actions=repairs.allowed_actions(repair, current_user),
        move=move or MoveForm(formdata=None),
        failed=failed,
    )


@bp.route("/repairs/<int:repair_id>")
@requires("portal.use")
def repair(repair_id: int):
    """The request's timeline, photos, who does it, the result, and what can be done."""
    return _render_repair(_repair_or_404(repair_id))


@bp.route("/repairs/<int:repair_id>/move", methods=["POST"])
@requires("portal.use")
def repair_move(repair_id: int):
    """Cancel, confirm and close, reopen with a reason, or rate: one service call each."""
    found = _repair_or_404(repair_id)
    form = MoveForm()
    action = form.action.data if form.action.data in MOVES else ""
    if not form.validate_on_submit() or not action:
        abort(400)
    raw = (form.expected_version.data or "").strip()
    version = int(raw) if raw.isdigit() and len(raw) < 10 else -1
    try:
        if action == "rate":
            stars = form.rating.data or ""
            rating = int(stars) if stars in ("1", "2", "3", "4", "5") else 0
            repairs.rate(
                db.session,
                found,
                rating,
                form.comment.data or "",
                by=current_user,
                expected_version=version,
            )
        else:
            move = getattr(repairs, action)
            move(
                db.session,
                found,
                by=current_user,
                note=form.note.data or "",
                expected_version=version,
            )
    except RepairError as exc:
        db.session.rollback()
        for field, message in exc.errors.items():
            target = {"note": form.note, "rating": form.rating, "comment": form.comment}.get(field)
            if target is None:
                flash(message, "error")
            else:
                target.errors = [*target.errors, message]
        db.session.refresh(found)
        return _render_repair(found, move=form, failed=action)
    db.session.commit()
    done = {
        "cancel": _("The request has been cancelled."),
        "close": _("Thank you. The request is closed."),
        "reopen": _("The request has been reopened."),
        "rate": _("Thank you for your rating."),
    }
    flash(done[action], "success")
    return redirect(url_for("portal.repair", repair_id=found.id))


@bp.route("/repairs/<int:repair_id>/photos/<int:photo_id>")
@requires("portal.use")
def repair_photo(repair_id: int, photo_id: int):
    photo = photo_for(db.session, current_user, repair_id, photo_id)
    if photo is None:
        abort(404)
    return photo_response(photo)
