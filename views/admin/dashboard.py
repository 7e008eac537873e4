"""The admin home: figures per estate."""

from flask import abort, redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_login import current_user

from propadmin.extensions import db
from propadmin.permissions import can, estate_scope
from propadmin.services.dashboard import estate_overview


class DashboardView(AdminIndexView):
    required_permission = "dashboard.view"

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and can(self.required_permission)

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)

    @expose("/")
    def index(self):
        figures = estate_overview(db.session, estate_scope(current_user))
        return self.render("admin/dashboard.html", figures=figures)
