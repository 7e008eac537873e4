"""The admin's 公告通知 menu: the notices list and editor, and their worklist tile."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from models import Notice, NoticeStatus
from propadmin.permissions import scoped

from .notices import NoticesView
from .worklist import Filter, PageLink, Tile, register_tile


def add_notice_views(admin) -> None:
    """Add the notice screens to the admin."""
    notices = _l("Notices")
    admin.add_view(
        NoticesView(
            name=_l("Notice list"), category=notices, endpoint="notices", url="/admin/notices"
        )
    )
    admin.add_link(PageLink(_l("Write a notice"), "notices.new", "notices.edit", notices))


def count_scheduled(session, user) -> int:
    """Notices waiting for their time to go out, in the user's estates."""
    return (
        session.scalar(
            scoped(select(func.count(Notice.id)), Notice, user).where(
                Notice.status == NoticeStatus.scheduled
            )
        )
        or 0
    )


register_tile(
    Tile(
        key="notices_scheduled",
        label=_l("Notices waiting to go out"),
        endpoint="notices",
        count=count_scheduled,
        filters=(Filter("status", "equals", NoticeStatus.scheduled.value),),
    )
)
