"""Repair charges waiting for, or carried on, a bill (read-only): resident-paid repairs
are written by the repair service and put on a bill by bill generation, never by hand."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from propadmin.services.bill_explain import yuan

from .base import ReadOnlyModelView, local_time


def _repair(view, context, model, name):
    if model.repair_id is None:
        return ""
    return f"#{model.repair_id}"


def _bill(view, context, model, name):
    if model.bill is None:
        return Markup('<span class="badge badge-warning charge-pending">{}</span>').format(
            _("Waiting for the next bill")
        )
    return escape(model.bill.period)


class UnitChargeView(ReadOnlyModelView):
    permission_module = "billing"
    can_export = False
    column_list = ("created_at", "unit", "repair", "description", "amount", "bill")
    column_details_list = (
        "created_at", "estate", "unit", "payer", "repair", "description", "amount", "bill",
    )
    column_default_sort = [("created_at", True), ("id", True)]
    column_sortable_list = ("created_at", "amount")
    column_searchable_list = ("description",)
    column_labels = {
        "created_at": _l("Recorded"),
        "estate": _l("Estate"),
        "unit": _l("Unit"),
        "payer": _l("Payer"),
        "repair": _l("Repair"),
        "description": _l("Description"),
        "amount": _l("Amount"),
        "bill": _l("Bill"),
    }
    column_formatters = {
        "amount": lambda v, c, m, n: yuan(m.amount),
        "created_at": local_time("created_at"),
        "repair": _repair,
        "bill": _bill,
    }
    column_formatters_detail = column_formatters
