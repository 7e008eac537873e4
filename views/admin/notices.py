"""The staff notice pages (endpoint ``notices``): the list, a notice's page with its
phone-width preview, whom it reaches, who has read it and who has not, and its moves
(publish, schedule, withdraw, back to draft, send again to the unread). The editor is in
notices_editor.py, a page of the same view.

Every page opens the notice inside the user's estates (another estate's id is a 404);
every move is one call of services/notices.py or notice_mail.py on the version the page
showed, so a stale page gets a message, never a 500.
"""

from __future__ import annotations

from types import SimpleNamespace

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from models import (
    Building,
    Notice,
    NoticeBuilding,
    NoticeMailing,
    NoticeStatus,
    NoticeUnit,
    Occupancy,
    Resident,
    Unit,
    User,
    utcnow,
)
from models.property import unit_label
from propadmin.extensions import db
from propadmin.permissions import can, visible_estates
from propadmin.services import notice_targets as targets
from propadmin.services import notices as flow
from propadmin.services.notice_html import render as render_body
from propadmin.services.notice_mail import resend_unread
from propadmin.services.notices import NoticeError
from views.util import seen_number

from .base import PermissionView
from .fields import scoped_row
from .notices_editor import EditorPages
from .notices_form import local_input, parse_local
from .notices_list import EXPIRED, NoticeFilters, is_expired, notice_page
from .worklist import PageFilter

MAX_ID = 2**31 - 1
UNREAD_PAGE = 50
MOVES = ("publish", "schedule", "withdraw", "redraft", "resend")
DONE = {
    "publish": _l("The notice is published."),
    "schedule": _l("The notice will go out at its time."),
    "withdraw": _l("The notice was withdrawn from the portal."),
    "redraft": _l("The notice is a draft again."),
}


