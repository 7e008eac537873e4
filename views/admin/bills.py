"""Admin screen of bills: a list with the office's filters, and a bill's page with its
lines explained, payments and adjustments.

Bills are made by generation and changed by payments and adjustments, never edited here.
"""

from __future__ import annotations

from datetime import date

from flask import g
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import exists, false, not_, select
from sqlalchemy.orm import joinedload

from models import (
    OPEN_STATUSES,
    AdjustmentKind,
    Bill,
    BillLine,
    BillStatus,
    Building,
    FeeItem,
    PaymentMethod,
    PaymentStatus,
    Unit,
)
from propadmin.extensions import db
from propadmin.permissions import estate_scope
from propadmin.services.bill_explain import yuan
from propadmin.services.finance_figures import overdue_bills, overdue_clause
from propadmin.services.naming import normalize_query, unit_label_clause
from propadmin.services.periods import parse_period
from propadmin.services.resident_search import MAX_QUERY, StartsWith
from propadmin.services.today import estate_todays

from .base import ReadOnlyModelView
from .listing import COUNT_CAP  # noqa: F401 (the bill list's cap: the base view's)
from .presentation import ScopedChoiceFilter
from .worklist import Filter, Tile, register_tile

STATUS_LABELS = {
    BillStatus.unpaid: _l("Unpaid"),
    BillStatus.partial: _l("Partly paid"),
    BillStatus.paid: _l("Paid"),
    BillStatus.void: _l("Void"),
}
OPEN = "open"  # the status filter's choice for unpaid or partly paid
METHOD_LABELS = {
    PaymentMethod.cash: _l("Cash"),
    PaymentMethod.wechat: _l("WeChat Pay"),
    PaymentMethod.alipay: _l("Alipay"),
    PaymentMethod.bank: _l("Bank transfer"),
    PaymentMethod.prepaid: _l("From the prepaid balance"),
}
PAYMENT_STATUS_LABELS = {
    PaymentStatus.valid: _l("Valid"),
    PaymentStatus.voided: _l("Voided"),
    PaymentStatus.refunded: _l("Refunded"),
}
ADJUSTMENT_LABELS = {
    AdjustmentKind.discount: _l("Discount"),
    AdjustmentKind.waiver: _l("Waiver"),
    AdjustmentKind.late_fee_waiver: _l("Late fee waived"),
}


def todays() -> dict[int, date]:
    """Today in each of the user's estates, read once per request."""
    if "bill_todays" not in g:
        g.bill_todays = estate_todays(db.session, estate_scope(current_user))
    return g.bill_todays


def is_overdue(bill: Bill) -> bool:
    return bill.is_overdue(todays().get(bill.estate_id, date.today()))


def status_text(bill: Bill) -> str:
    text = str(STATUS_LABELS.get(bill.status, bill.status))
    return _("%(status)s, overdue", status=text) if is_overdue(bill) else text


# -- filters ------------------------------------------------------------------------------
class PeriodFilter(FilterEqual):
    """A period as typed (2026-11, 2026-q4): the bills of that period."""

    def validate(self, value):
        try:
            parse_period(value)
        except ValueError:
            return False
        return True

    def apply(self, query, value, alias=None):
        return query.filter(Bill.period == parse_period(value).key)


class StatusFilter(FilterEqual):
    def validate(self, value):
        return value == OPEN or value in BillStatus.__members__

    def apply(self, query, value, alias=None):
        if value == OPEN:
            return query.filter(Bill.status.in_(OPEN_STATUSES))
        return query.filter(Bill.status == BillStatus(value))


class OverdueFilter(FilterEqual):
    """Open and past the due date, against today in the bill's estate."""

    def validate(self, value):
        return value in ("1", "0")

    def apply(self, query, value, alias=None):
        clause = overdue_clause(todays())
        return query.filter(clause if value == "1" else not_(clause))


class BuildingFilter(ScopedChoiceFilter):
    def apply(self, query, value, alias=None):
        return query.filter(Bill.building_id == int(value))


class FeeItemFilter(ScopedChoiceFilter):
    """Bills having a line of the fee item."""

    def apply(self, query, value, alias=None):
        return query.filter(
            exists().where(BillLine.bill_id == Bill.id, BillLine.fee_item_id == int(value))
        )


# -- the search box --------------------------------------------------------------------------
def bill_search_clause(search: str, estate_ids: set[int] | None):
    """The bills of a unit label (``1-1201``), of units numbered so (``1201``, ``A1201``),
    or of payers whose name starts so (``钱多``). A unit is found through
    ``unit (building_id, number)`` and the bill's ``(unit_id, period)``; a payer through
    ``bill (payer_name)``."""
    text = normalize_query(search)
    if not text or len(text) > MAX_QUERY:
        return false()
    clause = unit_label_clause(text)
    if clause is None and text.isascii() and text.isalnum() and not text.isalpha():
        clause = Unit.number == text
    if clause is None:
        return StartsWith(Bill.payer_name, text)
    units = select(Unit.id).join(Building, Building.id == Unit.building_id).where(clause)
    if estate_ids is not None:
        units = units.where(Building.estate_id.in_(estate_ids))
    return Bill.unit_id.in_(units)


# -- the view -----------------------------------------------------------------------------
def _money(attr):
    return lambda v, c, m, n: yuan(getattr(m, attr))


