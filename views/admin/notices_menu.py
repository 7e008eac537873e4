"""The admin's 公告通知 menu: the notices list and editor, and their worklist tiles."""


def add_notice_views(admin) -> None:
    """Add the notice screens to the admin (filled in by the notices screens)."""
