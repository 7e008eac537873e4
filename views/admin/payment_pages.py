"""The cashier's pages, on the payment view: record a payment against a bill, top up a
unit's prepaid balance, print a receipt, void or refund a payment, give a discount or
waiver, void a bill. Each opens its row inside the user's estates (another estate's id
is a 404), calls one service, and commits; a refused input is an error by its field."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.routing import BuildError
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField

from models import AdjustmentKind, Bill, BillStatus, Payment, PaymentMethod, PaymentStatus, Unit
from propadmin.extensions import db
from propadmin.permissions import scoped
from propadmin.services import ServiceError
from propadmin.services.adjustments import adjust_bill, void_bill
from propadmin.services.bill_explain import yuan
from propadmin.services.naming import unit_label_clause
from propadmin.services.payments import (
    CASHIER_METHODS,
    record_payment,
    refund_payment,
    topup_prepaid,
    void_payment,
)
from propadmin.services.receipts import amount_in_capitals, receipt_number
from views.util import seen_number

from .fields import UNIT_PLACEHOLDER, scoped_row

CASHIER_METHOD_LABELS = {
    PaymentMethod.cash: _l("In cash"),
    PaymentMethod.wechat: _l("By WeChat Pay"),
    PaymentMethod.alipay: _l("By Alipay"),
    PaymentMethod.bank: _l("By bank transfer"),
}
NO_RECEIPT_OF_ITS_OWN = _l(
    "Taken from the prepaid balance: it has no receipt of its own, the money was"
    " receipted when it was topped up."
)
METHOD_CHOICES = [(m.value, CASHIER_METHOD_LABELS[m]) for m in CASHIER_METHODS]


def _to_receipt(payment, message):
    """Commit the money just recorded and show its receipt, saying its number."""
    db.session.commit()
    flash(str(message) % {"no": receipt_number(payment.receipt_no)}, "success")
    return redirect(url_for(".receipt_view", id=payment.id))


class PaymentForm(FlaskForm):
    amount = StringField(_l("Amount received (¥)"))
    method = SelectField(_l("Way of paying"), choices=METHOD_CHOICES, validate_choice=False)
    reference = StringField(
        _l("Transaction reference"),
        description=_l("The WeChat, Alipay or bank transaction number, if any."),
    )
    version = HiddenField()


class TopupForm(FlaskForm):
    unit = StringField(_l("Unit"), description=UNIT_PLACEHOLDER)
    amount = StringField(_l("Amount received (¥)"))
    method = SelectField(_l("Way of paying"), choices=METHOD_CHOICES, validate_choice=False)
    reference = StringField(_l("Transaction reference"))
    # The last payment id when the page was made: the same page records one top-up.
    since = HiddenField()


class EndPaymentForm(FlaskForm):
    kind = RadioField(
        _l("What happened"),
        choices=[
            ("void", _l("Void: entered by mistake")),
            ("refund", _l("Refund: the money was given back")),
        ],
        default="void",
        validate_choice=False,
    )
    reason = TextAreaField(_l("The reason"))


class AdjustForm(FlaskForm):
    kind = SelectField(
        _l("Kind of adjustment"),
        choices=[
            (AdjustmentKind.discount.value, _l("Discount given")),
            (AdjustmentKind.waiver.value, _l("Waiver")),
            (AdjustmentKind.late_fee_waiver.value, _l("Late fee waived")),
        ],
        validate_choice=False,
    )
    amount = StringField(_l("Amount taken off (¥)"))
    reason = TextAreaField(_l("The reason"))
    version = HiddenField()


class VoidBillForm(FlaskForm):
    reason = TextAreaField(_l("The reason"))


def _show(form, error: ServiceError) -> None:
    db.session.rollback()
    field = getattr(form, error.field or "", None)
    if field is None or not hasattr(field, "errors"):
        field = next(f for f in form if f.name in ("amount", "reason", "unit"))
    field.errors = [*field.errors, error.message]



def bill_url(bill: Bill) -> str:
    """The bill's own page when the bill screens are there, else its payments."""
    try:
        return url_for("bill.details_view", id=bill.id)
    except BuildError:
        return url_for("payment.index_view")


