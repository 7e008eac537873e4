"""Writing a notice (/admin/notices/new, /admin/notices/<id>/edit, notices.edit) and the
editor's live reach count (/admin/notices/reach).

The count asks the one targeting function: the draft is saved inside a SAVEPOINT,
``notice_targets.count`` counts it, and the SAVEPOINT is rolled back, so the figure the
editor shows is the one the portal, the mail and the read statistics will agree with.
A draft is anyone's with notices.edit; changing a notice that is out (or scheduled, or
withdrawn) changes what residents see, so it also needs notices.publish.
"""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from models import Building, Notice, NoticeStatus
from propadmin.extensions import db
from propadmin.permissions import can, visible_estates
from propadmin.services import notice_targets as targets
from propadmin.services import notices as flow
from propadmin.services.notice_html import clean
from propadmin.services.notices import NoticeError
from views.util import seen_number

from .notices_form import MAX_BODY_INPUT, editor_values, field_errors, read_editor

# Stand-ins for the words while the count is asked for (the count needs targets only).
COUNT_TITLE = "…"
COUNT_BODY = "<p>…</p>"


def reach_text(reach: targets.Reach) -> str:
    return _(
        "Reaches %(n)d residents (%(a)d with a portal account), %(m)d mail addresses.",
        n=reach.residents,
        a=reach.accounts,
        m=reach.addresses,
    )


class EditorPages:
    """The editor pages of the notices view."""

    def _may_change(self, notice: Notice | None) -> None:
        if not can("notices.edit"):
            abort(403)
        if (
            notice is not None
            and notice.status is not NoticeStatus.draft
            and not can("notices.publish")
        ):
            abort(403)

    def _editor(self, notice: Notice | None, values, errors, status=200):
        estates = visible_estates(db.session)
        estate_ids = [notice.estate_id] if notice is not None else [e.id for e in estates]
        buildings = db.session.scalars(
            select(Building)
            .where(Building.estate_id.in_(estate_ids))
            .order_by(Building.estate_id, Building.name)
        ).all()
        return self.render(
            "admin/notices/edit.html",
            notice=notice,
            values=values,
            errors=errors,
            estates=estates if notice is None and len(estates) > 1 else [],
            buildings=buildings,
        ), status

    def _save(self, notice: Notice | None):
        try:
            estate, draft = read_editor(request.form, notice)
            saved = flow.save(
                db.session,
                draft,
                by=current_user,
                estate=estate,
                notice=notice,
                # A missing or altered version matches nothing: the edit is refused.
                expected_version=seen_number(request.form.get("version")) if notice else None,
            )
        except NoticeError as exc:
            db.session.rollback()
            # The editor loads the body into its editable area: shown again, it is the
            # cleaned body, never the raw one (an onerror would run there).
            values = request.form.copy()
            values["body"] = clean((values.get("body") or "")[:MAX_BODY_INPUT])
            return self._editor(notice, values, field_errors(exc), status=400)
        db.session.commit()
        flash(_("The notice is saved."), "success")
        return redirect(url_for(".details", notice_id=saved.id))

    @expose("/new", methods=("GET", "POST"))
    def new(self):
        self._may_change(None)
        if request.method == "POST":
            return self._save(None)
        return self._editor(None, {}, {})

    @expose("/<int:notice_id>/edit", methods=("GET", "POST"))
    def edit(self, notice_id: int):
        self._may_change(None)  # refused before the lookup: no 404 to those who may not edit
        notice = self._notice(notice_id)
        self._may_change(notice)
        if request.method == "POST":
            return self._save(notice)
        values = editor_values(notice)
        values["version"] = str(notice.version)
        return self._editor(notice, values, {})

    @expose("/reach", methods=("POST",))
    def reach(self):
        """The editor's targets → how many they reach, as JSON (the form is posted with
        its CSRF token). Nothing is kept: the draft lives in a rolled-back SAVEPOINT."""
        if not can("notices.edit"):
            abort(403)
        raw_id = (request.form.get("notice_id") or "").strip()
        notice = self._notice(int(raw_id)) if raw_id.isdigit() and len(raw_id) < 10 else None
        form = request.form.copy()
        form["title"], form["body"] = COUNT_TITLE, COUNT_BODY
        form["publish_at"] = form["expires_at"] = ""
        try:
            estate, draft = read_editor(form, notice)
            savepoint = db.session.begin_nested()
            try:
                temporary = flow.save(db.session, draft, by=current_user, estate=estate)
                reach = targets.count(db.session, temporary)
            finally:
                savepoint.rollback()
        except NoticeError as exc:
            db.session.rollback()
            return jsonify(errors=field_errors(exc))
        return jsonify(
            residents=reach.residents,
            accounts=reach.accounts,
            addresses=reach.addresses,
            text=reach_text(reach),
        )
