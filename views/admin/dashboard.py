"""The admin home: figures per estate."""

from flask_admin import AdminIndexView, expose
from flask_login import current_user

from propadmin.extensions import db
from propadmin.permissions import estate_scope
from propadmin.services.dashboard import estate_overview

from .base import PermissionView


class DashboardView(PermissionView, AdminIndexView):
    required_permission = "dashboard.view"

    @expose("/")
    def index(self):
        figures = estate_overview(db.session, estate_scope(current_user))
        return self.render("admin/dashboard.html", figures=figures)
