"""Admin screens of money received: payments and receipts, prepaid balances, discounts
and waivers, and the estate's late-fee policy. The pages that record, void and print
(payment_pages.py) hang on the payment view."""

from __future__ import annotations

from decimal import Decimal

from flask import g, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import DecimalField
from wtforms.validators import NumberRange, Optional, ValidationError

from models import (
    AdjustmentKind,
    Bill,
    BillAdjustment,
    LateFeePolicy,
    Payment,
    PaymentMethod,
    PaymentStatus,
    PrepaidAccount,
    Unit,
)
from propadmin.extensions import db
from propadmin.i18n import localtime
from propadmin.permissions import can
from propadmin.services.bill_explain import yuan
from propadmin.services.receipts import receipt_number

from .base import ReadOnlyModelView, SecureModelView, local_time
from .payment_pages import NO_RECEIPT_OF_ITS_OWN, PaymentPages, bill_url

METHOD_LABELS = {
    PaymentMethod.cash: _l("In cash"),
    PaymentMethod.wechat: _l("By WeChat Pay"),
    PaymentMethod.alipay: _l("By Alipay"),
    PaymentMethod.bank: _l("By bank transfer"),
    PaymentMethod.prepaid: _l("Taken from the prepaid balance"),
}
PAYMENT_STATUS_LABELS = {
    PaymentStatus.valid: _l("Valid"),
    PaymentStatus.voided: _l("Voided"),
    PaymentStatus.refunded: _l("Money refunded"),
}
ADJUSTMENT_LABELS = {
    AdjustmentKind.discount: _l("Discount given"),
    AdjustmentKind.waiver: _l("Waiver"),
    AdjustmentKind.late_fee_waiver: _l("Late fee waived"),
}


def _estate_time(attr):
    """A stored UTC time in the zone of the row's estate."""
    return lambda v, c, m, n: localtime(getattr(m, attr), m.estate.timezone)


def _money(attr):
    return lambda v, c, m, n: yuan(getattr(m, attr))


def _label(labels, attr):
    return lambda v, c, m, n: labels.get(getattr(m, attr), "")


class PaymentView(PaymentPages, ReadOnlyModelView):
    """Payments and top-ups, newest first; a payment opens its receipt."""

    permission_module = "billing"
    export_permission = "billing.export"
    details_template = "admin/payment_details.html"
    column_list = (
        "receipt_no",
        "unit",
        "bill",
        "amount",
        "method",
        "reference",
        "paid_at",
        "recorded_by",
        "status",
    )
    column_details_list = (*column_list, "void_reason", "voided_at", "voided_by")
    column_export_list = column_details_list
    column_default_sort = [("paid_at", True), ("id", True)]
    column_sortable_list = ("receipt_no", "amount", "paid_at")
    column_searchable_list = ("reference",)
    column_filters = ("method", "status")
    column_choices = {
        "method": [(m.value, METHOD_LABELS[m]) for m in PaymentMethod],
        "status": [(s.value, PAYMENT_STATUS_LABELS[s]) for s in PaymentStatus],
    }
    column_labels = {
        "receipt_no": _l("Receipt No."),
        "unit": _l("Unit"),
        "bill": _l("Billed period"),
        "amount": _l("Money received"),
        "method": _l("Way of paying"),
        "reference": _l("Transaction reference"),
        "paid_at": _l("Received at"),
        "recorded_by": _l("Cashier"),
        "status": _l("Status"),
        "void_reason": _l("Why voided or refunded"),
        "voided_at": _l("Voided at"),
        "voided_by": _l("Voided by"),
    }
    column_formatters = {
        "receipt_no": lambda v, c, m, n: receipt_number(m.receipt_no) or "—",
        "bill": lambda v, c, m, n: m.bill.period if m.bill is not None else _("Prepayment"),
        "amount": _money("amount"),
        "method": _label(METHOD_LABELS, "method"),
        "status": _label(PAYMENT_STATUS_LABELS, "status"),
        "paid_at": _estate_time("paid_at"),
        "voided_at": _estate_time("voided_at"),
    }
    column_formatters_detail = column_formatters
    column_formatters_export = {
        **column_formatters,
        "receipt_no": lambda v, c, m, n: receipt_number(m.receipt_no),
        "amount": lambda v, c, m, n: str(m.amount),
        "bill": lambda v, c, m, n: m.bill.period if m.bill is not None else _("Prepayment"),
    }

    def get_query(self):
        return (
            super()
            .get_query()
            .options(
                joinedload(Payment.unit).joinedload(Unit.building),
                joinedload(Payment.bill),
                joinedload(Payment.recorded_by),
            )
        )

    def search_placeholder(self):
        return _("Transaction reference")

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            payment = kwargs["model"]
            if payment.status is PaymentStatus.valid and "details_columns" in kwargs:
                kwargs["details_columns"] = [
                    (name, label)
                    for name, label in kwargs["details_columns"]
                    if name not in ("void_reason", "voided_at", "voided_by")
                ]
            kwargs.update(
                may_void=can("billing.adjust"),
                no_receipt_of_its_own=NO_RECEIPT_OF_ITS_OWN,
                bill_link=bill_url(payment.bill) if payment.bill is not None else "",
            )
        return super().render(template, **kwargs)


