"""Portal access from the admin: inviting a resident (a printed code or a mailed link)
and one-time reset codes for people without mail, from a resident's page and from an
account's page. The rules live in propadmin/services/access_codes.py."""

from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user

from models import AccessPurpose, Estate, Resident, User
from propadmin.extensions import db
from propadmin.i18n import localtime
from propadmin.permissions import can, may_manage_account
from propadmin.services import ServiceError
from propadmin.services.access_codes import (
    IssuedCode,
    invitation_address,
    invite_resident,
    issue_code,
    portal_status,
)

ACTIONS = ("invite_code", "invite_mail", "reset_code")


def render_printed_code(view, issued: IssuedCode, estate: Estate | None, name: str, back: str):
    """The plain, printable page with the code the office hands over."""
    zone = estate.timezone if estate is not None else None
    base = current_app.config["BASE_URL"].rstrip("/")
    path = (
        url_for("auth.activate")
        if issued.purpose is AccessPurpose.activate
        else url_for("auth.reset_code")
    )
    return view.render(
        "admin/access_code_print.html",
        issued=issued,
        estate=estate,
        person=name,
        address=base + path,
        expires=localtime(issued.expires_at, zone),
        back=back,
    )


class PortalAccessMixin:
    """For the resident view: the include's context and the action it posts to."""

    def portal_access_context(self, resident: Resident) -> dict:
        return {
            "portal_status": portal_status(resident),
            "invitation_address": invitation_address(db.session, resident),
            "can_invite": can("users.edit")
            and (resident.user is None or may_manage_account(current_user, resident.user)),
        }

    @expose("/portal-access/", methods=("POST",))
    def portal_access_view(self):
        resident = self.get_one(request.args.get("id", ""))
        if resident is None:
            abort(404)
        back = self.get_url(".details_view", id=resident.id)
        action = request.form.get("action", "")
        if action not in ACTIONS:
            abort(400)
        if resident.user is not None and not may_manage_account(current_user, resident.user):
            abort(403)
        try:
            if action == "reset_code":
                if portal_status(resident) != "active":
                    raise ServiceError(
                        _("%(name)s has no active portal account.", name=resident.name)
                    )
                issued = issue_code(db.session, resident.user, AccessPurpose.reset, current_user)
            else:
                issued = invite_resident(
                    db.session, resident, by_mail=action == "invite_mail", actor=current_user
                )
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(back)
        db.session.commit()
        if issued.mailed_to:
            flash(
                _(
                    "An activation link is on its way to %(address)s. "
                    "It works once, until %(when)s.",
                    address=issued.mailed_to,
                    when=localtime(issued.expires_at, resident.estate.timezone),
                ),
                "success",
            )
            return redirect(back)
        return render_printed_code(self, issued, resident.estate, resident.name, back)


class AccountResetCodeMixin:
    """For the account view: a one-time reset code for staff (or residents) without mail."""

    @expose("/reset-code/", methods=("POST",))
    def reset_code_view(self):
        user = self.get_one(request.args.get("id", ""))
        if user is None:
            abort(404)
        back = self.get_url(".details_view", id=user.id)
        if not self.may("edit", user):
            abort(403)
        try:
            issued = issue_code(db.session, user, AccessPurpose.reset, current_user)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(back)
        db.session.commit()
        estate = _estate_of(user)
        return render_printed_code(self, issued, estate, str(user), back)


def _estate_of(user: User) -> Estate | None:
    if user.resident is not None:
        return user.resident.estate
    return user.memberships[0].estate if user.memberships else None
