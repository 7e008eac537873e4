"""The portal's notices (公告): what the estate office tells the resident, pinned and
unread ones first, with the unread count on the home screen and on the tab.

Which notices a resident sees is ``notice_targets.visible_to`` (through
``services.notice_board``); a notice they do not see — not for their home, not out yet,
withdrawn, expired, another estate's — is the same 404 as an id that does not exist.
Opening a notice records that the resident has read it (the first time only).
"""

from __future__ import annotations

from flask import abort, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from propadmin.extensions import db
from propadmin.permissions import requires
from propadmin.services import notice_board, notices
from propadmin.services.households import current_homes
from propadmin.services.notice_html import excerpt, render

from .portal import add_entry, bp

add_entry("portal.notices", _l("Notices"), "✉")


def unread_notices() -> int:
    """The signed-in resident's unread count, worked out once per request (the tab bar
    and the home screen both show it)."""
    resident = getattr(current_user, "resident", None)
    if resident is None:
        return 0
    if "unread_notices" not in g:
        g.unread_notices = notice_board.unread_count(db.session, resident)
    return g.unread_notices


@bp.app_context_processor
def _notice_helpers():
    return {
        "unread_notices": unread_notices,
    }


# A global (not a context variable) so that the macros in portal/_notices.html see it.
bp.add_app_template_global(excerpt, "notice_excerpt")


@bp.route("/notices", endpoint="notices")
@requires("portal.use")
def notices_list():
    """The notices for the resident's homes, twenty a page."""
    resident = current_user.resident
    page = has_home = None
    if resident is not None:
        raw = request.args.get("page", "1")
        number = int(raw) if raw.isdigit() and len(raw) < 10 else 1
        page = notice_board.board(db.session, resident, number)
        g.unread_notices = page.unread  # the tab's badge: counted with the page
        has_home = bool(page.total) or bool(current_homes(db.session, resident, household=False))
    return render_template("portal/notices.html", page=page, has_home=has_home)


@bp.route("/notices/<int:notice_id>")
@requires("portal.use")
def notice(notice_id: int):
    """The whole notice; opening it marks it read."""
    resident = current_user.resident
    found = None if resident is None else notice_board.find(db.session, resident, notice_id)
    if found is None:
        abort(404)
    notices.mark_read(db.session, found, resident)
    db.session.commit()
    return render_template("portal/notice.html", notice=found, body=render(found.body))
