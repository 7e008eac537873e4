"""Admin screen for roles: a named set of ticked permissions.

A custom role belongs to the estate that made it; built-in and estate-less roles are
shared, and only superusers change them. Nobody grants a permission they do not hold.
"""

import re
import secrets

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import SelectMultipleField
from wtforms.validators import Length, Optional, Regexp, ValidationError

from models import Estate, Role
from propadmin.extensions import db
from propadmin.permissions import MODULES, PERMISSIONS, estate_scope, may_grant, role_label

from .base import SecureModelView

CODE_RE = r"^[A-Za-z0-9_.-]+$"


class PermissionChecklist:
    """Permissions as checkboxes grouped by module, each a whole-row tap target.

    Not Bootstrap's ``form-control`` (which has a fixed height: the list overflowed the box
    and the save buttons sat on top of the last checkboxes)."""

    def __call__(self, field, **kwargs):
        chosen = set(field.data or ())
        groups: dict[str, list[tuple[str, str]]] = {}
        for value, label in field.choices:
            groups.setdefault(value.partition(".")[0], []).append((value, label))
        html = [f'<div class="permission-groups" id="{escape(field.id)}">']
        for module, options in groups.items():
            html.append('<fieldset class="permission-group">')
            html.append(f"<legend>{escape(str(MODULES.get(module, module)))}</legend>")
            for value, label in options:
                box = f"{field.id}-{value.replace('.', '-')}"
                checked = " checked" if value in chosen else ""
                html.append(
                    f'<div class="form-check"><label class="form-check-label" for="{escape(box)}">'
                    f'<input class="form-check-input" type="checkbox" name="{escape(field.name)}"'
                    f' value="{escape(value)}" id="{escape(box)}"{checked}>'
                    f"{escape(label)}</label></div>"
                )
            html.append("</fieldset>")
        html.append("</div>")
        return Markup("".join(html))  # noqa: S704 — every piece above is escaped


class PermissionsField(SelectMultipleField):
    widget = PermissionChecklist()


def new_role_code(label: str) -> str:
    """A code for a role whose maker left it empty: the label's letters and digits if it
    has any (``Front desk`` → ``front-desk``), else ``role-`` and a few random letters."""
    stem = re.sub(r"[^a-z0-9]+", "-", (label or "").lower()).strip("-")[:40]
    code = stem
    while not code or db.session.scalar(select(Role.id).where(Role.name == code)) is not None:
        code = f"{stem or 'role'}-{secrets.token_hex(3)}"
    return code



class RoleView(SecureModelView):
    permission_module = "roles"
    view_permission = "roles.edit"
    export_permission = None
    column_list = ("label", "name", "estate", "description", "builtin", "grants")
    column_searchable_list = ("name", "label")
    form_columns = ("label", "name", "estate", "description", "permissions")
    form_extra_fields = {"permissions": PermissionsField(_l("Permissions"), choices=[])}
    column_labels = {
        "label": _l("Role"),
        "name": _l("Code"),
        "description": _l("Description"),
        "builtin": _l("Built-in"),
        "estate": _l("Estate"),
        "grants": _l("Permissions"),
        "permissions": _l("Permissions"),
    }
    column_formatters = {
        "label": lambda v, c, m, n: role_label(m),
        "estate": lambda v, c, m, n: m.estate.name if m.estate else _("All estates"),
        "grants": lambda v, c, m, n: Markup("<br>").join(
            str(PERMISSIONS.get(p, p)) for p in sorted(m.permissions)
        ),
    }
    column_formatters_detail = column_formatters
    form_args = {
        "label": {"label": _l("Role name"), "description": _l("As people will see it, e.g. 客服")},
        "name": {
            "description": _l("For the command line; leave empty to have one made up."),
            "validators": [
                Optional(),
                Length(max=64),
                Regexp(CODE_RE, message=_l("Use letters, digits, dots, dashes or underscores.")),
            ],
        },
    }

    def prepare_form(self, form, obj=None):
        # Flask-Admin requires every non-null column; the code is made up when left empty.
        form.name.validators = [
            v for v in form.name.validators if not getattr(v, "field_flags", {}).get("required")
        ]
        form.name.flags.required = False
        form.permissions.choices = [
            (name, str(label))
            for name, label in PERMISSIONS.items()
            if may_grant(current_user, {name})
        ]
        if obj is not None and request.method != "POST":
            form.permissions.data = sorted(obj.permissions)
        form.estate.blank_text = _("All estates") if current_user.is_superuser else "—"
        if current_user.is_superuser:
            form.estate.description = _("Leave empty for a role every estate can use.")
        else:
            mine = estate_scope(current_user) or set()
            if obj is None and len(mine) == 1 and request.method != "POST":
                form.estate.data = db.session.get(Estate, next(iter(mine)))
        return form

    def may(self, action, role):
        """Anyone who manages roles sees the shared ones; a custom role is changed by the
        admins of its estate (never one holding more than they do); built-in and
        estate-less roles by superusers only."""
        if action == "view" or current_user.is_superuser:
            return True
        # The relationship, not estate_id: on save the form has set the former only.
        estate = role.estate
        return (
            not role.builtin
            and estate is not None
            and estate.id in (estate_scope(current_user) or set())
            and may_grant(current_user, role.permissions)
        )

    def on_model_change(self, form, model, is_created):
        # populate_obj has already written the choice; judge it, not the role's old set
        # (get_one checked that one before the form was shown or saved).
        chosen = set(form.permissions.data or [])
        if not may_grant(current_user, chosen):
            raise ValidationError(_("You can only grant permissions you hold yourself."))
        if model.builtin and form.name.object_data and form.name.data != form.name.object_data:
            raise ValidationError(_("The code of a built-in role cannot change."))
        if not model.name:
            model.name = new_role_code(model.label)
        model.set_permissions(chosen)
        mine = estate_scope(current_user)
        if model.estate is None and mine is not None and len(mine) == 1:
            # An estate's own administrator makes roles for their estate.
            model.estate = db.session.get(Estate, next(iter(mine)))
        if model.builtin and model.estate is not None:
            raise ValidationError(_("A built-in role belongs to every estate."))
        if not self.may("edit", model):
            raise ValidationError(_("Choose the estate this role belongs to."))

    def on_model_delete(self, model):
        if model.builtin:
            raise ValidationError(_("Built-in roles cannot be deleted."))
