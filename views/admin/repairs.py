"""The staff repair pages (endpoint ``repairs``): the queue, my jobs, a request's page with
its moves, its photos and the audited reveal of the contact number. Logging a call is in
repairs_call.py, the reports in repairs_reports.py; they are pages of the same view.

Every page opens the request inside the user's estates (another estate's id is a 404)
and every move is one call of services/repairs.py, which decides who may make it; a
refused move is shown by its field, never as a 500.
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models import RepairRequest, utcnow
from propadmin import audit
from propadmin.extensions import db
from propadmin.permissions import can
from propadmin.services import repairs as flow
from propadmin.services.repair_assign import auto_assign
from propadmin.services.repair_photos import photo_for, photo_response
from propadmin.services.repair_queue import (
    OPEN,
    UNASSIGNED,
    QueueFilters,
    buildings_for,
    queue_page,
    workers_for,
)
from propadmin.services.repair_sla import timers
from propadmin.services.repairs import RepairError
from views.util import seen_number

from .base import PermissionView
from .fields import scoped_row
from .repairs_call import CallPages
from .repairs_moves import MOVE_FORMS, run_move
from .repairs_reports import ReportPages
from .worklist import PageFilter

# Ids are 32-bit integers in the database; a larger number in the address is no request.
MAX_ID = 2**31 - 1


def duration(left: timedelta) -> str:
    """A timer as the queue shows it: 2天3小时, 3小时15分, 40分钟 (sign dropped)."""
    minutes = int(abs(left.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)dd %(h)dh", d=days, h=hours)
    if hours:
        return _("%(h)dh %(m)dmin", h=hours, m=mins)
    return _("%(m)d min", m=mins)



class RepairsView(CallPages, ReportPages, PermissionView, BaseView):
    """Queue, my jobs and the request page; everything needs repairs.view."""

    required_permission = "repairs.view"
    # The worklist's tiles link to the queue with these filters (flt0_breached=1 …).
    _filters = (PageFilter("breached"), PageFilter("assignee"), PageFilter("status"))

    def get_filter_arg(self, index, flt):
        return flt.key

    def permission_for(self, name: str) -> str:
        return self.required_permission

    def render(self, template, **kwargs):
        kwargs.setdefault("duration", duration)
        return super().render(template, **kwargs)

    # -- lists ---------------------------------------------------------------------
    def _list(self, mine: bool):
        args = {k.partition("_")[2] if k.startswith("flt") else k: v
                for k, v in request.args.items()}
        filters = QueueFilters.from_args(args)
        now = utcnow()
        page = queue_page(db.session, current_user, filters, mine=mine, now=now)
        return self.render(
            "admin/repair_queue.html",
            page=page,
            filters=filters,
            mine=mine,
            now=now,
            timers={r.id: timers(r, now) for r in page.rows},
            buildings=[] if mine else buildings_for(db.session, current_user),
            workers=[] if mine else workers_for(db.session, current_user),
            OPEN=OPEN,
            UNASSIGNED=UNASSIGNED,
            may_report=can("repairs.report"),
            page_url=lambda n: url_for(
                ".mine" if mine else ".index_view", **filters.args(page=str(n))
            ),
        )

    @expose("/")
    def index_view(self):
        return self._list(mine=False)

    @expose("/mine")
    def mine(self):
        return self._list(mine=True)

    # -- one request -------------------------------------------------------------------
    def _repair(self, repair_id: int) -> RepairRequest:
        if not 0 < repair_id <= MAX_ID:
            abort(404)
        repair = scoped_row(RepairRequest, repair_id)
        if repair is None or not flow.may_see(current_user, repair):
            abort(404)
        return repair

    def render_repair(self, repair, *, errors=None, failed="", values=None, revealed=None):
        repair = db.session.scalars(
            select(RepairRequest)
            .where(RepairRequest.id == repair.id)
            .options(
                selectinload(RepairRequest.events),
                selectinload(RepairRequest.photos),
            )
            .execution_options(populate_existing=True)
        ).one()
        now = utcnow()
        actions = flow.allowed_actions(repair, current_user, now)
        may_assign_others = can("repairs.assign")
        workers = workers_for(db.session, current_user, repair.estate_id) if (
            "assign" in actions and may_assign_others
        ) else []
        return self.render(
            "admin/repair_details.html",
            repair=repair,
            actions=actions,
            may_assign_others=may_assign_others,
            may_take=("assign" in actions and not may_assign_others
                      and repair.assignee_id != current_user.id),
            workers=workers,
            auto_assign=may_assign_others and "assign" in actions,
            timer=timers(repair, now),
            errors=errors or {},
            failed=failed,
            values=values or {},
            forms=MOVE_FORMS,
            may_reveal=can("repairs.reveal") and bool(repair.contact_phone_masked),
            revealed=revealed,
        )

    @expose("/<int:repair_id>")
    def details(self, repair_id: int):
        return self.render_repair(self._repair(repair_id))

    @expose("/<int:repair_id>/move", methods=("POST",))
    def move(self, repair_id: int):
        repair = self._repair(repair_id)
        action = (request.form.get("action") or "")[:16]
        version = seen_number(request.form.get("version"))
        try:
            message = run_move(
                db.session, repair, action, request.form, current_user, version,
                auto_assign=auto_assign,
            )
        except RepairError as exc:
            db.session.rollback()
            return self.render_repair(
                repair, errors=exc.errors, failed=action, values=request.form
            )
        db.session.commit()
        flash(message, "success")
        return redirect(url_for(".details", repair_id=repair.id))

    @expose("/<int:repair_id>/reveal", methods=("POST",))
    def reveal(self, repair_id: int):
        """The full contact number, once, for those who may; the read is audited."""
        if not can("repairs.reveal"):
            abort(403)
        repair = self._repair(repair_id)
        audit.record(
            db.session, "read", "RepairRequest", repair.id, estate_id=repair.estate_id,
            field="contact_phone",
        )
        db.session.commit()
        return self.render_repair(repair, revealed=repair.contact_phone or "")

    @expose("/<int:repair_id>/photos/<int:photo_id>")
    def photo(self, repair_id: int, photo_id: int):
        """A request's photo, only to people who may see the request (the portal's rule)."""
        found = photo_for(db.session, current_user, repair_id, photo_id)
        if found is None:
            abort(404)
        return photo_response(found)