def _plain(attr):
    """Exports carry amounts as plain decimals (1234.50), for spreadsheets to add up."""
    return lambda v, c, m, n: f"{getattr(m, attr)}"


def _status_cells() -> dict:
    """Each status's cell in the reader's language, overdue or not: worked out once per
    request, not translated again on each of the page's rows."""
    if "bill_status_cells" not in g:
        overdue = escape(_("Overdue"))
        g.bill_status_cells = {
            (status, False): str(label) for status, label in STATUS_LABELS.items()
        } | {
            (status, True): Markup(  # noqa: S704 - both parts escaped
                f'{escape(label)} <span class="badge badge-danger">{overdue}</span>'
            )
            for status, label in STATUS_LABELS.items()
        }
    return g.bill_status_cells


def _status_formatter():
    """The status column's formatter, with the status cells and today in each estate
    looked up once: for a page of rows (BillView.page_formatters), a look-up in the
    request's ``g`` on each of fifty rows cost more than the cells themselves."""
    cells, days, fallback = _status_cells(), todays(), date.today()

    def status(view, context, bill, name):
        cell = cells.get((bill.status, bill.is_overdue(days.get(bill.estate_id, fallback))))
        return bill.status if cell is None else cell

    return status


def _status(view, context, bill, name):
    """One row's status cell, where no page of rows is drawn (the list template's own loop)."""
    return _status_formatter()(view, context, bill, name)


class BillView(ReadOnlyModelView):
    permission_module = "billing"
    export_permission = "billing.export"
    details_template = "admin/bill_details.html"
    page_size = 50
    # The unit opens the bill's page; no icon column beside it (and no URL built twice a row).
    column_display_actions = False
    column_list = (
        "unit", "payer_name", "period", "amount", "paid", "owed", "due_date", "status",
    )
    column_export_list = column_list
    column_sortable_list = ("period", "amount", "paid", "due_date")
    column_default_sort = [("period", True), ("id", True)]
    column_searchable_list = ("payer_name",)  # the search box; matching is our own (below)
    column_labels = {
        "unit": _l("Unit"),
        "payer_name": _l("Payer"),
        "period": _l("Period"),
        "amount": _l("Amount"),
        "paid": _l("Paid so far"),
        "owed": _l("Owed"),
        "due_date": _l("Due date"),
        "status": _l("Status"),
    }
    column_formatters = {
        "unit": lambda v, c, m, n: m.unit.label,
        "amount": _money("amount"),
        "paid": _money("paid"),
        "owed": _money("owed"),
        "status": _status,
    }
    column_formatters_export = {
        "unit": lambda v, c, m, n: m.unit.label,
        "amount": _plain("amount"),
        "paid": _plain("paid"),
        "owed": _plain("owed"),
        "due_date": lambda v, c, m, n: m.due_date.isoformat(),
        "status": lambda v, c, m, n: status_text(m),
    }

    def page_formatters(self):
        return {**self.column_formatters, "status": _status_formatter()}

    def get_filters(self):
        return [
            PeriodFilter(Bill.period, _l("Period")),
            BuildingFilter(Bill.building_id, _l("Building"), Building, Building.name),
            FeeItemFilter(BillLine.fee_item_id, _l("Fee item"), FeeItem, FeeItem.name),
            StatusFilter(
                Bill.status,
                _l("Status"),
                options=[
                    (OPEN, _l("Not settled (unpaid or partly paid)")),
                    *((s.value, label) for s, label in STATUS_LABELS.items()),
                ],
            ),
            OverdueFilter(
                Bill.due_date, _l("Overdue"), options=[("1", _l("Yes")), ("0", _l("No"))]
            ),
        ]

    def search_placeholder(self):
        return _("Unit (1-1201) or payer")

    def _apply_search(self, query, count_query, joins, count_joins, search):
        """A unit as the office names it (see services/naming.py), a unit number, or the
        payer's name from its start: each one flat, indexed condition (issue 12)."""
        condition = bill_search_clause(search, estate_scope(current_user))
        query = query.filter(condition)
        if count_query is not None:
            count_query = count_query.filter(condition)
        return query, count_query, joins, count_joins

    def _export_table(self):
        todays()  # read before the rows stream: no query in the middle of theirs
        return super()._export_table()

    def get_query(self):
        # The unit and its building come in the same query (lazy="joined" on both).
        return super().get_query().options(joinedload(Bill.unit).joinedload(Unit.building))

    # -- the bill's page ------------------------------------------------------------------
    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            kwargs.update(self._bill_page(kwargs["model"]))
        return super().render(template, **kwargs)

    def _bill_page(self, bill: Bill) -> dict:
        lines = db.session.scalars(
            select(BillLine)
            .where(BillLine.bill_id == bill.id)
            .options(joinedload(BillLine.rate), joinedload(BillLine.meter))
            .order_by(BillLine.id)
        ).all()
        return {
            "bill": bill,
            "lines": lines,
            "status_label": STATUS_LABELS.get(bill.status, bill.status),
            "overdue": is_overdue(bill),
            "method_labels": METHOD_LABELS,
            "payment_status_labels": PAYMENT_STATUS_LABELS,
            "adjustment_labels": ADJUSTMENT_LABELS,
        }


register_tile(
    Tile(
        key="overdue_bills",
        label=_l("Overdue bills"),
        endpoint="bill",
        count=overdue_bills,
        filters=(Filter("due_date", "equals", "1"),),
        urgent=True,
    )
)
