"""Repair reports (/admin/repairs/reports, repairs.view): jobs per month by category and
by urgency, average response and resolution time, breached targets and ratings. ECharts
drawn by static/js/repair-charts.js from a JSON block, a table beside each chart."""

from __future__ import annotations

from flask import abort
from flask_admin import expose
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from models import RepairCategory, RepairUrgency
from propadmin.extensions import db
from propadmin.permissions import can
from propadmin.services.repair_labels import CATEGORY_LABELS, URGENCY_LABELS
from propadmin.services.repair_reports import monthly_figures

URGENCIES = (RepairUrgency.urgent, RepairUrgency.normal, RepairUrgency.low)


def _number(value):
    return None if value is None else f"{value}"


def chart_data(months) -> dict:
    labels = [m.label for m in months]
    categories = [c for c in RepairCategory if any(m.by_category.get(c.value) for m in months)]
    return {
        "locale": "ZH" if str(get_locale()).startswith("zh") else "EN",
        "category": {
            "labels": labels,
            "stack": True,
            "series": [
                {"name": str(CATEGORY_LABELS[c]), "type": "bar",
                 "data": [m.by_category.get(c.value, 0) for m in months]}
                for c in categories
            ],
        },
        "urgency": {
            "labels": labels,
            "stack": True,
            "series": [
                {"name": str(URGENCY_LABELS[u]), "type": "bar",
                 "data": [m.by_urgency.get(u.value, 0) for m in months]}
                for u in URGENCIES
            ],
        },
        "times": {
            "labels": labels,
            "unit": _("hours"),
            "series": [
                {"name": _("Average response"), "type": "line",
                 "data": [_number(m.avg_response_hours) for m in months]},
                {"name": _("Average resolution"), "type": "line",
                 "data": [_number(m.avg_resolution_hours) for m in months]},
            ],
        },
        "breaches": {
            "labels": labels,
            "series": [
                {"name": _("Responded late"), "type": "bar",
                 "data": [m.respond_breaches for m in months]},
                {"name": _("Resolved late"), "type": "bar",
                 "data": [m.resolve_breaches for m in months]},
            ],
        },
        "ratings": {
            "labels": labels,
            "series": [
                {"name": _("Rated jobs"), "type": "bar", "data": [m.ratings for m in months]},
                {"name": _("Average stars"), "type": "line",
                 "data": [_number(m.avg_rating) for m in months]},
            ],
        },
    }


class ReportPages:
    """The reports page of the repairs view."""

    @expose("/reports")
    def reports(self):
        if not can("repairs.view"):
            abort(403)
        months = monthly_figures(db.session, current_user)
        categories = [c for c in RepairCategory if any(m.by_category.get(c.value) for m in months)]
        return self.render(
            "admin/repair_reports.html",
            months=months,
            categories=categories,
            urgencies=URGENCIES,
            charts=chart_data(months),
        )
