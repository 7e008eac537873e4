"""The owner and tenant portal: a light, phone-first self-service site."""

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.security import check_password_hash

from propadmin.extensions import db
from propadmin.i18n import in_language
from propadmin.permissions import requires
from propadmin.services import ServiceError
from propadmin.services.accounts import set_password
from propadmin.services.bill_access import STATUS_LABELS
from propadmin.services.households import (
    RELATION_LABELS,
    current_homes,
    parking_spaces,
    resident_vehicles,
)
from propadmin.services.portal_home import home_screen
from propadmin.services.residents import RegisterError, update_contact
from propadmin.services.today import estate_today
from propadmin.sessions import count_sign_in_attempt, forget_sign_in_attempts, start_session

from .forms import ChangePasswordForm, ContactForm

bp = Blueprint("portal", __name__, url_prefix="/portal")


def _household():
    """The signed-in resident and where they live now, with who else lives there."""
    resident = current_user.resident
    if resident is None:
        return None, []
    return resident, current_homes(db.session, resident)


# What a resident can do from the home screen: (endpoint, label, icon). Each module adds
# its own (缴费 with bills, 报修 with repairs, 公告 with notices) with add_entry().
ENTRIES: list[tuple[str, object, str]] = [("portal.profile", _l("My household"), "☺")]


def add_entry(endpoint: str, label, icon: str) -> None:
    ENTRIES.append((endpoint, label, icon))


# The tab bar under every portal page (portal/_layout.html): endpoint, label, icon, and the
# endpoints whose pages belong to the tab (a form with errors is shown again at its own
# address).
TABS = (
    ("portal.home", _l("Home"), "⌂", ()),
    ("portal.bills", _l("Bills"), "¥", ("portal.bill", "portal.receipt")),
    (
        "portal.repairs",
        _l("My repairs"),
        "⚒",
        ("portal.repair", "portal.repair_new", "portal.repair_move"),
    ),
    ("portal.notices", _l("Notices"), "✉", ("portal.notice",)),
    ("portal.profile", _l("My household"), "☺", ("portal.update_contact_details",)),
)
bp.add_app_template_global(lambda: in_language(TABS), "portal_tabs")


@bp.route("/")
@requires("portal.use")
def home():
    resident = current_user.resident
    screen = home_screen(db.session, resident)
    g.unread_notices = screen.unread_notices  # the tab's badge: read with the rest
    return render_template(
        "portal/home.html",
        resident=resident,
        screen=screen,
        entries=in_language(ENTRIES),
        status_labels=in_language(STATUS_LABELS),
        relation_labels=in_language(RELATION_LABELS),
        today=estate_today(resident.estate if resident is not None else None),
    )


def _render_profile(form=None, contact=None, status=200):
    resident, occupancies = _household()
    unit_ids = [o.unit_id for o in occupancies]
    vehicles, spaces = [], []
    if resident is not None:
        vehicles = resident_vehicles(db.session, resident)
        spaces = parking_spaces(db.session, resident, unit_ids)
    if contact is None and resident is not None:
        contact = ContactForm(
            email=resident.email, emergency_contact=resident.emergency_contact, formdata=None
        )
    masked = {
        "mobile": resident.mobile_masked if resident else "",
        "emergency_phone": resident.emergency_phone_masked if resident else "",
    }
    return render_template(
        "portal/profile.html",
        resident=resident,
        relation_labels=in_language(RELATION_LABELS),
        occupancies=occupancies,
        vehicles=vehicles,
        spaces=spaces,
        form=form or ChangePasswordForm(),
        contact=contact,
        masked=masked,
    ), status


@bp.route("/profile", methods=["GET", "POST"])
@requires("portal.use")
def profile():
    """The household, contact details and the password form (POST changes the password)."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        # Checking the current password is a sign-in attempt: counted on the same limits.
        account = f"user:{current_user.id}"
        if not count_sign_in_attempt(account, current_user):
            db.session.commit()  # the warning to the account holder, if one was queued
            form.current.errors.append(
                _("Too many attempts. Please wait a few minutes and try again.")
            )
        elif not check_password_hash(current_user.password_hash, form.current.data):
            form.current.errors.append(_("The current password is not right."))
        else:
            forget_sign_in_attempts(account, current_user)
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
    return _render_profile(form=form)


@bp.route("/profile/contact", methods=["POST"])
@requires("portal.use")
def update_contact_details():
    """A resident keeps their own contact details up to date. Empty phone fields keep
    the number on file (it is never sent back to the page in full)."""
    resident = current_user.resident
    if resident is None:
        abort(404)
    contact = ContactForm()
    if contact.validate_on_submit():
        try:
            update_contact(
                db.session,
                resident,
                mobile=contact.mobile.data or resident.mobile,
                email=contact.email.data or "",
                emergency_contact=contact.emergency_contact.data or "",
                emergency_phone=contact.emergency_phone.data or resident.emergency_phone,
            )
        except RegisterError as exc:
            db.session.rollback()
            for field, message in exc.errors.items():
                if field in contact:
                    contact[field].errors.append(message)
        else:
            db.session.commit()
            flash(_("Your contact details have been saved."), "success")
            return redirect(url_for("portal.profile") + "#contact")
    return _render_profile(contact=contact)


# The bills, repairs and notices pages add their routes to ``bp`` and their entries to the
# home screen.
from . import portal_bills, portal_notices, portal_repairs  # noqa: E402, F401
