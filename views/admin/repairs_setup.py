"""The repair setup, for the estate's admin (repairs.manage): response and resolution
targets per estate and urgency (endpoint ``repair_sla``), and which repair categories each
staff member handles (``repair_skill``, for automatic assignment)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms.validators import NumberRange

from models import RepairCategory, RepairUrgency
from propadmin.extensions import db
from propadmin.services.repair_labels import CATEGORY_LABELS, URGENCY_LABELS
from propadmin.services.repair_queue import workers_for

from .base import SecureModelView


def _labelled(labels):
    return lambda view, context, model, name: labels.get(getattr(model, name), "")


class RepairSlaView(SecureModelView):
    permission_module = "repairs"
    view_permission = "manage"
    create_permission = "manage"
    edit_permission = "manage"
    delete_permission = "manage"
    action_permission = "manage"
    can_view_details = False
    column_list = ("estate", "urgency", "respond_minutes", "resolve_minutes")
    form_columns = ("estate", "urgency", "respond_minutes", "resolve_minutes")
    column_default_sort = [("estate_id", False), ("urgency", False)]
    column_labels = {
        "estate": _l("Estate"),
        "urgency": _l("Urgency"),
        "respond_minutes": _l("Respond within (minutes)"),
        "resolve_minutes": _l("Resolve within (minutes)"),
    }
    form_choices = {"urgency": [(u.value, URGENCY_LABELS[u]) for u in RepairUrgency]}
    form_args = {
        "respond_minutes": {"validators": [NumberRange(1, 60 * 24 * 90)]},
        "resolve_minutes": {"validators": [NumberRange(1, 60 * 24 * 365)]},
    }
    column_formatters = {"urgency": _labelled(URGENCY_LABELS)}

    def validate_form(self, form):
        valid = super().validate_form(form)
        respond = getattr(form, "respond_minutes", None)
        resolve = getattr(form, "resolve_minutes", None)
        if valid and respond is not None and respond.data and resolve.data:
            if resolve.data < respond.data:
                resolve.errors = [*resolve.errors, _("Resolving cannot take less than responding.")]
                return False
        return valid


class RepairSkillView(SecureModelView):
    permission_module = "repairs"
    view_permission = "manage"
    create_permission = "manage"
    edit_permission = "manage"
    delete_permission = "manage"
    action_permission = "manage"
    can_view_details = False
    column_list = ("user", "category")
    form_columns = ("user", "category")
    column_labels = {"user": _l("Repair staff member"), "category": _l("Category")}
    form_choices = {"category": [(c.value, CATEGORY_LABELS[c]) for c in RepairCategory]}
    column_formatters = {"category": _labelled(CATEGORY_LABELS)}

    def prepare_form(self, form, obj=None):
        """Only repair workers of the admin's estates can be chosen."""
        if hasattr(form, "user"):
            form.user.query_factory = lambda: workers_for(db.session, current_user)
        return form