class PaymentPages:
    """Pages of the payment view (see the module's docstring)."""

    extra_permissions = {
        "record_view": "billing.collect",
        "topup_view": "billing.collect",
        "receipt_view": "billing.view",
        "void_view": "billing.adjust",
        "adjust_view": "billing.adjust",
        "void_bill_view": "billing.adjust",
    }

    def _bill_or_404(self):
        """The bill of ``?bill_id=``; without one, back to the list (a page opened from
        the menu or a bookmark)."""
        raw = request.args.get("bill_id", "")
        if not raw:
            return None
        bill = scoped_row(Bill, raw)
        if bill is None:
            abort(404)
        return bill

    def _payment_or_404(self, action: str):
        payment = self.get_one(request.args.get("id", ""), action=action)
        if payment is None:
            abort(404)
        return payment

    def _choose_a_bill(self):
        flash(_("Open a bill first, then record the payment from its page."), "info")
        return redirect(url_for(".index_view"))

    @expose("/record/", methods=("GET", "POST"))
    def record_view(self):
        bill = self._bill_or_404()
        if bill is None:
            return self._choose_a_bill()
        form = PaymentForm()
        if request.method == "GET":
            form.amount.data = f"{bill.owed:.2f}" if bill.owed > 0 else ""
            form.version.data = str(bill.version)
        elif form.validate_on_submit():
            try:
                payment = record_payment(
                    db.session,
                    bill,
                    form.amount.data or "",
                    form.method.data,
                    form.reference.data,
                    actor=current_user,
                    expected_version=seen_number(form.version.data),
                )
            except ServiceError as exc:
                _show(form, exc)
            else:
                return _to_receipt(payment, _l("Payment recorded: receipt No. %(no)s."))
        return self.render("admin/payment_record.html", bill=bill, form=form, back=bill_url(bill))

    @expose("/topup/", methods=("GET", "POST"))
    def topup_view(self):
        form = TopupForm()
        if request.method == "GET" and request.args.get("unit_id"):
            unit = scoped_row(Unit, request.args["unit_id"])
            if unit is None:
                abort(404)
            form.unit.data = unit.label
        if request.method == "GET":
            last = db.session.scalar(scoped(select(func.max(Payment.id)), Payment))
            form.since.data = str(last or 0)
        if form.validate_on_submit():
            unit = self._unit_named(form.unit.data)
            seen = seen_number(form.since.data)
            if unit is None:
                form.unit.errors = [_("No such unit in the estates you manage.")]
            elif seen < 0:
                form.amount.errors = [_("This page is out of date; open it again.")]
            else:
                try:
                    payment = topup_prepaid(
                        db.session,
                        unit,
                        form.amount.data or "",
                        form.method.data,
                        form.reference.data,
                        actor=current_user,
                        seen_payment_id=seen,
                    )
                except ServiceError as exc:
                    _show(form, exc)
                else:
                    return _to_receipt(payment, _l("Prepayment recorded: receipt No. %(no)s."))
        return self.render("admin/payment_topup.html", form=form)

    @staticmethod
    def _unit_named(text: str | None):
        clause = unit_label_clause((text or "")[:64])
        if clause is None:
            return None
        return db.session.scalars(scoped(select(Unit).where(clause), Unit)).first()

    @expose("/receipt/")
    def receipt_view(self):
        if not request.args.get("id"):
            return redirect(url_for(".index_view"))
        payment = self._payment_or_404("view")
        if payment.receipt_no is None:
            # Taken from the prepaid balance: the top-up's receipt is the one.
            flash(str(NO_RECEIPT_OF_ITS_OWN), "info")
            if payment.bill is not None:
                return redirect(bill_url(payment.bill))
            return redirect(url_for(".details_view", id=payment.id))
        return self.render(
            "admin/receipt.html",
            payment=payment,
            number=receipt_number(payment.receipt_no),
            in_words=amount_in_capitals(payment.amount),
            method=CASHIER_METHOD_LABELS.get(payment.method, _("Taken from the prepaid balance")),
            void=payment.status is not PaymentStatus.valid,
        )

    @expose("/void/", methods=("GET", "POST"))
    def void_view(self):
        if not request.args.get("id"):
            return redirect(url_for(".index_view"))
        payment = self._payment_or_404("edit")
        form = EndPaymentForm()
        if payment.status is PaymentStatus.valid and form.validate_on_submit():
            end = refund_payment if form.kind.data == "refund" else void_payment
            try:
                end(db.session, payment, form.reason.data, actor=current_user)
            except ServiceError as exc:
                _show(form, exc)
            else:
                db.session.commit()
                if form.kind.data == "refund":
                    flash(_("The payment is refunded."), "success")
                else:
                    flash(_("The payment is voided."), "success")
                return redirect(url_for(".details_view", id=payment.id))
        return self.render(
            "admin/payment_void.html",
            payment=payment,
            form=form,
            number=receipt_number(payment.receipt_no),
        )

    @expose("/adjust/", methods=("GET", "POST"))
    def adjust_view(self):
        bill = self._bill_or_404()
        if bill is None:
            return self._choose_a_bill()
        form = AdjustForm()
        if request.method == "GET":
            form.version.data = str(bill.version)
        if bill.status is not BillStatus.void and form.validate_on_submit():
            try:
                adjust_bill(
                    db.session,
                    bill,
                    form.kind.data,
                    form.amount.data or "",
                    form.reason.data,
                    actor=current_user,
                    expected_version=seen_number(form.version.data),
                )
            except ServiceError as exc:
                _show(form, exc)
            else:
                db.session.commit()
                flash(_("Saved. The bill now owes %(owed)s.", owed=yuan(bill.owed)), "success")
                return redirect(bill_url(bill))
        return self.render("admin/payment_adjust.html", bill=bill, form=form, back=bill_url(bill))

    @expose("/void-bill/", methods=("GET", "POST"))
    def void_bill_view(self):
        bill = self._bill_or_404()
        if bill is None:
            return self._choose_a_bill()
        form = VoidBillForm()
        if bill.status is not BillStatus.void and form.validate_on_submit():
            try:
                void_bill(db.session, bill, form.reason.data, actor=current_user)
            except ServiceError as exc:
                _show(form, exc)
            else:
                db.session.commit()
                flash(_("The bill is void."), "success")
                return redirect(bill_url(bill))
        return self.render(
            "admin/payment_void_bill.html", bill=bill, form=form, back=bill_url(bill)
        )