class PrepaidAccountView(ReadOnlyModelView):
    """Each unit's money paid in advance (预存), with a top-up link."""

    permission_module = "billing"
    export_permission = "billing.export"
    column_list = ("unit", "balance", "updated_at", "topup")
    column_export_list = ("unit", "balance", "updated_at")
    column_default_sort = [("unit_id", False)]
    column_sortable_list = ("balance", "updated_at")
    column_labels = {
        "unit": _l("Unit"),
        "balance": _l("Prepaid balance"),
        "updated_at": _l("Last changed"),
        "topup": _l("Top up"),
    }
    column_formatters = {
        "balance": _money("balance"),
        "updated_at": local_time("updated_at"),
        "topup": lambda v, c, m, n: (
            Markup('<a href="{}">{}</a>').format(
                url_for("payment.topup_view", unit_id=m.unit_id), _("Top up")
            )
            if can("billing.collect")
            else ""
        ),
    }
    column_formatters_detail = {k: f for k, f in column_formatters.items() if k != "topup"}
    column_details_list = ("unit", "balance", "created_at", "updated_at")
    column_formatters_export = {"balance": lambda v, c, m, n: str(m.balance)}

    def get_query(self):
        return (
            super().get_query().options(joinedload(PrepaidAccount.unit).joinedload(Unit.building))
        )


class BillAdjustmentView(ReadOnlyModelView):
    """Discounts and waivers given, with their reasons; given from a bill's page."""

    permission_module = "billing"
    export_permission = "billing.export"
    column_list = ("bill", "kind", "amount", "reason", "created_by", "created_at")
    column_default_sort = [("created_at", True), ("id", True)]
    column_filters = ("kind",)
    column_searchable_list = ("reason",)
    column_choices = {"kind": [(k.value, ADJUSTMENT_LABELS[k]) for k in AdjustmentKind]}
    column_labels = {
        "bill": _l("Billed period"),
        "kind": _l("Kind of adjustment"),
        "amount": _l("Amount taken off"),
        "reason": _l("The reason"),
        "created_by": _l("Given by"),
        "created_at": _l("Given at"),
    }
    column_formatters = {
        "kind": _label(ADJUSTMENT_LABELS, "kind"),
        "amount": _money("amount"),
        "created_at": local_time("created_at"),
    }
    column_formatters_detail = column_formatters
    column_formatters_export = {**column_formatters, "amount": lambda v, c, m, n: str(m.amount)}

    def get_query(self):
        return (
            super()
            .get_query()
            .options(
                joinedload(BillAdjustment.bill).joinedload(Bill.unit).joinedload(Unit.building),
                joinedload(BillAdjustment.created_by),
            )
        )


