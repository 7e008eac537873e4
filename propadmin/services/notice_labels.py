"""What the notice choices are called, in the reader's language: one place for the admin,
the portal and the mails."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from models import NoticeAudience, NoticeCategory, NoticePriority, NoticeReach, NoticeStatus

from .repair_labels import _lookup

CATEGORY_LABELS = {
    NoticeCategory.outage: _l("Water or power cut"),
    NoticeCategory.event: _l("Community event"),
    NoticeCategory.safety: _l("Safety"),
    NoticeCategory.fees: _l("Fees"),
    NoticeCategory.general: _l("General"),
}

PRIORITY_LABELS = {
    NoticePriority.normal: _l("Normal"),
    NoticePriority.important: _l("Important (pinned)"),
    NoticePriority.urgent: _l("Urgent (pinned first)"),
}

# Short forms for badges.
PRIORITY_BADGES = {
    NoticePriority.normal: "",
    NoticePriority.important: _l("Important"),
    NoticePriority.urgent: _l("Urgent"),
}

STATUS_LABELS = {
    NoticeStatus.draft: _l("Draft"),
    NoticeStatus.scheduled: _l("Scheduled"),
    NoticeStatus.published: _l("Published"),
    NoticeStatus.withdrawn: _l("Withdrawn"),
}

REACH_LABELS = {
    NoticeReach.estate: _l("The whole estate"),
    NoticeReach.buildings: _l("Chosen buildings"),
    NoticeReach.units: _l("Chosen units"),
}

AUDIENCE_LABELS = {
    NoticeAudience.everyone: _l("Everyone living there"),
    NoticeAudience.owners: _l("Owners only"),
    NoticeAudience.tenants: _l("Tenants only"),
}

# What each status change is called on its button.
MOVE_LABELS = {
    "publish": _l("Publish now"),
    "schedule": _l("Schedule"),
    "withdraw": _l("Withdraw"),
    "redraft": _l("Back to draft"),
}

JINJA_GLOBALS = {
    "notice_category": _lookup(CATEGORY_LABELS),
    "notice_priority": _lookup(PRIORITY_LABELS),
    "notice_badge": _lookup(PRIORITY_BADGES),
    "notice_status": _lookup(STATUS_LABELS),
    "notice_reach": _lookup(REACH_LABELS),
    "notice_audience": _lookup(AUDIENCE_LABELS),
    "notice_move": lambda move: str(MOVE_LABELS.get(move, move)),
}
