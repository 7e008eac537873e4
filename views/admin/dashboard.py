"""The staff home: today's work for the user's role (待办), then figures per estate."""

from flask_admin import AdminIndexView, expose
from flask_login import current_user

from propadmin.extensions import db
from propadmin.permissions import can, estate_scope
from propadmin.services.dashboard import add_money, estate_overview

from .base import PermissionView
from .worklist import tiles_for

# Each figure opens the list it counts, for those who may open that list.
FIGURE_LISTS = {
    "buildings": "building",
    "units": "unit",
    "residents": "resident",
    "vehicles": "vehicle",
    "parking": "parking",
    "owed": "arrears",
}


class DashboardView(PermissionView, AdminIndexView):
    required_permission = "dashboard.view"

    @expose("/")
    def index(self):
        figures = estate_overview(db.session, estate_scope(current_user))
        if can("billing.view"):
            add_money(db.session, figures)
        views = {v.endpoint: v for v in self.admin._views}
        links = {
            name: views[endpoint].get_url(
                f"{endpoint}.index_view"
                if hasattr(views[endpoint], "index_view")
                else f"{endpoint}.index"
            )
            for name, endpoint in FIGURE_LISTS.items()
            if endpoint in views and views[endpoint].is_accessible()
        }
        return self.render(
            "admin/dashboard.html",
            figures=figures,
            tiles=tiles_for(self.admin, current_user),
            links=links,
        )