PERCENT_PLACES = Decimal("0.0001")


def _places(places: Decimal):
    def check(form, field):
        value = field.data
        if value is None:
            return
        if not value.is_finite() or value != value.quantize(places):
            raise ValidationError(_("Too many decimal places."))

    return check


class LateFeePolicyView(SecureModelView):
    """One late-fee policy per estate (滞纳金规则)."""

    permission_module = "billing"
    column_list = (
        "estate",
        "enabled",
        "grace_days",
        "daily_percent",
        "daily_amount",
        "cap_percent",
        "cap_amount",
    )
    form_columns = column_list
    column_labels = {
        "estate": _l("Estate"),
        "enabled": _l("Charge late fees"),
        "grace_days": _l("Grace days"),
        "daily_percent": _l("Per day, percent of what is owed"),
        "daily_amount": _l("Per day, fixed sum (¥)"),
        "cap_percent": _l("At most, percent of the bill"),
        "cap_amount": _l("At most, sum (¥)"),
    }
    column_formatters = {
        "daily_amount": _money("daily_amount"),
        "cap_amount": _money("cap_amount"),
    }
    column_formatters_detail = column_formatters
    form_overrides = {
        "daily_percent": DecimalField,
        "daily_amount": DecimalField,
        "cap_percent": DecimalField,
        "cap_amount": DecimalField,
    }
    form_args = {
        "grace_days": {"validators": [Optional(), NumberRange(min=0, max=365)]},
        "daily_percent": {
            "validators": [Optional(), NumberRange(min=0, max=1), _places(PERCENT_PLACES)],
            "description": _l("For example 0.03 (at most 1 percent a day)."),
        },
        "daily_amount": {
            "validators": [
                Optional(),
                NumberRange(min=0, max=10000),
                _places(Decimal("0.01")),
            ],
            "description": _l("Used when no percent is given."),
        },
        "cap_percent": {
            "validators": [Optional(), NumberRange(min=0, max=100), _places(Decimal("0.01"))]
        },
        "cap_amount": {
            "validators": [
                Optional(),
                NumberRange(min=0, max=10000000),
                _places(Decimal("0.01")),
            ]
        },
    }

    def validate_form(self, form):
        valid = super().validate_form(form)
        if not valid or not hasattr(form, "estate") or form.estate.data is None:
            return valid
        editing = g.get("late_fee_policy_id")
        taken = db.session.scalar(
            select(LateFeePolicy.id).where(
                LateFeePolicy.estate_id == form.estate.data.id,
                LateFeePolicy.id != (editing or 0),
            )
        )
        if taken is not None:
            form.estate.errors.append(
                _("This estate has a late-fee policy already: change that one.")
            )
            return False
        return valid

    def edit_form(self, obj=None):
        g.late_fee_policy_id = getattr(obj, "id", None)  # the row being edited is not "taken"
        return super().edit_form(obj)


def add_payment_views(admin, category) -> None:
    """Payments, prepaid balances, adjustments and the late-fee policy, in the admin's
    "Fees and bills" menu. Templates get ``can(permission)`` for the bill page's buttons
    (admin/_bill_actions.html)."""
    admin.app.jinja_env.globals.setdefault("can", can)
    admin.add_view(
        PaymentView(
            Payment, db, name=_l("Payments received"), category=category, endpoint="payment"
        )
    )
    admin.add_view(
        PrepaidAccountView(
            PrepaidAccount, db, name=_l("Prepaid balances"), category=category, endpoint="prepaid"
        )
    )
    admin.add_view(
        BillAdjustmentView(
            BillAdjustment,
            db,
            name=_l("Discounts and waivers"),
            category=category,
            endpoint="bill_adjustment",
        )
    )
    admin.add_view(
        LateFeePolicyView(
            LateFeePolicy,
            db,
            name=_l("Late-fee policy"),
            category=category,
            endpoint="late_fee_policy",
        )
    )
