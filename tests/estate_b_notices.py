"""Estate B's notice for the cross-estate tests: a published notice to its building, read
by its resident and mailed once (keyed by what the notice pages open)."""

from datetime import UTC, datetime

from models import (
    MailingKind,
    Notice,
    NoticeBuilding,
    NoticeMailing,
    NoticeReach,
    NoticeRead,
    NoticeStatus,
)


def estate_b_notices(db_session, estate, unit, resident, admin) -> dict:
    at = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    notice = Notice(
        estate=estate,
        title="翠湖通知：翠9栋停水",
        body="<p>翠湖花园 7788 停水</p>",
        status=NoticeStatus.published,
        reach=NoticeReach.buildings,
        published_at=at,
        author_id=admin.id,
        published_by_id=admin.id,
        send_mail=True,
    )
    notice.buildings.append(NoticeBuilding(building_id=unit.building_id))
    notice.mailings.append(NoticeMailing(kind=MailingKind.publish, queued_at=at, recipients=1))
    db_session.add(notice)
    db_session.flush()
    db_session.add(NoticeRead(notice_id=notice.id, resident_id=resident.id, read_at=at))
    db_session.commit()
    return {"notice": notice.id}
