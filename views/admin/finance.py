"""Finance pages: arrears per building, and the dashboard of collection per month and per
fee item (ECharts drawn by static/js/finance-charts.js, with a table beside each chart)."""

from __future__ import annotations

from flask import flash, request
from flask_admin import BaseView, expose
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from propadmin.extensions import db
from propadmin.permissions import estate_scope
from propadmin.services import ServiceError
from propadmin.services.finance_figures import (
    arrears_by_building,
    collection_by_fee_item,
    collection_by_period,
)
from propadmin.services.periods import parse_period
from propadmin.services.today import estate_todays

from .base import PermissionView
from .worklist import Filter, list_url

OPEN = Filter("status", "equals", "open")
OVERDUE = Filter("due_date", "equals", "1")


def _bill_list(admin, *filters: Filter, oldest_first: bool = False) -> str | None:
    """The bill list with these of its filters (the oldest due date first, if asked), for
    those who may open it."""
    view = next((v for v in admin._views if getattr(v, "endpoint", "") == "bill"), None)
    if view is None or not view.is_accessible():
        return None
    url = list_url(view, filters)
    if oldest_first:
        by_due_date = [name for name, _label in view._list_columns].index("due_date")
        url += f"{'&' if '?' in url else '?'}sort={by_due_date}"
    return url


def _building(building_id: int) -> Filter:
    return Filter("building_id", "equals", str(building_id))


class ArrearsView(PermissionView, BaseView):
    """What is owed, building by building; every number opens the bills behind it."""

    required_permission = "billing.view"

    @expose("/")
    def index(self):
        todays = estate_todays(db.session, estate_scope(current_user))
        rows, total = arrears_by_building(db.session, current_user, todays)
        links = {}
        for row in rows:
            building = _building(row.building_id)
            links[row.building_id] = {
                "open": _bill_list(self.admin, building, OPEN),
                "overdue": _bill_list(self.admin, building, OVERDUE),
                "oldest": _bill_list(self.admin, building, OPEN, oldest_first=True),
            }
        links[None] = {
            "open": _bill_list(self.admin, OPEN),
            "overdue": _bill_list(self.admin, OVERDUE),
            "oldest": _bill_list(self.admin, OPEN, oldest_first=True),
        }
        return self.render("admin/arrears.html", rows=rows, total=total, links=links)


def _chart_number(value) -> str | None:
    """Amounts and rates go to the charts as exact decimal strings."""
    return None if value is None else f"{value}"


class FinanceView(PermissionView, BaseView):
    """Collection rate per month and per fee item."""

    required_permission = "billing.view"

    @expose("/")
    def index(self):
        months = collection_by_period(db.session, current_user)
        periods = [m.label for m in months]
        period = periods[-1] if periods else ""
        asked = request.args.get("period", "").strip()
        if asked:
            try:
                period = parse_period(asked[:16]).key
            except ServiceError as exc:
                flash(exc.message, "warning")
        items = collection_by_fee_item(db.session, current_user, period) if period else []
        charts = {
            "locale": "ZH" if str(get_locale()).startswith("zh") else "EN",
            "names": {
                "billed": _("Billed"),
                "collected": _("Collected"),
                "rate": _("Collection rate"),
            },
            "months": self._series(months),
            "items": self._series(items),
        }
        return self.render(
            "admin/finance.html",
            months=months,
            items=items,
            periods=periods,
            period=period,
            charts=charts,
            month_links={p: _bill_list(self.admin, Filter("period", "equals", p)) for p in periods},
        )

    @staticmethod
    def _series(rows) -> dict:
        return {
            "labels": [r.label for r in rows],
            "billed": [_chart_number(r.billed) for r in rows],
            "collected": [_chart_number(r.collected) for r in rows],
            "rate": [_chart_number(r.rate) for r in rows],
        }
