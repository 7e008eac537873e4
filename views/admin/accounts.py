"""Admin screens for user accounts and roles.

Nobody can hand out more than they hold: staff may only grant roles and permissions
within their own, only superusers make superusers, and nobody edits an account that
holds more than they do. A custom role belongs to the estate that made it; built-in
and estate-less roles are shared, and only superusers change them.
"""

from flask import request
from flask_admin.contrib.sqla.fields import QuerySelectMultipleField
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import PasswordField
from wtforms.validators import Optional, ValidationError

from models import Estate, Role, StaffEstate, User
from propadmin.extensions import db
from propadmin.permissions import (
    estate_clause,
    may_grant,
    may_manage_account,
    role_label,
    scoped,
)
from propadmin.services import ServiceError
from propadmin.services.accounts import (
    account_problems,
    add_account,
    end_sessions,
    set_password,
)

from .base import (
    FormOnly,
    SecureModelView,
    local_time,
    typed_ids,
)
from .portal_access import AccountResetCodeMixin


class UserView(AccountResetCodeMixin, SecureModelView):
    permission_module = "users"
    delete_permission = None  # accounts are deactivated, keeping their history
    extra_permissions = {"reset_code_view": "users.edit"}
    details_template = "admin/user_details.html"
    column_list = ("username", "display_name", "email", "roles", "active", "last_login_at")
    column_searchable_list = ("username", "display_name", "email")
    column_filters = ("active",)
    column_details_list = (
        "username",
        "display_name",
        "email",
        "roles",
        "memberships",
        "active",
        "is_superuser",
        "locale",
        "last_login_at",
        "created_at",
    )
    form_columns = (
        "username",
        "display_name",
        "email",
        "roles",
        "estates",
        "active",
        "is_superuser",
        "locale",
        "new_password",
    )
    form_extra_fields = {
        "estates": FormOnly(QuerySelectMultipleField)(_l("Estates"), allow_blank=True),
        "new_password": FormOnly(PasswordField)(_l("New password"), validators=[Optional()]),
    }
    form_choices = {
        "locale": [("", _l("Follow the browser")), ("zh_Hans_CN", "简体中文"), ("en", "English")]
    }
    column_labels = {
        "username": _l("User name"),
        "display_name": _l("Name"),
        "email": _l("E-mail"),
        "roles": _l("Roles"),
        "memberships": _l("Estates"),
        "active": _l("Active"),
        "is_superuser": _l("Superuser"),
        "locale": _l("Language"),
        "last_login_at": _l("Last sign-in"),
        "created_at": _l("Created"),
    }
    column_formatters = {
        "roles": lambda v, c, m, n: ", ".join(role_label(r) for r in m.roles),
        "memberships": lambda v, c, m, n: ", ".join(s.estate.name for s in m.memberships),
        "last_login_at": local_time("last_login_at"),
        "created_at": local_time("created_at"),
    }
    column_formatters_detail = column_formatters

    def prepare_form(self, form, obj=None):
        form.roles.query_factory = lambda: [
            r
            for r in db.session.scalars(scoped(select(Role).order_by(Role.id), Role))
            if may_grant(current_user, r.permissions)
        ]
        form.roles.get_label = role_label
        estates = select(Estate).order_by(Estate.name)
        clause = estate_clause(Estate)
        if clause is not None:
            estates = estates.where(clause)
        form.estates.query_factory = lambda: db.session.scalars(estates).all()
        if not current_user.is_superuser:
            del form["is_superuser"]
        if obj is not None and request.method != "POST":
            form.estates.data = [m.estate for m in obj.memberships]
        return form

    def may(self, action, row):
        # Accounts that hold more than the editor, or belong to an estate the editor
        # does not manage, can be looked at but not changed (see may_manage_account).
        return action == "view" or may_manage_account(current_user, row)

    def validate_form(self, form):
        valid = super().validate_form(form)
        if not valid or not hasattr(form, "username"):
            return valid
        # No address is NULL, never "": the unique constraint holds for real ones only.
        form.email.data = (form.email.data or "").strip().lower() or None
        form.username.data = (form.username.data or "").strip()
        _pk, current = typed_ids(User, [request.args.get("id", "")])
        errors = account_problems(
            db.session, form.username.data, form.email.data, current[0] if current else None
        )
        for field, message in errors.items():
            form[field].errors.append(message)
        return not errors

    def on_model_change(self, form, model, is_created):
        if model.is_superuser and not current_user.is_superuser:
            raise ValidationError(_("Only a superuser can grant superuser rights."))
        if not may_grant(current_user, {p for r in model.roles for p in r.permissions}):
            raise ValidationError(_("You can only grant roles within your own permissions."))
        # The editor manages every estate the account is in (get_one made sure), and
        # the choices hold only estates the editor manages.
        chosen = {e.id for e in (form.estates.data or [])}
        existing = {m.estate_id: m for m in model.memberships}
        model.memberships = [
            existing.get(eid) or StaffEstate(estate_id=eid) for eid in sorted(chosen)
        ]
        password = form.new_password.data
        try:
            if is_created:
                if not password:
                    raise ValidationError(_("Give the new account a password."))
                add_account(db.session, model, password)
            elif password:
                set_password(db.session, model, password)
        except ServiceError as exc:
            raise ValidationError(exc.message) from exc
        if not is_created and not model.active:
            end_sessions(db.session, model)
        super().on_model_change(form, model, is_created)
