"""The portal's bills: what is owed and what was paid, each bill with its lines explained,
its payments and receipts, and how to pay. Who sees which bill is decided in one place,
``propadmin/services/bill_access.py``; anything else is a 404."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField

from models import PaymentMethod, PaymentStatus
from propadmin.extensions import db
from propadmin.permissions import requires
from propadmin.services import ServiceError
from propadmin.services.bill_access import (
    MAX_ID,
    STATUS_LABELS,
    amount_owed,
    find_bill,
    find_payment,
    open_bills,
    paid_bills,
    set_bill_sharing,
)
from propadmin.services.today import estate_today

from .portal import add_entry, bp

PER_PAGE = 24
MAX_PAGE = 100_000

METHOD_LABELS = {
    PaymentMethod.cash: _l("Cash"),
    PaymentMethod.wechat: _l("WeChat Pay"),
    PaymentMethod.alipay: _l("Alipay"),
    PaymentMethod.bank: _l("Bank transfer"),
    PaymentMethod.prepaid: _l("From the prepaid balance"),
}
# How to pay at the estate office (shown on every bill).
ACCEPTED = (PaymentMethod.cash, PaymentMethod.wechat, PaymentMethod.alipay, PaymentMethod.bank)

add_entry("portal.bills", _l("Pay bills"), "¥")


class SharingForm(FlaskForm):
    occupancy = HiddenField()
    share = HiddenField()


def _estate():
    resident = current_user.resident
    return resident.estate if resident is not None else None


def _labels() -> dict:
    return {
        "status_labels": STATUS_LABELS,
        "method_labels": METHOD_LABELS,
        "today": estate_today(_estate()),
    }


@bp.route("/bills")
@requires("portal.use")
def bills():
    """Owed first (overdue marked), then the paid history, a page at a time."""
    resident = current_user.resident
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    owed = open_bills(db.session, resident)
    history = paid_bills(db.session, resident, page, PER_PAGE)
    return render_template(
        "portal/bills.html",
        resident=resident,
        owed=owed,
        total=amount_owed(owed),
        history=history,
        **_labels(),
    )


def _bill_or_404(bill_id: int):
    bill = find_bill(db.session, current_user.resident, bill_id)
    if bill is None:
        abort(404)
    return bill


@bp.route("/bills/<int:bill_id>")
@requires("portal.use")
def bill(bill_id: int):
    """A bill's lines with their explanations, totals, payments and how to pay."""
    found = _bill_or_404(bill_id)
    return render_template(
        "portal/bill.html",
        bill=found,
        estate=found.estate,
        accepted=[METHOD_LABELS[m] for m in ACCEPTED],
        **_labels(),
    )


@bp.route("/bills/<int:bill_id>/receipts/<int:payment_id>")
@requires("portal.use")
def receipt(bill_id: int, payment_id: int):
    """A printable receipt of one payment of the bill."""
    found = _bill_or_404(bill_id)
    payment = find_payment(found, payment_id) if payment_id <= MAX_ID else None
    if payment is None:
        abort(404)
    return render_template(
        "portal/receipt.html",
        bill=found,
        payment=payment,
        estate=found.estate,
        voided=payment.status is not PaymentStatus.valid,
        **_labels(),
    )


@bp.route("/bills/sharing", methods=["POST"])
@requires("portal.use")
def bill_sharing():
    """The payer of a unit lets the household see its bills in the portal, or stops."""
    resident = current_user.resident
    form = SharingForm()
    raw = (form.occupancy.data or "").strip()
    if resident is None or not form.validate_on_submit() or not raw.isdigit() or len(raw) > 10:
        abort(404)
    share = form.share.data == "1"
    try:
        occupancy = set_bill_sharing(db.session, resident, int(raw), share)
    except ServiceError:
        db.session.rollback()
        abort(404)
    db.session.commit()
    unit = occupancy.unit.label
    if share:
        flash(_("Your household can now see the bills of %(unit)s.", unit=unit), "success")
    else:
        flash(_("The bills of %(unit)s are now shown to you only.", unit=unit), "success")
    return redirect(url_for("portal.profile") + "#bills")