class NoticesView(EditorPages, PermissionView, BaseView):
    """The list and a notice's page need notices.view; the editor notices.edit; the
    moves notices.publish."""

    required_permission = "notices.view"
    _filters = (PageFilter("status"),)

    def get_filter_arg(self, index, flt):
        return flt.key

    def permission_for(self, name: str) -> str:
        return self.required_permission

    def render(self, template, **kwargs):
        kwargs.setdefault("EXPIRED", EXPIRED)
        kwargs.setdefault("may_edit", can("notices.edit"))
        kwargs.setdefault("may_publish", can("notices.publish"))
        return super().render(template, **kwargs)

    # -- the list ------------------------------------------------------------------------
    @expose("/")
    def index_view(self):
        args = {
            k.partition("_")[2] if k.startswith("flt") else k: v for k, v in request.args.items()
        }
        filters = NoticeFilters.from_args(args)
        now = utcnow()
        page = notice_page(db.session, current_user, filters, now)
        estates = visible_estates(db.session)
        return self.render(
            "admin/notices/list.html",
            page=page,
            filters=filters,
            now=now,
            expired={n.id for n in page.rows if is_expired(n, now)},
            estates=estates if len(estates) > 1 else [],
            page_url=lambda n: url_for(".index_view", **filters.args(page=str(n))),
        )

    # -- one notice ------------------------------------------------------------------------
    def _notice(self, notice_id: int) -> Notice:
        if not 0 < notice_id <= MAX_ID:
            abort(404)
        notice = scoped_row(Notice, notice_id)
        if notice is None:
            abort(404)
        return notice

    def _loaded(self, notice_id: int) -> Notice:
        return db.session.scalars(
            select(Notice)
            .where(Notice.id == notice_id)
            .options(
                joinedload(Notice.estate),
                joinedload(Notice.author),
                joinedload(Notice.published_by),
                selectinload(Notice.buildings).joinedload(NoticeBuilding.building),
                selectinload(Notice.units).joinedload(NoticeUnit.unit).joinedload(Unit.building),
                selectinload(Notice.mailings).joinedload(NoticeMailing.queued_by),
            )
            .execution_options(populate_existing=True)
        ).one()

    def _unread_page(self, notice: Notice, today, page: int):
        """One page of the recipients who have not opened the notice: name, the unit(s)
        it reaches them in, whether they have a portal account and a mail address."""
        ids = targets.unread_recipients(notice.id, today)
        address = targets.mail_address()
        rows = db.session.execute(
            select(Resident.id, Resident.name, Resident.user_id, address.label("address"))
            .outerjoin(User, Resident.user_id == User.id)
            .where(Resident.id.in_(ids))
            .order_by(Resident.name, Resident.id)
            .offset((page - 1) * UNREAD_PAGE)
            .limit(UNREAD_PAGE)
        ).all()
        units: dict[int, list[str]] = {}
        if rows:
            reached = targets.homes(
                notice.id, today, Occupancy.resident_id, Building.name, Unit.number
            )
            for resident_id, building, number in db.session.execute(
                reached.where(Occupancy.resident_id.in_([r.id for r in rows])).order_by(
                    Building.name, Unit.number
                )
            ):
                units.setdefault(resident_id, []).append(unit_label(building, number))
        return [
            SimpleNamespace(
                name=r.name,
                units=units.get(r.id, []),
                account=r.user_id is not None,
                address=bool(r.address),
            )
            for r in rows
        ]

    def render_notice(self, notice: Notice, *, errors=None, values=None, status=200):
        notice = self._loaded(notice.id)
        now = utcnow()
        today = targets.notice_today(notice)
        reach = targets.count(db.session, notice, today)
        figures = targets.read_figures(db.session, notice, today)
        pages = max((figures.unread + UNREAD_PAGE - 1) // UNREAD_PAGE, 1)
        page = min(max(seen_number(request.args.get("unread_page")), 1), pages)
        unread_addresses = (
            db.session.scalar(
                select(func.count()).select_from(
                    targets.addressed(targets.unread_recipients(notice.id, today)).subquery()
                )
            )
            if figures.unread
            else 0
        )
        moves = flow.allowed_moves(notice) if can("notices.publish") else []
        live = notice.status is NoticeStatus.published and not is_expired(notice, now)
        return self.render(
            "admin/notices/view.html",
            notice=notice,
            body=render_body(notice.body),
            expired=is_expired(notice, now),
            reach=reach,
            figures=figures,
            # Who has not read it is a list of residents and their homes: the register's
            # business (residents.view), not every reader of notices (repair staff).
            unread=self._unread_page(notice, today, page) if can("residents.view") else None,
            unread_pager=SimpleNamespace(page=page, pages=pages),
            unread_url=lambda n: url_for(".details", notice_id=notice.id, unread_page=n),
            unread_addresses=unread_addresses,
            moves=moves,
            may_resend=can("notices.publish") and live and unread_addresses > 0,
            may_change=can("notices.edit")
            and (notice.status is NoticeStatus.draft or can("notices.publish")),
            errors=errors or {},
            values=values or {"publish_at": local_input(notice.publish_at, notice.estate)},
        ), status

    @expose("/<int:notice_id>")
    def details(self, notice_id: int):
        return self.render_notice(self._notice(notice_id))

    @expose("/<int:notice_id>/move", methods=("POST",))
    def move(self, notice_id: int):
        if not can("notices.publish"):
            abort(403)
        notice = self._notice(notice_id)
        action = (request.form.get("action") or "")[:16]
        version = seen_number(request.form.get("version"))
        try:
            message = self._run_move(notice, action, version)
        except NoticeError as exc:
            db.session.rollback()
            if "" in exc.errors:  # a stale page or a move the status no longer allows
                flash(exc.errors[""], "error")
                return redirect(url_for(".details", notice_id=notice.id))
            return self.render_notice(notice, errors=exc.errors, values=request.form, status=400)
        db.session.commit()
        flash(message, "success")
        return redirect(url_for(".details", notice_id=notice.id))

    def _run_move(self, notice: Notice, action: str, version: int) -> str:
        if action not in MOVES:
            raise NoticeError(_("There is no such step."))
        if action == "resend":
            sent = resend_unread(db.session, notice, by=current_user, expected_version=version)
            return _("%(n)d mail(s) will go to the residents who have not read it.", n=sent)
        kwargs = {"by": current_user, "expected_version": version}
        if action == "schedule":
            try:
                at = parse_local(request.form.get("publish_at"), notice.estate)
            except ValueError:
                at = None
            if at is None:
                raise NoticeError(
                    {"publish_at": _("Give a date and time, such as 2026-12-01 09:00.")}
                )
            flow.schedule(db.session, notice, at, **kwargs)
            return str(DONE["schedule"])
        if action == "publish":
            mails = flow.publish(db.session, notice, **kwargs)
            if mails:
                return _("The notice is published; %(n)d mail(s) are on their way.", n=mails)
            return str(DONE["publish"])
        getattr(flow, action)(db.session, notice, **kwargs)
        return str(DONE[action])
